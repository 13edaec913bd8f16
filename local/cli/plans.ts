/**
 * `cbr-flow plans preview <plan>`: what a plan of plans/plans.yml would back up if it fired now, and its
 * next firings in the plan's time zone and in UTC. Listed resources are shown as listed; a `select` is
 * applied (lib/contracts/selection.ts, the function the run itself uses) to the project's resources as
 * GET /coverage lists them now (servers, and disks not attached to a listed server).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { applySelection, describeSelection } from '../../lib/contracts/selection';
import { nextFiringTimes, wallClock } from '../../lib/plans/firings';
import { parsePlanFile, rpoHoursOf, type Plan } from '../../lib/plans/plans';
import { CliError, type ApiClient } from './client';

/** The plans of `file`, or a CliError naming the file and what is wrong with it. */
function readPlans(file: string): Plan[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--plans-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2);
  }
  try {
    return parsePlanFile(parse(text)).plans;
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`, 2);
  }
}

/** The next `count` firings of `plan` after `now`, each in the plan's time zone and in UTC. */
export function nextFirings(plan: Plan, now: number, count: number): string[] {
  return nextFiringTimes(plan.cron, plan.timezone, now, count).map((at) => `${wallClock(at, plan.timezone)} ${plan.timezone}  =  ${wallClock(at, 'UTC')} UTC`);
}

export async function planPreview(api: () => Promise<ApiClient>, file: string, name: string, count: number, now: number, out: (line: string) => void): Promise<number> {
  const plans = readPlans(file);
  const plan = plans.find((p) => p.name === name);
  if (!plan) throw new CliError(`no plan named "${name}" in ${file}; plans: ${plans.map((p) => p.name).join(', ') || 'none'}`, 2);
  const r = plan.request;
  out(`plan ${plan.name}: cron "${plan.cron}" in ${plan.timezone}; project ${r.projectId}${r.region ? ` (${r.region})` : ''}; vault ${r.vault.name}; RPO target ${rpoHoursOf(plan)} h`);
  out(plan.stages.length > 0 ? `deployed to: ${plan.stages.join(', ')}${plan.enabled ? '' : ' (paused)'}` : 'deployed to no stage (validated only; it fires nowhere)');
  out('');
  out(`next ${count} firings:`);
  for (const line of nextFirings(plan, now, count)) out(`  ${line}`);
  out('');
  if (!r.select) {
    out(`would back up (listed in the plan): ${r.resources.length}`);
    for (const res of r.resources) out(`  ${res.id}  ${res.type}${res.name ? `  ${res.name}` : ''}`);
    return 0;
  }
  const select = r.select;
  const { coverage } = await (await api()).getCoverage({ project: r.projectId });
  const project = coverage.projects.find((p) => p.projectId === r.projectId && (!r.region || p.region === r.region));
  if (!project) {
    throw new CliError(`project ${r.projectId}${r.region ? ` (${r.region})` : ''} is not among the API's coverage projects (COVERAGE_PROJECTS, the deployed plans' own), or your token may not read it: cannot list what "${describeSelection(select)}" selects`, 2);
  }
  if (project.error) throw new CliError(`CBR's listing of project ${r.projectId} failed: ${project.error.name}: ${project.error.message}`, 3);
  const live = project.resources
    .filter((x) => x.type === select.type && x.status !== 'deleted' && x.status !== 'missing')
    .map((x) => ({ ...x, tags: (x as { tags?: Record<string, string> }).tags ?? {} }));
  const chosen = applySelection(select, live);
  out(`would back up now (select ${describeSelection(select)}): ${chosen.length} of ${live.length} ${select.type}(s)${select.type === 'disk' ? ' (disks attached to a listed server are not shown here)' : ''}`);
  for (const c of chosen) {
    const tags = Object.entries(c.tags).map(([k, v]) => `${k}=${v}`).join(',');
    out(`  ${c.id}  ${c.name.padEnd(16)} ${c.status.padEnd(13)} ${tags}`.trimEnd());
  }
  return 0;
}
