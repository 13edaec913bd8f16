import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cronToAws, parsePlanFile, requestOf, scheduleEventOf } from '../../lib/plans/plans';
import { runIdForPlan } from '../../lib/pipeline/start-run';
import { drillTargetsOf, renderPlanBlocks, syncPlans } from '../../lib/plans/sync';

const plan = (over: Record<string, unknown> = {}) => ({
  name: 'nightly',
  cron: '0 2 * * *',
  timezone: 'Asia/Shanghai',
  request: { projectId: '0605767b5780d5762fc5c0118072a564', vault: { mode: 'reuse', name: 'v' }, resources: [{ id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' }] },
  ...over,
});

describe('plans', () => {
  it('converts standard cron to EventBridge cron (? rule, Sunday = 1)', () => {
    expect(cronToAws('0 2 * * *')).toBe('cron(0 2 * * ? *)');
    expect(cronToAws('30 3 * * 0')).toBe('cron(30 3 ? * 1 *)');
    expect(cronToAws('15 1 * * 1-5')).toBe('cron(15 1 ? * 2-6 *)');
    expect(cronToAws('0 */6 1 * *')).toBe('cron(0 */6 1 * ? *)');
    expect(cronToAws('0 4 * jan MON,FRI')).toBe('cron(0 4 ? JAN MON,FRI *)');
    expect(() => cronToAws('0 4 1 * 1')).toThrow(/day-of-month and a day-of-week/);
  });

  it('names the field of a bad plan (cron, time zone, duplicate name, request)', () => {
    const errorOf = (plans: unknown[]) => {
      try {
        parsePlanFile({ plans });
        return undefined;
      } catch (e) {
        return (e as { issues: Array<{ field: string }> }).issues.map((i) => i.field);
      }
    };
    expect(errorOf([plan()])).toBeUndefined();
    expect(errorOf([plan({ cron: '0 25 * * *' })])).toEqual(['plans.yml.plans[0].cron']);
    expect(errorOf([plan({ timezone: 'Mars/Olympus' })])).toEqual(['plans.yml.plans[0].timezone']);
    expect(errorOf([plan(), plan()])).toEqual(['plans.yml.plans[1].name']);
    expect(errorOf([plan({ request: { ...plan().request, projectId: 'nope' } })])).toEqual(['plans.yml.plans[0].request.projectId']);
    expect(errorOf([plan({ stages: ['prod', 'bad stage'] })])).toEqual(['plans.yml.plans[0].stages[1]']);
    expect(errorOf([plan({ stages: 'prod' })])).toEqual(['plans.yml.plans[0].stages']);
  });

  it('validates a plan\'s retention at load, naming plans.yml.plans[i].retention.<field>', () => {
    const issuesOf = (plans: unknown[]) => {
      try {
        parsePlanFile({ plans });
        return [];
      } catch (e) {
        return (e as { issues: Array<{ field: string; message: string }> }).issues;
      }
    };
    expect(issuesOf([plan({ retention: { keepLast: 7, gfs: { weeks: 4, months: 12 }, floor: 2 } })])).toEqual([]);
    expect(issuesOf([plan(), plan({ name: 'other', retention: { keepLast: 0 } })])).toEqual([
      { field: 'plans.yml.plans[1].retention.keepLast', message: expect.stringMatching(/^keeps nothing, .* every backup would be deleted/) },
    ]);
    expect(issuesOf([plan({ retention: { gfs: { days: 0 } } })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].retention.gfs']);
    expect(issuesOf([plan({ retention: {} })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].retention']);
    expect(issuesOf([plan({ retention: { keepLast: -1 } })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].retention.keepLast']);
    expect(issuesOf([plan({ retention: { maxAgeDays: 30, timezone: 'Mars/Olympus' } })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].retention.timezone']);
    expect(issuesOf([plan({ retention: { keepLast: 3, keepForever: true } })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].retention.keepForever']);
    expect(issuesOf([plan({ retention: { gfs: { weeks: 4, fortnights: 2 } } })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].retention.gfs.fortnights']);
    expect(issuesOf([plan({ request: { ...plan().request, retention: { floor: 0 } } })]).map((i) => i.field)).toEqual(['plans.yml.plans[0].request.retention.floor']);
    const both = plan({ retention: { keepLast: 3 }, request: { ...plan().request, retention: { keepLast: 5 } } });
    expect(issuesOf([both]).map((i) => i.field)).toEqual(['plans.yml.plans[0].request.retention']);
  });

  it('plan sync fails on a rule set that keeps nothing, naming the field', () => {
    const yaml = stringify({ plans: [plan({ stages: ['prod'], retention: { keepLast: 3 } }), plan({ name: 'other', retention: { keepLast: 0, gfs: { weeks: 0 } } })] });
    expect(() => renderPlanBlocks(yaml)).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'plans.yml.plans[1].retention.keepLast', message: expect.stringContaining('keeps nothing') }));
  });

  it('a firing carries the plan\'s retention, GFS in the plan\'s time zone unless the rules name one', () => {
    const [onPlan, inRequest, own, none] = parsePlanFile({
      plans: [
        plan({ name: 'a', retention: { gfs: { days: 7 } } }),
        plan({ name: 'b', timezone: 'Europe/Berlin', request: { ...plan().request, retention: { keepLast: 3 } } }),
        plan({ name: 'c', retention: { keepLast: 3, timezone: 'UTC' } }),
        plan({ name: 'd' }),
      ],
    }).plans as [never, never, never, never];
    expect(requestOf(onPlan).retention).toEqual({ gfs: { days: 7, weeks: 0, months: 0, years: 0 }, timezone: 'Asia/Shanghai' });
    expect(scheduleEventOf(onPlan, 'cbr-flow').schedule.input.request.retention?.timezone).toBe('Asia/Shanghai');
    expect(requestOf(inRequest).retention).toEqual({ keepLast: 3, timezone: 'Europe/Berlin' });
    expect(requestOf(own).retention).toEqual({ keepLast: 3, timezone: 'UTC' });
    expect(requestOf(none)).not.toHaveProperty('retention');
  });

  it('derives one run id per plan firing (same minute -> same run; next firing -> new run)', () => {
    const a = runIdForPlan('nightly', '2026-11-22T18:00:00Z');
    expect(runIdForPlan('nightly', '2026-11-22T18:00:00.000Z')).toBe(a);
    expect(runIdForPlan('nightly', '2026-11-22T18:00:59+00:00')).toBe(a);
    expect(runIdForPlan('nightly', '2026-11-23T18:00:00Z')).not.toBe(a);
    expect(runIdForPlan('weekly', '2026-11-22T18:00:00Z')).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('drills: validated at load (cron, time zone, names, not onto their own server) and refused at sync onto an undeclared drill target, naming the field', () => {
    const drill = { cron: '0 6 * * 6', resourceId: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', target: '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d', rpoTargetSeconds: 93600 };
    const fields = (plans: unknown[]) => {
      try {
        parsePlanFile({ plans });
        return [];
      } catch (e) {
        return (e as { issues: Array<{ field: string }> }).issues.map((i) => i.field);
      }
    };
    expect(fields([plan({ drills: [drill] })])).toEqual([]);
    expect(fields([plan({ drills: [{ ...drill, cron: '0 25 * * *' }] })])).toEqual(['plans.yml.plans[0].drills[0].cron']);
    expect(fields([plan({ drills: [{ ...drill, timezone: 'Mars/Olympus' }] })])).toEqual(['plans.yml.plans[0].drills[0].timezone']);
    expect(fields([plan({ drills: [drill, drill] })])).toEqual([]); // drill-1, drill-2
    expect(fields([plan({ drills: [{ ...drill, name: 'x' }, { ...drill, name: 'x' }] })])).toEqual(['plans.yml.plans[0].drills[1].name']);
    expect(fields([plan({ drills: [{ ...drill, target: drill.resourceId }] })])).toEqual(['plans.yml.plans[0].drills[0].target']);
    expect(fields([plan({ drills: [{ ...drill, verifyUrl: 'ftp://x' }] })])).toEqual(['plans.yml.plans[0].drills[0].verifyUrl']);

    const serverless = (local: string, prod: string) => `params:\n  default:\n    drillTargets: ''\n  local:\n    drillTargets: ${local}\n  prod:\n    drillTargets: '${prod}'\n`;
    const yaml = (stages: string[]) => stringify({ plans: [plan({ stages, drills: [drill] })] });
    // Deployed to prod: prod must declare the target.
    expect(() => renderPlanBlocks(yaml(['prod']), 'cbr-flow', drillTargetsOf(serverless(drill.target, '')))).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'plans.yml.plans[0].drills[0].target', message: expect.stringContaining('not a declared drill target of stage prod') }),
    );
    const blocks = renderPlanBlocks(yaml(['prod']), 'cbr-flow', drillTargetsOf(serverless('', drill.target)));
    expect(blocks['drill schedules']).toContain('source: cbr-flow.drill');
    expect(blocks['drill schedules']).toContain(`target: ${drill.target}`);
    expect(blocks['drill schedules']).toContain('rate:\n');
    expect(blocks['drill schedule conditions']).toContain('RestoresSchedulerSchedule1:');
    // Deployed nowhere: some stage must declare it.
    expect(() => renderPlanBlocks(yaml([]), 'cbr-flow', drillTargetsOf(serverless('', '')))).toThrow(expect.objectContaining({ field: 'plans.yml.plans[0].drills[0].target' }));
    expect(renderPlanBlocks(yaml([]), 'cbr-flow', drillTargetsOf(serverless(drill.target, '')))['drill schedules']).toBe('');
    // syncPlans reads the targets from serverless.yml itself.
    expect(() => syncPlans(serverless('', ''), yaml([]))).toThrow(expect.objectContaining({ field: 'plans.yml.plans[0].drills[0].target' }));
  });
});
