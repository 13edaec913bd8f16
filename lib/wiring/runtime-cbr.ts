/**
 * Wiring for the steps that call CBR: the shared runtime plus a CBR client factory whose credentials
 * come from one secret loader per secret reference and container (per project: CBR_CREDENTIALS_MAP) (cached for SECRETS_TTL_SECONDS, concurrent callers share
 * one read). The first read starts at cold start (module load) so the first record does not wait for
 * Secrets Manager serially; a failed read is retried by the next call.
 */
import { DEFAULT_RETRY } from '../cbr/http';
import { callBudgetMs, OPERATOR_CALL_LIMITS } from '../pipeline/deadline';
import { cbrFactory } from './cbr-factory';
import { projectCredentials } from './credentials';
import type { DrillDeps } from '../restore/drill';
import { drillHooksFrom } from './drill-hooks';
import type { OperatorDeps, PipelineDeps } from './deps';
import { config, intakeDeps, log, store } from './runtime';
import { restoreSettingsFrom } from '../config';

const credentials = projectCredentials(config);
credentials.warm().catch((error: unknown) => {
  // Surfaces again on first use; logged here so a bad deployment is visible at cold start.
  log('error', 'CBR credentials could not be loaded at cold start', { error: (error as Error).name, message: (error as Error).message });
});

/** The CBR clients of the container (also the retention functions': lib/wiring/runtime-retention.ts). */
export const cbrClients = cbrFactory(config, credentials);

// The clients use DEFAULT_RETRY and CBR_TIMEOUT_MS (cbr-factory.ts): a step starts no call that cannot finish in time.
export const pipelineDeps: PipelineDeps = {
  ...intakeDeps,
  cbr: cbrClients,
  // The checker follows restores too (lib/restore/track.ts): same table, same CBR clients.
  // Drills: the checker verifies and announces them (signed like notifications: lib/wiring/drill-hooks.ts).
  restores: { store, cbr: cbrClients, settings: restoreSettingsFrom(config), drillHooks: drillHooksFrom(config) },
  // ...and cross-region copies (lib/pipeline/replicate.ts): the same clients, per (project, region).
  replication: { cbr: cbrClients },
  cbrCallBudgetMs: callBudgetMs({ timeoutMs: config.CBR_TIMEOUT_MS, ...DEFAULT_RETRY }),
};

/** The operator APIs' CBR clients (vaults, retention, restores: behind API Gateway's 30 s limit): shorter calls, fewer retries. */
export const operatorCbrClients = cbrFactory(config, credentials, {}, OPERATOR_CALL_LIMITS);

export const operatorCbrDeps: OperatorDeps = {
  store,
  cbr: operatorCbrClients,
  cbrCallBudgetMs: callBudgetMs(OPERATOR_CALL_LIMITS),
};

// POST /restores (the `restores` function, behind API Gateway's 30 s): the operator's call limits; a read
// that does not finish leaves the restore PENDING and due, and the checker carries it on (no intent yet).
// A plan's drill firing (EventBridge Scheduler -> restores) also lists the server's backups (the latest available).
export const restoreDeps: DrillDeps = {
  store,
  cbr: operatorCbrClients,
  backups: operatorCbrClients,
  clock: intakeDeps.clock,
  newToken: intakeDeps.newToken,
  settings: intakeDeps.settings,
  restore: restoreSettingsFrom(config),
  log,
};
