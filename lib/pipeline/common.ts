import { buildMessage, type Message, type MessageOf } from '../contracts';
import { cbrErrorOf, type QueueName } from '../ports';
import { mutateRun } from '../store/mutate';
import { addEvent, dueShardOf, isTerminal, type RunError, type RunRecord, type RunState, type Step } from '../store/run';
import type { CrashPoint, IntakeDeps, PipelineSettings } from '../wiring/deps';

const DAY_MS = 86_400_000;

/** What a use-case did with a message (handlers log it; tests assert it). */
export type StepOutcome = 'done' | 'duplicate' | 'ignored' | 'deferred' | 'failed-run' | 'expired';

/** Put the run in the due index at `at` (never past its deadline, so expiry is noticed in time). */
export function scheduleAt(run: RunRecord, at: number, settings: PipelineSettings): void {
  run.due = { shard: dueShardOf(run.runId, settings.dueShards), at: Math.min(at, run.deadlineAt) };
}

/** The checker re-drives a step that made no progress by this time. */
export function watchdog(run: RunRecord, now: number, settings: PipelineSettings): void {
  scheduleAt(run, now + settings.stepTimeoutMs, settings);
}

/**
 * How long after a run ends the checker looks whether its run.finished went out. The announcer
 * publishes and marks the run announced within milliseconds, so the checker only finds (and
 * re-publishes) runs whose announcer died in between; the grace keeps it from racing a live one.
 */
export const ANNOUNCE_GRACE_MS = 60_000;

/**
 * Move a run to a terminal state: TTL set, reason recorded, and `announcePending` with the run kept in
 * the due index (at now + ANNOUNCE_GRACE_MS) until publishFinished has announced it.
 */
export function terminate(run: RunRecord, state: RunState, reason: string, now: number, settings: PipelineSettings, error?: RunError): void {
  const step = run.step;
  run.state = state;
  run.step = 'done';
  run.reason = reason;
  run.finishedAt = now;
  run.due = { shard: dueShardOf(run.runId, settings.dueShards), at: now + ANNOUNCE_GRACE_MS };
  run.announcePending = true;
  run.expiresAt = Math.ceil((now + settings.runTtlDays * DAY_MS) / 1000);
  if (error) run.lastError = error;
  addEvent(run, now, step, state.toLowerCase(), reason);
}

export function runFinishedMessage(run: RunRecord, now: number): MessageOf<'run.finished'> {
  const state = run.state;
  if (!isTerminal(state) || state === 'PENDING' || state === 'RUNNING') throw new Error(`run ${run.runId} is not finished`);
  return buildMessage('run.finished', {
    runId: run.runId,
    occurredAt: run.finishedAt ?? now,
    key: 'finished',
    data: {
      state,
      ...(run.reason ? { reason: run.reason.slice(0, 2048) } : {}),
      ...(run.lastError && state !== 'COMPLETED'
        ? { error: { code: run.lastError.code, message: run.lastError.message.slice(0, 2048), ...(run.lastError.requestId ? { requestId: run.lastError.requestId } : {}) } }
        : {}),
      ...(run.request.notifyUrl ? { notifyUrl: run.request.notifyUrl } : {}),
    },
  });
}

/**
 * Announce a finished run: publish run.finished (a stable message id, so a repeat is a duplicate
 * consumers drop), then take the run out of the due index. A crash in between leaves it pending, and
 * the checker announces it again.
 */
export async function publishFinished(deps: Pick<IntakeDeps, 'bus' | 'clock' | 'store' | 'metrics'>, run: RunRecord): Promise<void> {
  await deps.bus.send('events', runFinishedMessage(run, deps.clock.now()));
  if (!run.announcePending) return;
  // First announcement of this end (a re-announce after a crash before markAnnounced may count it twice).
  deps.metrics?.ended(run);
  await deps.store.markAnnounced(run.runId);
}

