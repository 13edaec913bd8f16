// The dashboard's data (lib/dashboard/view.ts) and its two routes on the coverage function's edge: the static
// page without a token, the data only with one and only of the token's projects.
import { describe, expect, it } from 'vitest';
import { coverageHandler } from '../../../lib/coverage/edge';
import type { CoveragePlan } from '../../../lib/coverage/plans';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from '../../../lib/dashboard/page';
import { dashboardData, dashboardPlan, orderRuns, stepSpans, type DashboardDeps } from '../../../lib/dashboard/view';
import type { RunQuery } from '../../../lib/ports';
import type { RunRecord } from '../../../lib/store/run';
import { makeContext, makeHttpEvent } from '../../helpers/factories';

const P = '0605767b5780d5762fc5c0118072a564';
const Q = '5d1e4b7a9c0f42e8b3a6d9c2e5f8a1b4';
const T0 = Date.parse('2026-12-05T10:00:00Z');

function run(id: string, over: Partial<RunRecord> & { projectId?: string } = {}): RunRecord {
  const { projectId = P, ...rest } = over;
  return {
    runId: id, version: 1, state: 'COMPLETED', step: 'done', createdAt: T0, updatedAt: T0 + 20_000, deadlineAt: T0 + 3_600_000, finishedAt: T0 + 20_000,
    request: { projectId, region: 'ap-southeast-1', vault: { mode: 'reuse', name: 'v' }, resources: [{ id: 'r1', type: 'OS::Nova::Server' }] },
    source: { kind: 'http' }, checks: 0, boundResourceIds: [], checkpoints: [], pendingResources: [], failedResources: [], shares: [], notShareable: [], attempts: {},
    timeline: [
      { at: T0, step: 'create-vault', event: 'requested' },
      { at: T0 + 1_000, step: 'create-vault', event: 'vault-created' },
      { at: T0 + 2_000, step: 'add-resources', event: 'resources-bound' },
      { at: T0 + 3_000, step: 'start-checkpoint', event: 'checkpoint-started' },
      { at: T0 + 15_000, step: 'check-status', event: 'available' },
      { at: T0 + 18_000, step: 'share-backup', event: 'shared' },
      { at: T0 + 20_000, step: 'done', event: 'completed' },
    ],
    ...rest,
  } as RunRecord;
}

/** A store answering listRuns like the real ones: filtered by project and state, newest first. */
function deps(runs: RunRecord[], plans: CoveragePlan[] = [], queries: RunQuery[] = []): DashboardDeps {
  return {
    clock: { now: () => T0 + 60_000 },
    plans,
    store: {
      listRuns: async (q) => {
        queries.push(q);
        const hits = runs
          .filter((r) => (!q.projectIds || q.projectIds.has(r.request.projectId)) && (!q.states || q.states.has(r.state)) && (q.since === undefined || r.createdAt >= q.since))
          .sort((a, b) => b.createdAt - a.createdAt);
        return { runs: hits.slice(0, q.limit) };
      },
    },
  };
}

const plan = (over: Partial<CoveragePlan> = {}): CoveragePlan => ({
  name: 'nightly', projectId: P, region: 'ap-southeast-1', resourceIds: ['a', 'b'], rpoHours: 28, shareWith: [], stages: ['local'],
  cron: '0 2 * * *', timezone: 'Asia/Shanghai', enabled: true, ...over,
});

describe('a run\'s timeline as spans', () => {
  it('gives each step the time from its first event to the next step\'s, the last one to the run\'s end; done is no span', () => {
    expect(stepSpans(run('a'), T0 + 99_000)).toEqual([
      { step: 'create-vault', startMs: 0, endMs: 2_000 },
      { step: 'add-resources', startMs: 2_000, endMs: 3_000 },
      { step: 'start-checkpoint', startMs: 3_000, endMs: 15_000 },
      { step: 'check-status', startMs: 15_000, endMs: 18_000 },
      { step: 'share-backup', startMs: 18_000, endMs: 20_000 },
    ]);
  });

  it('runs the current step of a run in flight up to now', () => {
    const r = run('b', { state: 'RUNNING', step: 'check-status', finishedAt: undefined, timeline: run('b').timeline.slice(0, 5) });
    expect(stepSpans(r, T0 + 40_000).at(-1)).toEqual({ step: 'check-status', startMs: 15_000, endMs: 40_000 });
  });
});

