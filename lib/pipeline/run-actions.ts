/**
 * An operator's actions on one run (POST /runs/{id}/cancel and /retry; lib/pipeline/edge/run-actions.ts).
 *
 * Cancel: a PENDING or RUNNING run ends FAILED with reason "cancelled by <who>" and error code
 * CANCELLED, through the same terminate/announce path as any failure (run.finished, notifyUrl). The
 * state machine needs nothing new: a terminal run is final in the store (a step's save is refused),
 * every step and the checker drop a message for a terminal run before calling CBR, so no further CBR
 * call is made for it (a call already in flight when the cancel lands finishes, and its result is
 * refused). The vault a cancelled run created is left as is (`cbr-flow vaults --orphaned` reports it).
 * Idempotent: cancelling a cancelled run answers the run again; any other finished run is a conflict.
 *
 * Retry: a finished run that did not complete (FAILED, EXPIRED, PARTIAL) starts a new run from the same
 * request (`retryOf` on the new one, `retriedBy` on the old one). The new run's id is derived from the
 * old one, so repeating the call (or a crash between creating and linking) gives the same new run.
 */
import { stableUuid } from '../contracts/ids';
import { AppError } from '../errors';
import { RunNotFoundError } from '../store/errors';
import { mutateRun } from '../store/mutate';
import { isTerminal, type RunRecord } from '../store/run';
import type { IntakeDeps } from '../wiring/deps';
import { publishFinished, terminate } from './common';
import { startRun } from './start-run';

export const CANCELLED = 'CANCELLED';

/** The action does not fit the run's state (HTTP 409): says the state and what would. */
export class RunStateConflictError extends AppError {
  override readonly name = 'RunStateConflictError';
  constructor(message: string, readonly run: RunRecord) {
    super(message, { retryable: false });
  }
}

export function isCancelled(run: RunRecord): boolean {
  return run.state === 'FAILED' && run.lastError?.code === CANCELLED;
}

/** `allowed` decides whether the caller may act on this run (its project); a run it may not is "not found". */
type Allowed = (run: RunRecord) => boolean;

export async function cancelRun(deps: IntakeDeps, runId: string, who: string, allowed: Allowed): Promise<{ run: RunRecord; cancelled: boolean }> {
  const current = await deps.store.get(runId);
  if (!current || !allowed(current)) throw new RunNotFoundError(runId);
  const now = deps.clock.now();
  const reason = `cancelled by ${who}`;
  const { run, changed } = await mutateRun(
    deps.store,
    runId,
    (draft) => {
      terminate(draft, 'FAILED', reason, now, deps.settings, { code: CANCELLED, message: reason, step: draft.step, at: now });
      return draft;
    },
    { now, initial: current },
  );
  if (!changed) {
    if (isCancelled(run)) return { run, cancelled: false };
    throw new RunStateConflictError(`run ${runId} already ended ${run.state}${run.reason ? ` (${run.reason})` : ''}; only a PENDING or RUNNING run can be cancelled`, run);
  }
  await deps.crashPoint?.('end-run:after-record', runId);
  await publishFinished(deps, run);
  return { run, cancelled: true };
}

/** The id of the run that retries `runId` (the same for every attempt to retry it). */
export function retryRunIdOf(runId: string): string {
  return stableUuid('retry', runId);
}

export async function retryRun(deps: IntakeDeps, runId: string, allowed: Allowed): Promise<{ run: RunRecord; retryOf: RunRecord; created: boolean }> {
  const old = await deps.store.get(runId);
  if (!old || !allowed(old)) throw new RunNotFoundError(runId);
  if (!isTerminal(old.state)) throw new RunStateConflictError(`run ${runId} is still ${old.state}; only a finished run can be retried (cancel it first?)`, old);
  if (old.state === 'COMPLETED') throw new RunStateConflictError(`run ${runId} COMPLETED; only a FAILED, EXPIRED or PARTIAL run can be retried (start a new run instead)`, old);
  const newId = old.retriedBy ?? retryRunIdOf(runId);
  const started = await startRun(deps, { request: old.request, runId: newId, source: { kind: 'http' }, retryOf: runId });
  const linked = await deps.store.linkRetry(runId, started.runId);
  if (linked.result === 'missing') throw new RunNotFoundError(runId);
  const retryOf = (await deps.store.get(runId)) ?? old;
  return { run: started.run, retryOf, created: started.created };
}
