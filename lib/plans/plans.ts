/**
 * Backup plans as code (plans/plans.yml): validation, conversion of each plan to the osls `schedule`
 * event (EventBridge Scheduler with an IANA time zone) that invokes start-run. Build/test-time only:
 * no handler imports this (the schedule's input carries the whole request).
 */
import { CronExpressionParser } from 'cron-parser';
import * as z from 'zod';
import { parseWith } from '../contracts/parse';
import { RunRequest } from '../contracts/run-request';
import { RetentionRules } from '../retention/rules';
import { Drill } from '../restore/drill';
import { ValidationError } from '../errors';

export const Plan = z.strictObject({
  /** Also part of the schedule's name and of every run id it derives. */
  name: z.string().min(1).max(32).regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'must be lowercase letters, digits and -' }),
  description: z.string().max(400).optional(),
  /** Standard 5-field cron, evaluated in `timezone`. */
  cron: z.string().min(9).max(100),
  timezone: z.string().min(1).max(64),
  /**
   * The stages this plan is deployed to (`sls deploy --stage <name>`). None (the default): the plan is
   * validated but deployed nowhere, so a sample or draft plan never fires by accident. Its schedule is
   * created only in a stack of a listed stage (a CloudFormation condition on the stage).
   */
  stages: z.array(z.string().regex(/^[a-zA-Z0-9-]{1,16}$/, { error: 'must be a stage name (letters, digits, -; at most 16)' })).max(10).default([]),
  /** In a stage it is deployed to: false creates the schedule paused (DISABLED). */
  enabled: z.boolean().default(true),
  request: RunRequest,
  /**
   * Which backups of the plan's resources cbr-flow keeps (lib/retention/rules.ts); GFS periods are in
   * the plan's `timezone` unless the rules name their own. Set here or in `request`, not both.
   */
  retention: RetentionRules.optional(),
  /**
   * The retention sweep decides every backup in the plan's vault, not only the ones cbr-flow created
   * (CBR policy backups, manual ones). Needs retention (on the plan or its request).
   */
  adopt: z.boolean().default(false),
  /**
   * Recovery point objective, in hours: coverage (lib/coverage) calls the plan's resources stale when
   * their newest available backup is older. Unset: derived from the cron (`rpoHoursOf`).
   */
  rpoHours: z.number().positive().max(24 * 366).optional(),
  /**
   * Recovery drills (README "Recovery drills"): on their cron, restore the latest available backup of
   * `resourceId` onto `target` (a declared drill target of every stage the plan deploys to, checked at
   * sync), verify, and record RPO/RTO against the targets.
   */
  drills: z.array(Drill).max(10).default([]),
});
export type Plan = z.infer<typeof Plan>;

export const PlanFile = z
  .strictObject({ plans: z.array(Plan).max(200) })
  .superRefine((file, ctx) => {
    const names = new Set<string>();
    file.plans.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['plans', i, 'name'], message: `duplicate plan name ${p.name}` });
      names.add(p.name);
      if (p.retention !== undefined && p.request.retention !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'request', 'retention'], message: 'is also set on the plan: set retention on the plan or in its request, not both' });
      }
      if (p.adopt && p.retention === undefined && p.request.retention === undefined) {
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'adopt'], message: 'needs retention rules (adopt lets the sweep delete backups cbr-flow did not create, by those rules): add `retention` or remove `adopt`' });
      }
      if (JSON.stringify(requestOf(p)).length > 7000) {
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
      const drillNames = new Set<string>();
      p.drills.forEach((d, j) => {
        const name = drillNameOf(d, j);
        if (drillNames.has(name)) ctx.addIssue({ code: 'custom', path: ['plans', i, 'drills', j, 'name'], message: `duplicate drill name ${name} in plan ${p.name}` });
        drillNames.add(name);
        if (d.resourceId === d.target) ctx.addIssue({ code: 'custom', path: ['plans', i, 'drills', j, 'target'], message: 'is the drill\'s own resourceId: a drill restores onto a separate drill server, never onto the server it protects' });
        const tz = d.timezone ?? p.timezone;
        try {
          Intl.DateTimeFormat('en-US', { timeZone: tz });
        } catch {
          ctx.addIssue({ code: 'custom', path: ['plans', i, 'drills', j, 'timezone'], message: `unknown IANA time zone '${tz}'` });
          return;
        }
        try {
          CronExpressionParser.parse(d.cron, { tz });
          cronToAws(d.cron);
        } catch (e) {
          ctx.addIssue({ code: 'custom', path: ['plans', i, 'drills', j, 'cron'], message: (e as Error).message });
        }
      });
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

/**
 * The run request a firing of `plan` sends: its `request`, carrying the plan's `retention` (when set)
 * with the GFS time zone resolved to the plan's (and `adopt`), so every run record holds the rules that
 * apply to it: the retention sweep reads them there.
 */
export function requestOf(plan: Plan): RunRequest {
  const retention = plan.retention ?? plan.request.retention;
  if (retention === undefined) return plan.request;
  return { ...plan.request, retention: { ...retention, timezone: retention.timezone ?? plan.timezone, ...(plan.adopt ? { adopt: true } : {}) } };
}

/** The plans that are deployed to at least one stage, in file order (each becomes one schedule event). */
export function deployedPlans(plans: readonly Plan[]): Plan[] {
  return plans.filter((p) => p.stages.length > 0);
}

/** The CloudFormation condition name that is true in the stages `plan` is deployed to. */
export function stageConditionName(plan: Plan): string {
  return `Plan${plan.name.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Stages`;
}

/**
 * The condition: the stack is the one of one of the plan's stages (Fn::Or takes 2..10 conditions). It
 * compares the stack's name (osls names it `<service>-<stage>`) rather than `${sls:stage}`, which osls
 * would turn into a constant comparison (cfn-lint W8003).
 */
export function stageCondition(plan: Plan, service: string): Record<string, unknown> {
  const equals = plan.stages.map((s) => ({ 'Fn::Equals': [{ Ref: 'AWS::StackName' }, `${service}-${s}`] }));
  return equals.length === 1 ? equals[0]! : { 'Fn::Or': equals };
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
        request: requestOf(plan),
      },
    },
  };
}

