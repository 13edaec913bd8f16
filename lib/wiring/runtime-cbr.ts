/**
 * Wiring for the steps that call CBR: the shared runtime plus a CBR client factory whose credentials
 * come from one secret loader per container (cached for SECRETS_TTL_SECONDS, concurrent callers share
 * one read). The first read starts at cold start (module load) so the first record does not wait for
 * Secrets Manager serially; a failed read is retried by the next call.
 */
import { cbrFactory } from './cbr-factory';
import { credentialsLoader } from './credentials';
import type { PipelineDeps } from './deps';
import { config, intakeDeps, log } from './runtime';

const credentials = credentialsLoader(config);
credentials.get().catch((error: unknown) => {
  // Surfaces again on first use; logged here so a bad deployment is visible at cold start.
  log('error', 'CBR credentials could not be loaded at cold start', { error: (error as Error).name, message: (error as Error).message });
});

export const pipelineDeps: PipelineDeps = { ...intakeDeps, cbr: cbrFactory(config, () => credentials.get()) };
