/**
 * What the dashboard shows besides coverage (GET /dashboard/data, served by the coverage function): the
 * caller's recent runs, failed and expired first, each with its duration and its timeline as spans per
 * step (the page draws them as SVG bars), and the deployed plans with their next firings in the plan's
 * time zone and in UTC. Pure but for the store read; the page itself is ./page.ts.
 */
import type { CoveragePlan } from '../coverage/plans';
import { nextFiringTimes, wallClock } from '../plans/firings';
import type { Clock, RunStore } from '../ports';
import type { RunRecord } from '../store/run';

/** Runs of the last this many days are listed (the store reads one `recent` index page per UTC day). */
export const DASHBOARD_DAYS = 7;
/** At most this many runs of each kind: failed/expired, and any. */
const PROBLEM_RUNS = 20;
const RECENT_RUNS = 40;
/** Next firings shown per plan. */
const FIRINGS = 3;

const TERMINAL = new Set(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']);
/** Listed first, in this order; then the rest, newest first. */
const PROBLEM_ORDER: Record<string, number> = { FAILED: 0, EXPIRED: 0, PARTIAL: 1 };

export interface StepSpan {
  step: string;
  /** Milliseconds from the run's creation. */
  startMs: number;
  endMs: number;
}

export interface DashboardRun {
  runId: string;
  state: string;
  step: string;
  projectId: string;
  region: string;
  vaultName: string;
  plan?: string;
  createdAt: string;
  finishedAt?: string;
  durationMs: number;
  reason?: string;
  resources: number;
  spans: StepSpan[];
}

export interface DashboardPlan {
  name: string;
  projectId: string;
  region: string;
  timezone?: string;
  cron?: string;
  enabled: boolean;
  rpoHours: number;
  resources: number | string;
  /** Next firings: the instant, the wall clock in the plan's time zone and in UTC. */
  next: { at: string; local: string; utc: string }[];
}

export interface DashboardData {
  generatedAt: string;
  runs: DashboardRun[];
  plans: DashboardPlan[];
}

/**
 * The run's timeline as spans: each stretch of consecutive events of one step runs from its first event to
 * the next step's first event; the last one to the run's end (or `now` while it runs). `done` marks the end only.
 */
export function stepSpans(run: Pick<RunRecord, 'createdAt' | 'finishedAt' | 'state' | 'timeline'>, now: number): StepSpan[] {
  const end = run.finishedAt ?? (TERMINAL.has(run.state) ? Math.max(run.createdAt, ...run.timeline.map((e) => e.at)) : now);
  const events = [...run.timeline].sort((a, b) => a.at - b.at);
  const spans: StepSpan[] = [];
  for (const e of events) {
    const last = spans.at(-1);
    if (last && last.step === e.step) continue;
    if (last) last.endMs = Math.max(last.startMs, e.at - run.createdAt);
    spans.push({ step: e.step, startMs: Math.max(0, e.at - run.createdAt), endMs: Math.max(0, end - run.createdAt) });
  }
  return spans.filter((s) => s.step !== 'done');
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function dashboardRun(run: RunRecord, now: number): DashboardRun {
  const end = run.finishedAt ?? (TERMINAL.has(run.state) ? run.updatedAt : now);
  return {
    runId: run.runId,
    state: run.state,
    step: run.step,
    projectId: run.request.projectId,
    region: run.request.region,
    vaultName: run.request.vault.name,
    ...(run.source.plan !== undefined ? { plan: run.source.plan } : {}),
    createdAt: iso(run.createdAt)!,
    ...(run.finishedAt !== undefined ? { finishedAt: iso(run.finishedAt)! } : {}),
    durationMs: Math.max(0, end - run.createdAt),
    ...(run.reason !== undefined ? { reason: run.reason } : {}),
    resources: run.selection?.ids.length ?? run.request.resources.length,
    spans: stepSpans(run, now),
  };
}

/** Failed and expired first, then partial, then the rest; newest first within each. */
export function orderRuns(runs: readonly DashboardRun[]): DashboardRun[] {
  const rank = (r: DashboardRun) => PROBLEM_ORDER[r.state] ?? 2;
  return [...runs].sort((a, b) => rank(a) - rank(b) || b.createdAt.localeCompare(a.createdAt));
}

export function dashboardPlan(plan: CoveragePlan, now: number): DashboardPlan {
  const next = plan.cron && plan.timezone
    ? nextFiringTimes(plan.cron, plan.timezone, now, FIRINGS).map((at) => ({ at: at.toISOString(), local: wallClock(at, plan.timezone!), utc: wallClock(at, 'UTC') }))
    : [];
  return {
    name: plan.name,
    projectId: plan.projectId,
    region: plan.region,
    ...(plan.timezone ? { timezone: plan.timezone } : {}),
    ...(plan.cron ? { cron: plan.cron } : {}),
    enabled: plan.enabled !== false,
    rpoHours: plan.rpoHours,
    resources: plan.select ? 'selected at each firing' : plan.resourceIds.length,
    next,
  };
}

export interface DashboardDeps {
  store: Pick<RunStore, 'listRuns'>;
  clock: Clock;
  plans: readonly CoveragePlan[];
}

/**
 * The dashboard's data for a caller who may read `projects` (undefined: every project): two bounded store
 * reads (the failed/expired runs of the last days, and the newest runs), merged, and the plans in scope.
 */
export async function dashboardData(deps: DashboardDeps, projects: ReadonlySet<string> | undefined): Promise<DashboardData> {
  const now = deps.clock.now();
  const since = now - DASHBOARD_DAYS * 86_400_000;
  const scope = projects ? { projectIds: projects } : {};
  const [problems, recent] = await Promise.all([
    deps.store.listRuns({ limit: PROBLEM_RUNS, since, states: new Set(['FAILED', 'EXPIRED']), ...scope }),
    deps.store.listRuns({ limit: RECENT_RUNS, since, ...scope }),
  ]);
  const byId = new Map<string, RunRecord>();
  for (const r of [...problems.runs, ...recent.runs]) byId.set(r.runId, r);
  return {
    generatedAt: new Date(now).toISOString(),
    runs: orderRuns([...byId.values()].map((r) => dashboardRun(r, now))),
    plans: deps.plans.filter((p) => !projects || projects.has(p.projectId)).map((p) => dashboardPlan(p, now)),
  };
}