/** Firings examined to find the longest gap between two (covers a year of a daily plan). */
const RPO_FIRINGS = 400;
/** A fixed start, so the derived RPO does not depend on when it is computed (DST gaps included). */
const RPO_FROM = Date.UTC(2026, 0, 1);

/**
 * The plan's RPO target in hours: `rpoHours` when set, else the longest gap between two consecutive
 * firings of its cron (in its time zone, over the next 400 firings from 2026-01-01) plus the run's
 * completion window, rounded up to a whole hour. Nightly with the default 240 min window: 24 + 4 = 28 h.
 */
export function rpoHoursOf(plan: Plan): number {
  if (plan.rpoHours !== undefined) return plan.rpoHours;
  const it = CronExpressionParser.parse(plan.cron, { tz: plan.timezone, currentDate: new Date(RPO_FROM) });
  let prev = it.next().getTime();
  let gap = 0;
  for (let i = 0; i < RPO_FIRINGS && it.hasNext(); i++) {
    const at = it.next().getTime();
    gap = Math.max(gap, at - prev);
    prev = at;
  }
  return Math.ceil((gap + plan.request.completionWindowMinutes * 60_000) / 3_600_000);
}

/** What the coverage function needs of the deployed plans (its COVERAGE_PLANS, lib/coverage/plans.ts; the dashboard's plans too). */
export function coveragePlansOf(plans: readonly Plan[]) {
  return deployedPlans(plans).map((p) => ({
    name: p.name,
    projectId: p.request.projectId,
    ...(p.request.region ? { region: p.request.region } : {}),
    resourceIds: p.request.resources.map((r) => r.id),
    ...(p.request.select ? { select: p.request.select } : {}),
    rpoHours: rpoHoursOf(p),
    shareWith: p.request.shareWith,
    stages: p.stages,
    cron: p.cron,
    timezone: p.timezone,
    enabled: p.enabled,
  }));
}

/** A drill's name: its own, else `drill-<n>` (1-based, file order). */
export function drillNameOf(d: Drill, index: number): string {
  return d.name ?? `drill-${index + 1}`;
}

/**
 * Every drill's target must be a declared drill target (DRILL_TARGETS, serverless.yml's `drillTargets`
 * stage parameter) of each stage its plan deploys to; a plan deployed nowhere, of at least one stage.
 * Throws a ValidationError naming plans.yml.plans[i].drills[j].target.
 */
export function checkDrillTargets(file: PlanFile, targets: { of: (stage: string) => ReadonlySet<string>; any: ReadonlySet<string> }): void {
  file.plans.forEach((p, i) => {
    p.drills.forEach((d, j) => {
      const field = `plans.yml.plans[${i}].drills[${j}].target`;
      const target = d.target.toLowerCase();
      if (p.stages.length === 0) {
        if (!targets.any.has(target)) throw new ValidationError(field, `server ${d.target} is not a declared drill target of any stage (serverless.yml params drillTargets / DRILL_TARGETS): a drill may only overwrite a declared drill server`);
        return;
      }
      for (const stage of p.stages) {
        if (!targets.of(stage).has(target)) throw new ValidationError(field, `server ${d.target} is not a declared drill target of stage ${stage} (serverless.yml params.${stage}.drillTargets, else params.default.drillTargets): a drill may only overwrite a declared drill server`);
      }
    });
  });
}

/** The osls `schedule` events of a plan's drills (EventBridge Scheduler -> the restores function). */
export function drillScheduleEventsOf(plan: Plan, service: string) {
  return plan.drills.map((d, j) => {
    const name = drillNameOf(d, j);
    return {
      schedule: {
        method: 'scheduler',
        name: `${service}-\${sls:stage}-drill-${plan.name}-${name}`.slice(0, 64),
        description: `Recovery drill ${name} of plan ${plan.name}: restore the latest backup of ${d.resourceId} onto ${d.target}`,
        rate: [cronToAws(d.cron)],
        timezone: d.timezone ?? plan.timezone,
        enabled: plan.enabled,
        roleArn: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
        input: {
          source: 'cbr-flow.drill',
          plan: plan.name,
          drill: name,
          scheduledTime: '<aws.scheduler.scheduled-time>',
          projectId: plan.request.projectId,
          ...(plan.request.region ? { region: plan.request.region } : {}),
          resourceId: d.resourceId,
          target: d.target,
          powerOn: d.powerOn,
          ...(d.verifyUrl ? { verifyUrl: d.verifyUrl } : {}),
          ...(plan.request.notifyUrl ? { notifyUrl: plan.request.notifyUrl } : {}),
          ...(d.rpoTargetSeconds !== undefined ? { rpoTargetSeconds: d.rpoTargetSeconds } : {}),
          ...(d.rtoTargetSeconds !== undefined ? { rtoTargetSeconds: d.rtoTargetSeconds } : {}),
        },
      },
    };
  });
}
