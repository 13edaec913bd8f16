/**
 * The freshness gate (issue 16 item 3) end to end: the coverage function's handler behind the local HTTP
 * API with its JWT authorizer (POST /gates/fresh-backup, and get-run's GET /runs/{id} for --wait), over
 * the pipeline harness (the emulator over HTTP on the virtual clock, dynalite, local SQS), driven by raw
 * HTTP and by `cbr-flow ensure-fresh`.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { coverageHandler } from '../../lib/coverage/edge';
import { getRunHandler } from '../../lib/pipeline/edge/get-run';
import { main, type Io } from '../../local/cli';
import { startHttpApi, type HttpApiServer } from '../../local/http-api';
import { gatewayClaims, loadOrCreateLocalIssuer, type LocalIssuer } from '../../local/jwt-issuer';
import type { JwtAuthorizerDef, RouteDef } from '../../local/template';
import { startHarness, type Harness } from '../helpers/pipeline-harness';

const [web1, web2, db] = DEMO.servers;
const silent = () => undefined;
const authorizer: JwtAuthorizerDef = { logicalId: 'Auth', issuer: 'https://issuer.local', audience: ['cbr-flow'], identitySource: ['$request.header.Authorization'] };
const routes: RouteDef[] = [
  { logicalId: 'Gate', routeKey: 'POST /gates/fresh-backup', method: 'POST', path: '/gates/fresh-backup', functionLogicalId: 'Coverage', payloadVersion: '2.0', jwtAuthorizer: authorizer },
  { logicalId: 'GetRun', routeKey: 'GET /runs/{id}', method: 'GET', path: '/runs/{id}', functionLogicalId: 'GetRun', payloadVersion: '2.0', jwtAuthorizer: authorizer },
];

let h: Harness;
let api: HttpApiServer;
let issuer: LocalIssuer;
let dataDir: string;

const vaultCreate = { mode: 'create', name: 'gate_vault', billing: { chargingMode: 'post_paid', size: 2000 } };
const gateBody = (ids: string[], extra: Record<string, unknown> = {}) => ({
  projectId: DEMO.projectId, region: DEMO.region, resources: ids.map((id) => ({ id, type: 'OS::Nova::Server' })), maxAgeMinutes: 30, ...extra,
});

async function post(body: unknown, projects: readonly string[] | '*' = '*'): Promise<{ status: number; json: Record<string, any>; location: string | null }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- an HTTP answer
  const token = await issuer.mint({ sub: 'gate-test', projects });
  const res = await fetch(`${api.url}/gates/fresh-backup`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any>, location: res.headers.get('location') }; // eslint-disable-line @typescript-eslint/no-explicit-any -- an HTTP answer
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => '' };
  const token = await issuer.mint({ sub: 'gate-test', projects: [DEMO.projectId] });
  const code = await main([...args, '--endpoint', api.url], { CBR_FLOW_TOKEN: token }, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const runCount = async () => (await h.store.listRecent(100)).length;

beforeAll(async () => {
  h = await startHarness();
  const gate = coverageHandler({ cbr: h.deps.cbr, store: h.store, clock: h.clock, plans: [], defaultRpoHours: 24 }, {
    targets: [], stage: 'test', log: silent, gate: { cbr: h.deps.cbr, intake: h.deps },
  });
  const getRun = getRunHandler(h.store, silent);
  dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-gate-'));
  issuer = await loadOrCreateLocalIssuer(dataDir, { issuer: authorizer.issuer, audience: 'cbr-flow' });
  api = await startHttpApi({
    port: 0, apiId: 'local', accountId: '000000000000', log: silent,
    routes: () => routes,
    verifyJwt: async (a, token) => gatewayClaims(await issuer.verify(token, { issuer: a.issuer, audience: a.audience })),
    invoke: (fn, event: APIGatewayProxyEventV2) => (fn === 'GetRun' ? getRun(event, {} as Context) : gate(event, {} as Context)),
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await h?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('POST /gates/fresh-backup and cbr-flow ensure-fresh', () => {
  it('refuses bad input naming the field, and a project outside the token', async () => {
    const noAge = await post(gateBody([web1.id], { maxAgeMinutes: undefined }));
    expect(noAge.status).toBe(400);
    expect(JSON.stringify(noAge.json)).toContain('maxAgeMinutes');
    // Stale (web1 has no backup yet) and no vault to run into: 400 naming vault, and no run.
    const noVault = await post(gateBody([web1.id]));
    expect(noVault.status).toBe(400);
    expect(JSON.stringify(noVault.json)).toMatch(/vault.*required when a backup is stale/);
    expect(await runCount()).toBe(0);
    const other = await post(gateBody([web1.id], { vault: vaultCreate }), [DEMO.other.projectId]);
    expect(other.status).toBe(403);
    const flags = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', web1.id]);
    expect(flags.code).toBe(2);
    expect(flags.err).toContain('--max-age is required');
    const badAge = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', web1.id, '--max-age', 'soon']);
    expect(badAge.code).toBe(2);
    expect(badAge.err).toContain('--max-age: "soon"');
  });

  it('stale: 202 with a status URL and a run; two concurrent calls join one run; ensure-fresh without --wait exits 1 naming it', async () => {
    const [a, b] = await Promise.all([post(gateBody([web1.id, web2.id], { vault: vaultCreate })), post(gateBody([web2.id, web1.id], { vault: vaultCreate }))]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.json.runId).toBe(b.json.runId);
    expect([a.json.created, b.json.created].sort()).toEqual([false, true]);
    expect(a.json.statusUrl).toMatch(new RegExp(`/runs/${a.json.runId}$`));
    expect(a.location).toBe(a.json.statusUrl);
    expect(a.json.resources).toEqual([{ id: web1.id, fresh: false }, { id: web2.id, fresh: false }]);
    expect(await runCount()).toBe(1);

    const cliStale = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', web1.id, '--server', web2.id, '--max-age', '30m', '--vault', 'gate_vault']);
    expect(cliStale.code).toBe(1);
    expect(cliStale.out).toContain(`run ${a.json.runId} already under way, joined`);
    expect(cliStale.err).toContain('add --wait');
    expect(await runCount()).toBe(1);
  });

  it('ensure-fresh --wait follows the run to COMPLETED and exits 0; then the gate answers 200 at once with the ages and starts nothing', async () => {
    const waiting = cli(['ensure-fresh', '--project', DEMO.projectId, '--server', web1.id, '--server', web2.id, '--max-age', '30m', '--vault', 'gate_vault', '--wait', '--interval', '0.05']);
    const [runId] = (await h.store.listRecent(1)).map((r) => r.runId);
    await h.drive({ runIds: [runId!] });
    const r = await waiting;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`run ${runId} COMPLETED`));

    const before = await runCount();
    const started = Date.now();
    const fresh = await post(gateBody([web1.id, web2.id]));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fresh.status).toBe(200);
    expect(fresh.json.fresh).toBe(true);
    expect(fresh.json.runId).toBeUndefined();
    for (const res of fresh.json.resources as Array<{ fresh: boolean; backupId: string; ageMinutes: number }>) {
      expect(res.fresh).toBe(true);
      expect(res.backupId).toEqual(expect.any(String));
      expect(res.ageMinutes).toBeLessThan(30);
    }
    expect(await runCount()).toBe(before);

    const cliFresh = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', web1.id, '--max-age', '30m']);
    expect(cliFresh.code, cliFresh.err).toBe(0);
    expect(cliFresh.out).toMatch(new RegExp(`^fresh  ${web1.id}  backup \\S+ \\d+m old`, 'm'));
    expect(cliFresh.out).toContain('fresh: every resource has an available backup younger than 30m');
    const hours = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', web2.id, '--max-age', '2h']);
    expect(hours.code, hours.err).toBe(0);
    expect(hours.out).toContain('younger than 2h00m');
    expect(await runCount()).toBe(before);

    // Stale, and the run it starts cannot succeed (no such vault): --wait exits 1 with the run's reason.
    const failing = cli(['ensure-fresh', '--project', DEMO.projectId, '--server', db.id, '--max-age', '30m', '--vault', 'no_such_vault', '--wait', '--interval', '0.05']);
    let failingId: string | undefined;
    for (let i = 0; i < 200 && !failingId; i++) {
      failingId = (await h.store.listRecent(10)).find((x) => x.request.resources.some((res) => res.id === db.id))?.runId;
      if (!failingId) await new Promise((r) => setTimeout(r, 25));
    }
    await h.drive({ runIds: [failingId!] });
    const failed = await failing;
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(new RegExp(`run ${failingId} FAILED.*no_such_vault`));

    // Hours later the same backups are stale again: a new bucket, a new run.
    h.clock.advance(3 * 3_600_000);
    const later = await post(gateBody([web1.id, web2.id], { vault: { mode: 'reuse', name: 'gate_vault' } }));
    expect(later.status).toBe(202);
    expect(later.json.runId).not.toBe(runId);
    expect((later.json.resources as Array<{ ageMinutes: number }>)[0]!.ageMinutes).toBeGreaterThanOrEqual(180);
  });
});
