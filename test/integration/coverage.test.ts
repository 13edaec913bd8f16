/**
 * Coverage (issue 16 item 1) end to end: a real run through the pipeline harness (the emulator over
 * HTTP, dynalite, local SQS), then the coverage function's handler behind the local HTTP API with its
 * JWT authorizer, read by `cbr-flow coverage` (table and --json) and by its hourly trigger (EMF lines).
 * Two projects of the demo account in two regions; a plan names a server that is in no vault.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import type { CoveragePlan } from '../../lib/coverage/plans';
import { coverageHandler } from '../../lib/coverage/edge';
import type { CoverageDeps } from '../../lib/coverage/coverage';
import { main, type Io } from '../../local/cli';
import { startHttpApi, type HttpApiServer } from '../../local/http-api';
import { gatewayClaims, loadOrCreateLocalIssuer, type LocalIssuer } from '../../local/jwt-issuer';
import type { JwtAuthorizerDef, RouteDef } from '../../local/template';
import { runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const HOUR = 3_600_000;
const OWNER = { projectId: DEMO.projectId, region: DEMO.region };
const OTHER = { projectId: DEMO.other.projectId, region: DEMO.other.region };
const [web1, web2, db, app] = DEMO.servers;
const silent = () => undefined;

const plans: CoveragePlan[] = [
  // Names web1 (backed up below) and db (in no vault): a 24 h RPO and a share with the peer project.
  { name: 'nightly', projectId: DEMO.projectId, region: DEMO.region, resourceIds: [web1.id, db.id], rpoHours: 24, shareWith: [DEMO.peerProjectId], stages: ['test'] },
];

let h: Harness;
let api: HttpApiServer;
let issuer: LocalIssuer;
let dataDir: string;
const emf: string[] = [];
let scheduled: ReturnType<typeof coverageHandler>;

const authorizer: JwtAuthorizerDef = { logicalId: 'Auth', issuer: 'https://issuer.local', audience: ['cbr-flow'], identitySource: ['$request.header.Authorization'] };
const route: RouteDef = { logicalId: 'GetCoverage', routeKey: 'GET /coverage', method: 'GET', path: '/coverage', functionLogicalId: 'Coverage', payloadVersion: '2.0', jwtAuthorizer: authorizer };

async function cli(args: string[], projects: readonly string[] | '*' = '*'): Promise<{ code: number; out: string; err: string; lines: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => '' };
  const token = await issuer.mint({ sub: 'coverage-test', projects });
  const code = await main([...args, '--endpoint', api.url], { CBR_FLOW_TOKEN: token }, io);
  return { code, out: out.join('\n'), err: err.join('\n'), lines: out.join('\n').split('\n') };
}

/** The status column of the line naming `id`. */
function statusOf(lines: string[], id: string): string | undefined {
  return lines.find((l) => l.includes(id))?.split(/\s+/)[0];
}

