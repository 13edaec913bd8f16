/**
 * plan-firing-failed: a schedule firing that never became a run must not be lost silently. Three AWS
 * paths end in the schedules DLQ (serverless.yml): EventBridge Scheduler could not deliver a plan's
 * firing (after its retry policy), EventBridge could not deliver the checker's, or the function itself
 * failed every async attempt (its OnFailure destination). For a plan, the run the firing would have made
 * is recorded FAILED with reason "plan firing failed: <why>" under the same run id start-run would have
 * used (plan name + scheduled minute), so it shows in `cbr-flow list` and GET /runs/{id}, announces
 * run.finished (notifyUrl) like any failed run, and a late or repeated copy of the firing finds it.
 * If the run exists (the firing did start it and failed later), nothing is changed: the pipeline owns it.
 * A recovery drill's firing (`cbr-flow.drill`, the restores function) is logged and counted as PlanFiringFailed.
 * Every failed firing emits the metric PlanFiringFailed or CheckerFiringFailed (PlanFiringFailedAlarm).
 */
import { ScheduleTrigger } from '../contracts/schedule-trigger';
import { RunRequest } from '../contracts/run-request';
import { addEvent, RunRecord } from '../store/run';
import type { IntakeDeps } from '../wiring/deps';
import type { Logger } from '../ports';
import { publishFinished, terminate } from './common';
import { runIdForPlan } from './start-run';

/** One failed firing as the DLQ record tells it. */
export interface FailedFiring {
  /** What the schedule sent to the function (its Input), as far as the record carries it. */
  payload: unknown;
  /** Why it failed: the function's error, or EventBridge's error code and message. */
  error: string;
  /** Which AWS path reported it. */
  via: 'lambda-on-failure' | 'eventbridge-dlq';
}

export type FiringOutcome =
  | { kind: 'plan'; runId: string; recorded: boolean }
  | { kind: 'plan-unrecordable'; plan: string; why: string }
  | { kind: 'checker' }
  | { kind: 'drill'; plan: string; drill: string }
  | { kind: 'unknown' };

const CHECKER_SOURCE = 'cbr-flow.check-status';

function sourceOf(payload: unknown): unknown {
  return typeof payload === 'object' && payload !== null ? (payload as { source?: unknown }).source : undefined;
}

export async function recordFailedFiring(deps: IntakeDeps, firing: FailedFiring, log: Logger): Promise<FiringOutcome> {
  const now = deps.clock.now();
  const source = sourceOf(firing.payload);
  const error = firing.error.slice(0, 500);
  if (source === CHECKER_SOURCE || (typeof source === 'string' && source === 'aws.events')) {
    log('error', 'checker firing failed', { via: firing.via, error });
    deps.metrics?.firingFailed('checker', { via: firing.via, error });
    return { kind: 'checker' };
  }
  if (source === 'cbr-flow.drill') {
    // A recovery drill's firing (lib/restore/drill.ts) that never became a restore: no run to record;
    // counted like a plan firing (PlanFiringFailed -> PlanFiringFailedAlarm) with the drill named.
    const p = firing.payload as { plan?: unknown; drill?: unknown; scheduledTime?: unknown };
    const plan = String(p.plan ?? '?');
    const drill = String(p.drill ?? '?');
    log('error', 'drill firing failed', { plan, drill, scheduledTime: String(p.scheduledTime ?? ''), via: firing.via, error });
    deps.metrics?.firingFailed('plan', { plan, drill, scheduledTime: String(p.scheduledTime ?? ''), via: firing.via, error });
    return { kind: 'drill', plan, drill };
  }
  const trigger = ScheduleTrigger.safeParse(firing.payload);
  if (!trigger.success) {
    log('error', 'unrecognised schedule firing in the schedules DLQ', { via: firing.via, error: firing.error.slice(0, 500) });
    return { kind: 'unknown' };
  }
  const { plan, scheduledTime } = trigger.data;
  const request = RunRequest.safeParse(trigger.data.request);
  const region = request.success ? (request.data.region ?? deps.settings.defaultRegion) : undefined;
  if (!request.success || !region) {
    // No run can hold an invalid request; the plan itself must be fixed (lib/plans, test/contract).
    const why = request.success ? 'no region (and no CBR_REGION default)' : request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    log('error', 'plan firing failed; its request is invalid, no run recorded', { plan, scheduledTime, via: firing.via, error, why });
    deps.metrics?.firingFailed('plan', { plan, scheduledTime, via: firing.via, error });
    return { kind: 'plan-unrecordable', plan, why };
  }
  const runId = runIdForPlan(plan, scheduledTime);
  const reason = `plan firing failed: ${firing.error}`.slice(0, 1000);
  const run: RunRecord = RunRecord.parse({
    runId,
    version: 1,
    state: 'PENDING',
    step: 'create-vault',
    request: { ...request.data, region },
    source: { kind: 'schedule', plan, scheduledTime },
    createdAt: now,
    updatedAt: now,
    deadlineAt: now,
  });
  addEvent(run, now, 'create-vault', 'requested', `via schedule (plan ${plan}, scheduled ${scheduledTime}); the firing never started the run`);
  terminate(run, 'FAILED', reason, now, deps.settings, { code: 'PlanFiringFailed', message: firing.error.slice(0, 1000), step: 'create-vault', at: now });
  const outcome = await deps.store.create(run);
  log('error', 'plan firing failed', { runId, plan, scheduledTime, via: firing.via, recorded: outcome === 'created', error });
  deps.metrics?.firingFailed('plan', { runId, plan, scheduledTime, via: firing.via, error });
  if (outcome === 'created') await publishFinished(deps, run);
  return { kind: 'plan', runId, recorded: outcome === 'created' };
}
