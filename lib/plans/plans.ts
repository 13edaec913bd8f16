/**
 * Backup plans as code (plans/plans.yml): validation, conversion of each plan to the osls `schedule`
 * event (EventBridge Scheduler with an IANA time zone) that invokes start-run. Build/test-time only:
 * no handler imports this (the schedule's input carries the whole request).
 */
import { CronExpressionParser } from 'cron-parser';
import * as z from 'zod';
import { parseWith } from '../contracts/parse';
import { RunRequest } from '../contracts/run-request';

export const Plan = z.strictObject({
  /** Also part of the schedule's name and of every run id it derives. */
  name: z.string().min(1).max(32).regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'must be lowercase letters, digits and -' }),
  description: z.string().max(400).optional(),
  /** Standard 5-field cron, evaluated in `timezone`. */
  cron: z.string().min(9).max(100),
  timezone: z.string().min(1).max(64),
  enabled: z.boolean().default(true),
  request: RunRequest,
});
export type Plan = z.infer<typeof Plan>;

export const PlanFile = z
  .strictObject({ plans: z.array(Plan).max(200) })
  .superRefine((file, ctx) => {
    const names = new Set<string>();
    file.plans.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['plans', i, 'name'], message: `duplicate plan name ${p.name}` });
      names.add(p.name);
      if (JSON.stringify(p.request).length > 7000) {
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'request'], message: 'is too large for a schedule input (8 KB)' });
      }
      try {
        Intl.DateTimeFormat('en-US', { timeZone: p.timezone });
      } catch {
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'timezone'], message: `unknown IANA time zone '${p.timezone}'` });
      }
      try {
        CronExpressionParser.parse(p.cron, { tz: p.timezone });
        cronToAws(p.cron);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'cron'], message: (e as Error).message });
      }
    });
  });
export type PlanFile = z.infer<typeof PlanFile>;

export function parsePlanFile(value: unknown): PlanFile {
  return parseWith(PlanFile, value, 'plans.yml');
}

const DOW_NAMES = /^[A-Z]{3}$/i;

/** Standard day-of-week (0/7 = Sunday) to EventBridge's (1 = Sunday .. 7 = Saturday). */
function awsDow(field: string): string {
  return field
    .split(',')
    .map((part) => {
      const [range, step] = part.split('/');
      const mapped = range!
        .split('-')
        .map((d) => (d === '*' || DOW_NAMES.test(d) ? d.toUpperCase() : String((Number(d) % 7) + 1)))
        .join('-');
      return step ? `${mapped}/${step}` : mapped;
    })
    .join(',');
}

/** "m h dom mon dow" -> "cron(m h dom mon dow year)" with EventBridge's `?` rule and day numbering. */
export function cronToAws(expr: string): string {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  const [min, hour, dom, mon, dow] = fields as [string, string, string, string, string];
  if (dom !== '*' && dow !== '*') throw new Error('EventBridge cannot combine a day-of-month and a day-of-week; use * for one of them');
  const awsDom = dow !== '*' ? '?' : dom;
  const awsDowField = dow === '*' ? '?' : awsDow(dow);
  return `cron(${min} ${hour} ${awsDom} ${mon.toUpperCase()} ${awsDowField} *)`;
}

/** The osls `schedule` event of a plan (compiled to an AWS::Scheduler::Schedule). */
export function scheduleEventOf(plan: Plan, service: string) {
  return {
    schedule: {
      method: 'scheduler',
      name: `${service}-\${sls:stage}-plan-${plan.name}`,
      ...(plan.description ? { description: plan.description } : {}),
      rate: [cronToAws(plan.cron)],
      timezone: plan.timezone,
      enabled: plan.enabled,
      // Scheduler's own role (serverless.yml SchedulerRole: invoke start-run, aws:SourceAccount condition).
      roleArn: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
      input: {
        source: 'cbr-flow.plan',
        plan: plan.name,
        scheduledTime: '<aws.scheduler.scheduled-time>',
        request: plan.request,
      },
    },
  };
}
