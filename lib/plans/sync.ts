/**
 * Writes the plans of plans/plans.yml into serverless.yml, between three pairs of BEGIN/END markers:
 *   - `plan schedules`: start-run's schedule events, one per plan deployed to at least one stage;
 *   - `plan stages`: one CloudFormation condition per such plan, true in its stages;
 *   - `plan schedule conditions`: the condition attached to the plan's compiled schedule (osls names
 *     start-run's n-th schedule `StartDashrunSchedulerSchedule<n>`), so a stack of another stage has no
 *     schedule for it at all. A plan without `stages` is validated and written nowhere;
 *   - `coverage plans`: the coverage function's COVERAGE_PLANS (the deployed plans' resources, RPO
 *     target and shares, lib/coverage/plans.ts).
 * With --check it only reports whether they are in sync (exit 1 if not).
 *   npx tsx lib/plans/sync.ts [--check]
 * Build-time tool: uses the `yaml` dev dependency, never bundled into a handler.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { checkDrillTargets, coveragePlansOf, deployedPlans, drillScheduleEventsOf, parsePlanFile, scheduleEventOf, stageCondition, stageConditionName } from './plans';

export const PLAN_BLOCKS = ['plan schedules', 'plan stages', 'plan schedule conditions', 'coverage plans', 'drill schedules', 'drill schedule conditions'] as const;
export type PlanBlock = (typeof PLAN_BLOCKS)[number];

/** osls's logical id of start-run's n-th (1-based) schedule event. */
export const planScheduleLogicalId = (n: number): string => `StartDashrunSchedulerSchedule${n}`;
/** osls's logical id of the restores function's n-th (1-based) schedule event (a drill). */
export const drillScheduleLogicalId = (n: number): string => `RestoresSchedulerSchedule${n}`;

/** The declared drill targets per stage, from serverless.yml's `drillTargets` parameters (DRILL_TARGETS). */
export function drillTargetsOf(serverlessYaml: string): { of: (stage: string) => ReadonlySet<string>; any: ReadonlySet<string> } {
  const params = ((parse(serverlessYaml) as { params?: Record<string, { drillTargets?: unknown }> }).params ?? {});
  const split = (v: unknown) => new Set(typeof v === 'string' ? v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean) : []);
  const fallback = split(params.default?.drillTargets);
  const any = new Set<string>();
  for (const p of Object.values(params)) for (const t of split(p?.drillTargets)) any.add(t);
  return { of: (stage) => (params[stage]?.drillTargets !== undefined ? split(params[stage]!.drillTargets) : fallback), any };
}

function indent(value: unknown, spaces: number): string {
  const text = stringify(value, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');
}

/** The text of each generated block ('' when no plan is deployed anywhere). */
export function renderPlanBlocks(plansYaml: string, service = 'cbr-flow', drillTargets?: ReturnType<typeof drillTargetsOf>): Record<PlanBlock, string> {
  const file = parsePlanFile(parse(plansYaml));
  if (drillTargets) checkDrillTargets(file, drillTargets);
  const plans = deployedPlans(file.plans);
  if (plans.length === 0) return { 'plan schedules': '', 'plan stages': '', 'plan schedule conditions': '', 'coverage plans': '', 'drill schedules': '', 'drill schedule conditions': '' };
  const drills = plans.flatMap((p) => drillScheduleEventsOf(p, service).map((event) => ({ plan: p, event })));
  return {
    'drill schedules': drills.length > 0 ? indent(drills.map((d) => d.event), 6) : '',
    'drill schedule conditions': drills.length > 0 ? indent(Object.fromEntries(drills.map((d, i) => [drillScheduleLogicalId(i + 1), { Condition: stageConditionName(d.plan) }])), 4) : '',
    'coverage plans': indent({ COVERAGE_PLANS: JSON.stringify(coveragePlansOf(plans)) }, 6),
    'plan schedules': indent(plans.map((p) => scheduleEventOf(p, service)), 6),
    'plan stages': indent({ Conditions: Object.fromEntries(plans.map((p) => [stageConditionName(p), stageCondition(p, service)])) }, 2),
    'plan schedule conditions': indent(Object.fromEntries(plans.map((p, i) => [planScheduleLogicalId(i + 1), { Condition: stageConditionName(p) }])), 4),
  };
}

/** serverless.yml with the block between `# BEGIN <name>` and `# END <name>` replaced by `rendered`. */
export function spliceBlock(serverlessYaml: string, name: PlanBlock, rendered: string): string {
  const begin = `# BEGIN ${name} (`;
  const end = `# END ${name}\n`;
  const start = serverlessYaml.indexOf(begin);
  const stop = serverlessYaml.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`serverless.yml lacks the '# BEGIN ${name} (...)' / '# END ${name}' markers`);
  const afterBegin = serverlessYaml.indexOf('\n', start) + 1;
  const endLineStart = serverlessYaml.lastIndexOf('\n', stop) + 1;
  return serverlessYaml.slice(0, afterBegin) + (rendered ? `${rendered}\n` : '') + serverlessYaml.slice(endLineStart);
}

/** serverless.yml with every plan block regenerated from plans.yml. */
export function syncPlans(serverlessYaml: string, plansYaml: string, service = 'cbr-flow'): string {
  const blocks = renderPlanBlocks(plansYaml, service, drillTargetsOf(serverlessYaml));
  return PLAN_BLOCKS.reduce((text, name) => spliceBlock(text, name, blocks[name]), serverlessYaml);
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const current = readFileSync(`${root}serverless.yml`, 'utf8');
  const next = syncPlans(current, readFileSync(`${root}plans/plans.yml`, 'utf8'));
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('serverless.yml plans are out of date: run `npx tsx lib/plans/sync.ts`');
      process.exit(1);
    }
    console.log('serverless.yml plans are in sync with plans/plans.yml');
  } else {
    writeFileSync(`${root}serverless.yml`, next);
    console.log(next === current ? 'serverless.yml already in sync' : 'serverless.yml plans updated');
  }
}