/** The error as a run shows it: CBR code and request id when CBR said no. */
export function runErrorOf(error: unknown, step: Step, now: number): RunError {
  const cbr = cbrErrorOf(error);
  if (cbr) {
    return { code: cbr.errorCode ?? `HTTP_${cbr.httpStatus ?? 'ERROR'}`, message: cbr.message, ...(cbr.requestId ? { requestId: cbr.requestId } : {}), step, at: now };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : e.name, message: e.message, step, at: now };
}

/**
 * End a run as FAILED (or EXPIRED) and announce it. Idempotent: a run that is already terminal is left
 * alone, and run.finished (stable id) is published again so a crash between the two is healed.
 */
export async function endRun(
  deps: IntakeDeps,
  runId: string,
  state: 'FAILED' | 'EXPIRED',
  reason: string,
  error?: RunError,
  point: CrashPoint = 'end-run:after-record',
): Promise<RunRecord> {
  const now = deps.clock.now();
  const { run } = await mutateRun(
    deps.store,
    runId,
    (draft) => {
      terminate(draft, state, reason, now, deps.settings, error);
      return draft;
    },
    { now },
  );
  await deps.crashPoint?.(point, runId);
  if (isTerminal(run.state)) await publishFinished(deps, run);
  return run;
}

/** True (and the run expired) when the run is past its completion window. */
export async function expireIfLate(deps: IntakeDeps, run: RunRecord): Promise<boolean> {
  if (deps.clock.now() < run.deadlineAt) return false;
  await endRun(deps, run.runId, 'EXPIRED', `not finished within its completion window of ${run.request.completionWindowMinutes} minutes (step ${run.step})`);
  return true;
}

/**
 * Send `message` again, later, to `queue` (attempt + 1) because a lease or claim is held by another
 * live invocation. Past the budget the run fails with `code` instead of waiting forever. `untilMs`:
 * the moment the lease/claim lapses when waiting for it is all that can help (an earlier invocation of
 * the same run failed or died holding it): one re-queue then, instead of polling (and spending the
 * budget) every BUSY_RETRY_DELAY_SECONDS.
 */
export async function requeueLater(
  deps: IntakeDeps,
  queue: QueueName,
  message: Message,
  code: string,
  why: string,
  step: Step,
  untilMs?: number,
): Promise<StepOutcome> {
  const now = deps.clock.now();
  if (message.attempt >= deps.settings.busyRetryMax) {
    await endRun(deps, message.runId, 'FAILED', `${why}; gave up after ${message.attempt} attempts`, { code, message: why, step, at: now });
    return 'failed-run';
  }
  const { run } = await mutateRun(
    deps.store,
    message.runId,
    (draft) => {
      addEvent(draft, now, step, 'waiting', `${why} (attempt ${message.attempt})`);
      return draft;
    },
    { now },
  );
  if (isTerminal(run.state)) return 'ignored';
  const again = { ...message, attempt: message.attempt + 1, occurredAt: new Date(now).toISOString() } as Message;
  const delaySeconds = untilMs === undefined ? deps.settings.busyRetryDelaySeconds : Math.min(900, Math.max(1, Math.ceil((untilMs - now) / 1000) + 1));
  await deps.bus.send(queue, again, { delaySeconds });
  return 'deferred';
}

/**
 * CallOptions for a CBR write whose repetition the step has made harmless (CBR answers "already done" —
 * 7116/7006 for AddVaultResource, 6703 for AddMember — and the step reads the state first and treats
 * that as success): the client may then repeat it when it fails retryably (429/5xx, timeout, reset)
 * with its own bounded backoff, Retry-After, rate limiter and fresh signature per attempt (lib/cbr/http.ts).
 * Failing the whole delivery instead would redo every read of the step and spend one of its SQS
 * receives (5 in all, then the run fails): test/reliability/api-faults.test.ts.
 */
export const SAFE_TO_REPEAT = { idempotent: true } as const;

/** The CBR checkpoint name of a run's checkpoint `seq`: the recovery key after a crash. */
export function checkpointName(run: Pick<RunRecord, 'runId' | 'request'>, seq: number): string {
  const base = `${run.request.checkpoint.name}_${run.runId.replace(/-/g, '')}`;
  return seq > 1 ? `${base}-s${seq}` : base;
}
