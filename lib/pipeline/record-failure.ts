/**
 * What the SQS edge does when processing a record threw: record the error and the attempt on the run
 * (so GET /runs/{id} shows why it is stuck), and on the last receive before the dead-letter queue
 * fail the run with that reason — a message in the DLQ never leaves its run silently RUNNING.
 *
 * A record that is not a valid message at all (`refused`: bad JSON, unknown type or version,
 * oversized) is only noted on the run it names: the run's own valid messages may well be on their
 * way (the bad one can be a stray copy from another producer, or carry a forged run id), so a poison
 * message never fails a run; if the run really lost its step input, the checker's watchdog re-drives
 * the step after STEP_TIMEOUT_SECONDS, and a run past its completion window expires anyway.
 */
import { isTerminal, addEvent, type Step } from '../store/run';
import { mutateRun } from '../store/mutate';
import { publishFinished, runErrorOf, terminate } from './common';
import type { IntakeDeps } from '../wiring/deps';

export async function recordDeliveryFailure(
  deps: IntakeDeps,
  failure: { runId: string; step: Step; error: unknown; receiveCount: number; refused?: boolean },
): Promise<void> {
  const now = deps.clock.now();
  const lastReceive = failure.receiveCount >= deps.settings.maxReceiveCount;
  const { run, changed } = await mutateRun(
    deps.store,
    failure.runId,
    (draft) => {
      const error = runErrorOf(failure.error, failure.step, now);
      if (failure.refused) {
        draft.attempts.refused = (draft.attempts.refused ?? 0) + 1;
        const what = `a message for this run was refused (receive ${failure.receiveCount} of ${deps.settings.maxReceiveCount})${lastReceive ? ' and went to the dead-letter queue' : ''}`;
        addEvent(draft, now, failure.step, lastReceive ? 'message-dead-lettered' : 'message-refused', `${what}: ${error.code}: ${error.message}`.slice(0, 500));
        return draft;
      }
      draft.attempts[failure.step] = (draft.attempts[failure.step] ?? 0) + 1;
      draft.lastError = error;
      if (lastReceive) {
        terminate(draft, 'FAILED', `step ${failure.step} failed ${failure.receiveCount} times; its message went to the dead-letter queue: ${error.code}: ${error.message}`, now, deps.settings, error);
      } else {
        addEvent(draft, now, failure.step, 'waiting', `attempt ${failure.receiveCount} failed: ${error.code}: ${error.message}`.slice(0, 500));
      }
      return draft;
    },
    { now },
  );
  if (!changed || !isTerminal(run.state)) return;
  // The message goes to the DLQ now: if we die here, the checker announces the run (announcePending).
  await deps.crashPoint?.('record-failure:after-record', failure.runId);
  await publishFinished(deps, run);
}
