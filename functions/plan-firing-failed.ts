// plan-firing-failed: schedules DLQ -> a plan firing that never became a run is recorded as a FAILED run
// (visible in `cbr-flow list`) with the metric PlanFiringFailed. Never imports the CBR client.
import { planFiringFailedHandler } from '../lib/pipeline/edge/plan-firing-failed';
import { intakeDeps, log } from '../lib/wiring/runtime';

export const handler = planFiringFailedHandler(intakeDeps, log);