describe('dashboard data', () => {
  it('lists failed and expired runs first, then partial, then the rest, newest first within each', async () => {
    const runs = [
      run('old-failed', { state: 'FAILED', createdAt: T0 - 5_000, reason: 'boom' }),
      run('new-ok', { createdAt: T0 + 5_000 }),
      run('partial', { state: 'PARTIAL', createdAt: T0 + 6_000 }),
      run('expired', { state: 'EXPIRED', createdAt: T0 - 1_000 }),
      run('running', { state: 'RUNNING', step: 'check-status', finishedAt: undefined, createdAt: T0 + 7_000 }),
    ];
    const d = await dashboardData(deps(runs), undefined);
    expect(d.runs.map((r) => r.runId)).toEqual(['expired', 'old-failed', 'partial', 'running', 'new-ok']);
    expect(d.runs.find((r) => r.runId === 'old-failed')).toMatchObject({ state: 'FAILED', reason: 'boom', durationMs: 25_000, vaultName: 'v', resources: 1 });
    // A run in flight lasts until now.
    expect(d.runs.find((r) => r.runId === 'running')!.durationMs).toBe(60_000 - 7_000);
    expect(orderRuns([])).toEqual([]);
  });

  it('reads only the token\'s projects, within the last 7 days, in two bounded reads; plans of other projects are left out', async () => {
    const queries: RunQuery[] = [];
    const d = await dashboardData(deps([run('mine'), run('theirs', { projectId: Q })], [plan(), plan({ name: 'other', projectId: Q })], queries), new Set([P]));
    expect(d.runs.map((r) => r.runId)).toEqual(['mine']);
    expect(d.plans.map((p) => p.name)).toEqual(['nightly']);
    expect(queries).toHaveLength(2);
    for (const q of queries) expect(q).toMatchObject({ projectIds: new Set([P]), since: T0 + 60_000 - 7 * 86_400_000, limit: expect.any(Number) });
    expect(queries.map((q) => q.states && [...q.states])).toContainEqual(['FAILED', 'EXPIRED']);
  });

  it('gives a plan its next firings in its time zone and in UTC, across a DST change', () => {
    expect(dashboardPlan(plan(), T0).next).toEqual([
      { at: '2026-12-05T18:00:00.000Z', local: '2026-12-06 02:00', utc: '2026-12-05 18:00' },
      { at: '2026-12-06T18:00:00.000Z', local: '2026-12-07 02:00', utc: '2026-12-06 18:00' },
      { at: '2026-12-07T18:00:00.000Z', local: '2026-12-08 02:00', utc: '2026-12-07 18:00' },
    ]);
    // Berlin, Sundays 03:30: 02:30 UTC in winter; from the last Sunday of March (summer time) 01:30 UTC.
    const berlin = dashboardPlan(plan({ cron: '30 3 * * 0', timezone: 'Europe/Berlin' }), Date.parse('2027-03-20T00:00:00Z')).next;
    expect(berlin.map((n) => `${n.local} = ${n.utc}`)).toEqual(['2027-03-21 03:30 = 2027-03-21 02:30', '2027-03-28 03:30 = 2027-03-28 01:30', '2027-04-04 03:30 = 2027-04-04 01:30']);
    expect(dashboardPlan(plan({ enabled: false, select: { type: 'server', all: true } }), T0)).toMatchObject({ enabled: false, resources: 'selected at each firing' });
    // An entry written before the plans carried their schedule: listed, without firings.
    expect(dashboardPlan(plan({ cron: undefined, timezone: undefined }), T0)).toMatchObject({ next: [], enabled: true });
  });
});

describe('the dashboard routes of the coverage function', () => {
  const handler = coverageHandler(
    { cbr: () => { throw new Error('no CBR call expected'); }, store: { listRuns: async () => ({ runs: [] }) }, clock: { now: () => T0 }, plans: [], defaultRpoHours: 24 },
    { targets: [], stage: 'local', dashboard: deps([run('mine'), run('theirs', { projectId: Q })]) },
  );

  it('GET / is the static page with its CSP, the same for everyone, with no claims needed and no data in it', async () => {
    const res = (await handler(makeHttpEvent({ method: 'GET', path: '/' }), makeContext())) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(res).toEqual({ statusCode: 200, headers: DASHBOARD_HEADERS, body: DASHBOARD_HTML });
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'; connect-src 'self'/);
    expect(res.body).not.toContain(P);
    expect(res.body).not.toMatch(/innerHTML|eval\(/);
  });

  it('GET /dashboard/data needs the authorizer\'s claims (401) and answers only the token\'s projects', async () => {
    const bare = (await handler(makeHttpEvent({ method: 'GET', path: '/dashboard/data' }), makeContext())) as { statusCode: number };
    expect(bare.statusCode).toBe(401);
    const res = (await handler(makeHttpEvent({ method: 'GET', path: '/dashboard/data', claims: { cbr_projects: `[${Q}]` } }), makeContext())) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).runs.map((r: { runId: string }) => r.runId)).toEqual(['theirs']);
  });
});
