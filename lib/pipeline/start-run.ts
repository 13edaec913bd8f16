/**
 * start-run: validate a run request, create the run record, hand it to create-vault.
 *
 * Idempotency: the run id is the key. A webhook call gets one derived from its Idempotency-Key header,
 * else from its (verified) webhook-id, so a sender's retry of the same message finds the same run;
 * without either (authentication off, local stage only) a fresh UUID. A plan firing gets one derived from (plan name, scheduled time) and a queued
 * run.requested carries its own. The record is created with a conditional put, so a second delivery
 * of the same start finds the run and only re-publishes the hand-off (healing a crash between the two);
 * it never creates a second run. Never imports the CBR client (cold-start rule).
 */
import { buildMessage, type MessageOf } from '../contracts';
import { newUuid, stableUuid } from '../contracts/ids';
import { parseWith } from '../contracts/parse';
import { RunRequest } from '../contracts/run-request';
import { ValidationError } from '../errors';
import { addEvent, RunRecord, type RunSource } from '../store/run';
import { watchdog } from './common';
import type { IntakeDeps } from '../wiring/deps';

export interface StartRunInput {
  /** Raw request body (validated here, field errors name the field). */
  request: unknown;
  runId?: string;
  source: RunSource;
  /** The finished run this one retries (recorded as `retryOf`). */
  retryOf?: string;
}

export interface StartRunResult {
  runId: string;
  created: boolean;
  run: RunRecord;
}

/** The run id of a plan firing: the same (plan, scheduled minute) always gives the same run. */
export function runIdForPlan(plan: string, scheduledTime: string): string {
  const at = new Date(scheduledTime);
  if (Number.isNaN(at.getTime())) throw new ValidationError('scheduledTime', `is not a timestamp: '${scheduledTime}'`);
  at.setUTCSeconds(0, 0);
  return stableUuid('plan', plan, at.toISOString());
}

/** The run id for a webhook call carrying an Idempotency-Key header (scoped to the project). */
export function runIdForKey(projectId: string, key: string): string {
  return stableUuid('idempotency-key', projectId, key);
}

/**
 * The run id for a signed webhook message without an Idempotency-Key: Standard Webhooks senders reuse
 * the webhook-id when they retry, so a retry (after our crash, a timeout, a lost answer) or a replay of
 * the message answers with the same run instead of starting another (scoped to the project).
 */
export function runIdForWebhook(projectId: string, webhookId: string): string {
  return stableUuid('webhook-id', projectId, webhookId);
}

export async function startRun(deps: IntakeDeps, input: StartRunInput): Promise<StartRunResult> {
  const parsed = parseWith(RunRequest, input.request);
  const region = parsed.region ?? deps.settings.defaultRegion;
  if (!region) throw new ValidationError('region', 'is required (this deployment has no default CBR_REGION)');
  const request = { ...parsed, region };
  const now = deps.clock.now();
  const runId = input.runId ?? newUuid();

  const run: RunRecord = RunRecord.parse({
    runId,
    version: 1,
    state: 'PENDING',
    step: 'create-vault',
    request,
    source: input.source,
    createdAt: now,
    updatedAt: now,
    deadlineAt: now + request.completionWindowMinutes * 60_000,
    ...(input.retryOf !== undefined ? { retryOf: input.retryOf } : {}),
  });
  watchdog(run, now, deps.settings);
  addEvent(run, now, 'create-vault', 'requested', `via ${input.source.kind}${input.source.plan ? ` (plan ${input.source.plan})` : ''}${input.retryOf ? `, retrying run ${input.retryOf}` : ''}`);

  const outcome = await deps.store.create(run);
  if (outcome === 'created') deps.metrics?.started(run);
  const current = outcome === 'created' ? run : await deps.store.get(runId);
  if (!current) throw new ValidationError('runId', `run ${runId} exists but has expired; use another id`);
  await deps.crashPoint?.('start-run:after-record', runId);
  if (current.step === 'create-vault') await deps.bus.send('vault', runRequestedMessage(current, now));
  return { runId, created: outcome === 'created', run: current };
}

export function runRequestedMessage(run: RunRecord, now: number, attempt = 1): MessageOf<'run.requested'> {
  return buildMessage('run.requested', { runId: run.runId, occurredAt: now, attempt, key: 'start', data: { request: run.request } });
}