beforeAll(async () => {
  h = await startHarness();
  // web1 and web2 into one vault, shared with the peer project (accepted by the pipeline).
  const started = await h.startRun(runBody('cov_vault', [web1.id, web2.id]));
  await h.drive({ runIds: [started.runId!] });
  expect((await h.run(started.runId!)).state).toBe('COMPLETED');

  const deps: CoverageDeps = { cbr: h.deps.cbr, store: h.store, clock: h.clock, plans, defaultRpoHours: 48 };
  scheduled = coverageHandler(deps, { targets: [OWNER, OTHER], stage: 'test', log: silent, write: (l) => emf.push(l) });
  dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-coverage-'));
  issuer = await loadOrCreateLocalIssuer(dataDir, { issuer: authorizer.issuer, audience: 'cbr-flow' });
  api = await startHttpApi({
    port: 0, apiId: 'local', accountId: '000000000000', log: silent,
    routes: () => [route],
    verifyJwt: async (a, token) => gatewayClaims(await issuer.verify(token, { issuer: a.issuer, audience: a.audience })),
    invoke: (_fn, event: APIGatewayProxyEventV2) => scheduled(event, {} as Context),
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await h?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('cbr-flow coverage', () => {
  it('lists every server and loose disk of both projects with its status, worst first, under a header', async () => {
    const r = await cli(['coverage']);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toMatch(new RegExp(`^project ${DEMO.projectId} \\(ap-southeast-1\\): 7 resources: 2 protected, 4 unprotected, 0 stale, 0 share missing, 0 missing, 1 deleted`));
    expect(r.lines[1]).toMatch(/^STATUS\s+TYPE\s+ID\s+NAME\s+VAULT\s+LAST BACKUP \(UTC\)\s+RPO\s+REASON$/);
    expect(statusOf(r.lines, web1.id)).toBe('protected');
    expect(statusOf(r.lines, web2.id)).toBe('protected');
    expect(r.lines.find((l) => l.includes(web1.id))).toMatch(/cov_vault .* 24h\s+\(plans: nightly\)$/);
    expect(statusOf(r.lines, db.id)).toBe('unprotected');
    expect(r.lines.find((l) => l.includes(db.id))).toContain('in no vault (plans: nightly)');
    expect(statusOf(r.lines, app.id)).toBe('unprotected');
    for (const v of DEMO.volumes) expect(statusOf(r.lines, v.id)).toBe('unprotected');
    expect(statusOf(r.lines, DEMO.deletedServers[0].id)).toBe('deleted');
    // A server's own disks are covered by its backup: not listed on their own.
    for (const d of web2.disks) expect(r.out).not.toContain(d.id);
    // Worst first: the unprotected lines come before the protected ones.
    const order = r.lines.slice(2, 9).map((l) => l.split(/\s+/)[0]);
    expect(order).toEqual(['unprotected', 'unprotected', 'unprotected', 'unprotected', 'protected', 'protected', 'deleted']);
    // The second project, another region.
    expect(r.out).toContain(`project ${DEMO.other.projectId} (ap-southeast-3): 1 resources: 0 protected, 1 unprotected`);
    expect(statusOf(r.lines, DEMO.other.servers[0].id)).toBe('unprotected');
  });

  it('--json prints the answer as it came; --status filters resources; the token\'s projects only', async () => {
    const raw = await cli(['coverage', '--json']);
    const body = JSON.parse(raw.out) as { projects: Array<{ projectId: string; resources: Array<{ id: string; status: string; tags: Record<string, string>; lastRunId?: string }> }> };
    expect(body.projects.map((p) => p.projectId)).toEqual([DEMO.projectId, DEMO.other.projectId]);
    const w = body.projects[0]!.resources.find((x) => x.id === web1.id)!;
    expect(w).toMatchObject({ status: 'protected', tags: { env: 'prod', tier: 'web' }, lastRunId: expect.any(String) });

    const onlyStale = await cli(['coverage', '--status', 'unprotected', '--project', DEMO.projectId]);
    expect(onlyStale.lines.slice(2).every((l) => l.startsWith('unprotected'))).toBe(true);
    expect(onlyStale.lines.slice(2)).toHaveLength(4);
    expect(onlyStale.out).not.toContain(DEMO.other.projectId);

    const scoped = await cli(['coverage'], [DEMO.other.projectId]);
    expect(scoped.out).toContain(DEMO.other.projectId);
    expect(scoped.out).not.toContain(`project ${DEMO.projectId}`);

    const bad = await cli(['coverage', '--status', 'fine']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--status.*must be one or more of deleted, missing, unprotected, stale, share-missing, protected/);
  });

  it('plans preview: the next firings in the plan\'s zone and UTC, and what its select picks now from the API\'s listing', async () => {
    const file = join(dataDir, 'plans.yml');
    writeFileSync(file, [
      'plans:',
      '  - name: prod-web',
      '    cron: "0 1 * * *"',
      '    timezone: Europe/Berlin',
      '    request:',
      `      projectId: ${DEMO.projectId}`,
      '      region: ap-southeast-1',
      '      vault: { mode: reuse, name: cov_vault }',
      '      select: { tags: [env=prod], exclude: { names: ["ecs-db-*"] } }',
      '  - name: listed',
      '    cron: "0 1 * * *"',
      '    timezone: Asia/Shanghai',
      '    request:',
      `      projectId: ${DEMO.projectId}`,
      '      vault: { mode: reuse, name: cov_vault }',
      `      resources: [{ id: ${app.id}, type: "OS::Nova::Server" }]`,
    ].join('\n'));
    const r = await cli(['plans', 'preview', 'prod-web', '--plans-file', file, '--firings', '2']);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toBe(`plan prod-web: cron "0 1 * * *" in Europe/Berlin; project ${DEMO.projectId} (ap-southeast-1); vault cov_vault; RPO target 29 h`); // 25 h across the autumn clock change + 4 h window
    const firings = r.lines.filter((l) => l.includes('Europe/Berlin  ='));
    expect(firings).toHaveLength(2);
    // 01:00 in Berlin in December is 00:00 UTC.
    for (const f of firings) expect(f).toMatch(/^  \d{4}-\d{2}-\d{2} 01:00 Europe\/Berlin  =  \d{4}-\d{2}-\d{2} 00:00 UTC$/);
    expect(r.out).toContain('would back up now (select servers tagged env=prod, except name ecs-db-*): 2 of 4 server(s)');
    expect(r.out).toContain(web1.id);
    expect(r.out).toContain(web2.id);
    expect(r.out).not.toContain(db.id);
    const listed = await cli(['plans', 'preview', 'listed', '--plans-file', file]);
    expect(listed.out).toContain(`would back up (listed in the plan): 1\n  ${app.id}  OS::Nova::Server`);
    const unknown = await cli(['plans', 'preview', 'nope', '--plans-file', file]);
    expect(unknown).toMatchObject({ code: 2, err: expect.stringContaining('no plan named "nope"') });
  });

  it('a day later the plan\'s 24 h RPO has passed for web1 (stale), web2 keeps the 48 h default; hourly metrics per project', async () => {
    h.clock.advance(25 * HOUR);
    const r = await cli(['coverage', '--project', DEMO.projectId]);
    expect(statusOf(r.lines, web1.id)).toBe('stale');
    expect(r.lines.find((l) => l.includes(web1.id))).toMatch(/the newest available backup is 25 h old; RPO target 24 h/);
    expect(statusOf(r.lines, web2.id)).toBe('protected');

    emf.length = 0;
    await scheduled({ source: 'cbr-flow.coverage' } as never, {} as Context);
    const lines = emf.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> } });
    expect(lines.map((l) => [l.ProjectId, l.ResourcesUnprotected, l.ResourcesStale])).toEqual([[DEMO.projectId, 4, 1], [DEMO.other.projectId, 1, 0]]);
    expect(lines[0]!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'cbr-flow', Dimensions: [['Stage'], ['Stage', 'ProjectId']] });
    expect(lines[0]!.Stage).toBe('test');
  });
});
