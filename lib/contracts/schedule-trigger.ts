import * as z from 'zod';
import { text } from './text';

/**
 * The input of a plan's EventBridge Scheduler schedule (serverless.yml, generated from plans/plans.yml).
 * `scheduledTime` is the scheduler's `<aws.scheduler.scheduled-time>` placeholder, filled in per firing;
 * the run id is derived from (plan, scheduledTime), so a firing delivered twice starts one run.
 */
export const ScheduleTrigger = z.strictObject({
  source: z.literal('cbr-flow.plan'),
  plan: text().min(1).max(64),
  scheduledTime: z.iso.datetime({ offset: true, error: 'must be an ISO timestamp (the scheduler fills <aws.scheduler.scheduled-time>)' }),
  /** The run request; validated by start-run like any other. */
  request: z.unknown(),
});
export type ScheduleTrigger = z.infer<typeof ScheduleTrigger>;
