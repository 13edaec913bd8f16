/**
 * The operator's commands of the `cbr-flow` CLI (main() in-process) against the real API edge: the
 * get-run handler behind the local HTTP API with its JWT authorizer (tokens of a local ES256 issuer),
 * the run store on dynalite. `list` (header, filters, paging past 100, the caller's projects only),
 * `--json` as the raw body, per-command help, and errors that name flags.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRunHandler } from '../../lib/pipeline/edge/get-run';
import { runActionsHandler } from '../../lib/pipeline/edge/run-actions';
import { startRun } from '../../lib/pipeline/start-run';
import { MemoryBus } from '../../lib/queue/memory';
import { DynamoRunStore } from '../../lib/store/dynamodb/store';
import { createRunsTable } from '../../lib/store/dynamodb/table';
import { mutateRun } from '../../lib/store/mutate';
import { terminate } from '../../lib/pipeline/common';
import { addEvent } from '../../lib/store/run';
import { ApiClient } from '../../local/cli/client';
import { watchRun } from '../../local/cli/watch';
import type { RunRecord, RunSource } from '../../lib/store/run';
import { DEFAULT_SETTINGS } from '../../lib/wiring/deps';
import { main, type Io } from '../../local/cli';
import { startHttpApi, type HttpApiServer } from '../../local/http-api';
import { gatewayClaims, loadOrCreateLocalIssuer, type LocalIssuer } from '../../local/jwt-issuer';
import { startLocalDynamo, type LocalServer } from '../../local/servers';
import type { JwtAuthorizerDef, RouteDef } from '../../local/template';
import { ManualClock } from '../unit/pipeline/fakes';
import { request } from '../unit/pipeline/world';

const A = '0605767b5780d5762fc5c0118072a564';
const B = '1b2c3d4e5f60718293a4b5c6d7e8f901';
const HOUR = 3_600_000;
const silent = () => undefined;

let dynamo: LocalServer;
let client: DynamoDBClient;
let api: HttpApiServer;
let issuer: LocalIssuer;
let dataDir: string;
let store: DynamoRunStore;
const seeded: RunRecord[] = [];

const authorizer: JwtAuthorizerDef = { logicalId: 'Auth', issuer: 'https://issuer.local', audience: ['cbr-flow'], identitySource: ['$request.header.Authorization'] };
const route = (method: string, path: string, fn = 'GetRun'): RouteDef => ({
  logicalId: `${method}${path}`, routeKey: `${method} ${path}`, method, path, functionLogicalId: fn, payloadVersion: '2.0', jwtAuthorizer: authorizer,
});
const bus = new MemoryBus();

async function cli(args: string[], projects: readonly string[] | '*' = '*'): Promise<{ code: number; out: string; err: string; lines: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => '' };
  const token = await issuer.mint({ sub: 'cli-ops-test', projects });
  const code = await main([...args, '--endpoint', api.url], { CBR_FLOW_TOKEN: token }, io);
  return { code, out: out.join('\n'), err: err.join('\n'), lines: out.join('\n').split('\n') };
}

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await createRunsTable(client, 'runs');
  // Runs created over the last 2 days: 120 of project A (every 10th FAILED, every 4th by plan "nightly"), 10 of project B.
  const now = Date.now();
  const clock = new ManualClock(now - 48 * HOUR);
  store = new DynamoRunStore(client, 'runs', { now: () => Date.now() });
  const deps = { store: new DynamoRunStore(client, 'runs', clock), bus: new MemoryBus(), clock, settings: { ...DEFAULT_SETTINGS, defaultRegion: 'ap-southeast-1' }, newToken: () => 'tok' };
  for (let i = 0; i < 130; i++) {
    const project = i < 120 ? A : B;
    const source: RunSource = i % 4 === 0 ? { kind: 'schedule', plan: 'nightly' } : { kind: 'http' };
    const { run } = await startRun(deps, { request: request({ projectId: project, shareWith: [] }), source });
    const final = i % 10 === 0
      ? (await mutateRun(deps.store, run.runId, (d) => ({ ...d, state: 'FAILED', reason: 'test failure', finishedAt: clock.now() }), { now: clock.now() })).run
      : run;
    seeded.push(final);
    clock.advance(Math.floor((47 * HOUR) / 130)); // the last one a little over an hour ago
  }
  dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-cli-ops-'));
  issuer = await loadOrCreateLocalIssuer(dataDir, { issuer: authorizer.issuer, audience: 'cbr-flow' });
  api = await serveApi(0);
}, 60_000);

/** The API on `port` (0: any): get-run and run-actions behind the JWT authorizer. */
async function serveApi(port: number): Promise<HttpApiServer> {
  const handler = getRunHandler(store, silent);
  const actions = runActionsHandler({ store, bus, clock: { now: () => Date.now() }, settings: { ...DEFAULT_SETTINGS, defaultRegion: 'ap-southeast-1' }, newToken: () => 'tok' }, { log: silent });
  return await startHttpApi({
    port, apiId: 'local', accountId: '000000000000', log: silent,
    routes: () => [route('GET', '/runs'), route('GET', '/runs/{id}'), route('POST', '/runs/{id}/cancel', 'RunActions'), route('POST', '/runs/{id}/retry', 'RunActions')],
    verifyJwt: async (a, token) => gatewayClaims(await issuer.verify(token, { issuer: a.issuer, audience: a.audience })),
    invoke: (fn, event: APIGatewayProxyEventV2) => (fn === 'RunActions' ? actions : handler)(event, {} as Context),
  });
}

afterAll(async () => {
  await api?.close();
  client?.destroy();
  await dynamo?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const idsOf = (lines: string[]) => lines.filter((l) => /^[0-9a-f-]{36} /.test(l)).map((l) => l.slice(0, 36));
const newestFirst = (runs: RunRecord[]) => [...runs].sort((x, y) => y.createdAt - x.createdAt).map((r) => r.runId);

describe('cbr-flow list', () => {
  it('prints a header, then runs newest first; pages past 100 until --limit', async () => {
    const r = await cli(['list', '--limit', '200']);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatch(/^RUN ID\s+STATE\s+STEP\s+CREATED \(UTC\)\s+PROJECT\s+PLAN$/);
    expect(idsOf(r.lines)).toEqual(newestFirst(seeded));
    expect(r.out).not.toContain('more:');
    const short = await cli(['list', '--limit', '3']);
    expect(idsOf(short.lines)).toEqual(newestFirst(seeded).slice(0, 3));
    // The next page continues exactly where the first stopped.
    const cursor = /--cursor (\S+)/.exec(short.out)?.[1];
    expect(cursor).toBeDefined();
    const next = await cli(['list', '--limit', '3', '--cursor', cursor!]);
    expect(idsOf(next.lines)).toEqual(newestFirst(seeded).slice(3, 6));
  });

  it('filters by state, project, plan and since (ISO or an age), all at once too', async () => {
    const failed = await cli(['list', '--state', 'failed', '--limit', '200']);
    expect(idsOf(failed.lines)).toEqual(newestFirst(seeded.filter((s) => s.state === 'FAILED')));
    expect(failed.lines.slice(1).every((l) => / FAILED /.test(l))).toBe(true);
    const ofB = await cli(['list', '--project', B, '--limit', '200']);
    expect(idsOf(ofB.lines)).toEqual(newestFirst(seeded.filter((s) => s.request.projectId === B)));
    const nightly = await cli(['list', '--plan', 'nightly', '--limit', '200']);
    expect(idsOf(nightly.lines)).toEqual(newestFirst(seeded.filter((s) => s.source.plan === 'nightly')));
    expect(nightly.lines.slice(1).every((l) => l.endsWith(' nightly'))).toBe(true);
    const since = Date.now() - 12 * HOUR;
    const recent = await cli(['list', '--since', '12h', '--limit', '200']);
    const expected = newestFirst(seeded.filter((s) => s.createdAt >= since));
    expect(idsOf(recent.lines).length).toBeGreaterThan(0);
    expect(idsOf(recent.lines).slice(0, expected.length - 1)).toEqual(expected.slice(0, expected.length - 1)); // a run may straddle the 12h line by the test's own ms
    const iso = await cli(['list', '--since', new Date(since).toISOString(), '--limit', '200']);
    expect(idsOf(iso.lines)).toEqual(expected);
    const all = await cli(['list', '--state', 'FAILED,COMPLETED', '--project', A, '--plan', 'nightly', '--since', '3d', '--limit', '200']);
    expect(idsOf(all.lines)).toEqual(newestFirst(seeded.filter((s) => s.state === 'FAILED' && s.request.projectId === A && s.source.plan === 'nightly')));
    expect((await cli(['list', '--plan', 'no-such-plan'])).out).toBe('no runs match');
  });

  it('shows only the projects of the caller\'s token', async () => {
    const r = await cli(['list', '--limit', '200'], [B]);
    expect(idsOf(r.lines)).toEqual(newestFirst(seeded.filter((s) => s.request.projectId === B)));
    expect((await cli(['list', '--project', A], [B])).out).toBe('no runs match');
  });

  it('refuses bad filters naming the flag (exit 2)', async () => {
    expect(await cli(['list', '--since', 'yesterday'])).toMatchObject({ code: 2, err: expect.stringContaining('--since: "yesterday" is neither an ISO date-time') });
    expect(await cli(['list', '--state', 'DONE'])).toMatchObject({ code: 2, err: expect.stringMatching(/refused \(HTTP 400\): ?\n  - --state: must be one or more of PENDING, RUNNING/) });
    expect(await cli(['list', '--project', 'xyz'])).toMatchObject({ code: 2, err: expect.stringContaining('--project: must be a 32-character lowercase hex project id') });
    expect(await cli(['list', '--cursor', 'bm9wZQ'])).toMatchObject({ code: 2, err: expect.stringContaining('--cursor: is not a cursor this API returned') });
  });
});

describe('cbr-flow --json and help', () => {
  it('--json prints the API\'s answer byte for byte (status, and list page by page)', async () => {
    const token = await issuer.mint({ sub: 'raw', projects: '*' });
    const run = seeded[5]!;
    const direct = await (await fetch(`${api.url}/runs/${run.runId}`, { headers: { authorization: `Bearer ${token}` } })).text();
    const status = await cli(['status', run.runId, '--json']);
    expect(status).toMatchObject({ code: 0, out: direct });
    const pages = await cli(['list', '--json', '--limit', '150']);
    expect(pages.lines).toHaveLength(2); // 100 + 50: one raw answer per page
    const [first, second] = pages.lines.map((l) => JSON.parse(l) as { runs: Array<{ runId: string }>; nextCursor?: string });
    expect(first!.runs).toHaveLength(100);
    expect(second!.runs).toHaveLength(30);
    const again = await (await fetch(`${api.url}/runs?limit=100`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(pages.lines[0]).toBe(again);
  });

  it('each command has its own help (exit 0); a flag of another command is refused naming it', async () => {
    const list = await cli(['list', '--help']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^Usage: cbr-flow list/);
    for (const flag of ['--state', '--project', '--plan', '--since', '--limit', '--cursor', '--json']) expect(list.out).toContain(flag);
    expect(list.out).not.toContain('--vault-size');
    const run = await cli(['help', 'run']);
    expect(run.out).toContain('--vault-size <GB>');
    expect(await cli(['list', '--vault', 'v'])).toMatchObject({ code: 2, err: expect.stringContaining('list does not take --vault; see `cbr-flow list --help`') });
  });

  it('run errors name the flags the user typed, with units, not JSON paths', async () => {
    const r = await cli(['run', '--project', A, '--vault', 'v', '--vault-size', '5', '--server', 'nope', '--window', '2', '--no-auth']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--vault-size "5" (GB): ');
    expect(r.err).toContain('--server "nope": must be a UUID');
    expect(r.err).toContain('--window "2" (minutes): ');
    expect(r.err).not.toContain('vault.billing.size');
    expect(await cli(['run', '--project', A, '--vault', 'v', '--vault-size', 'ten', '--server', 'x', '--no-auth'])).toMatchObject({ code: 2, err: expect.stringContaining('--vault-size: "ten" is not a positive integer (GB)') });
  });
});

describe('cbr-flow cancel and retry', () => {
  it('cancel stops a run (FAILED "cancelled by <token sub>"), again says so; retry starts one linked run, again the same one', async () => {
    const target = seeded.find((r) => r.state === 'PENDING' && r.request.projectId === A)!;
    const cancelled = await cli(['cancel', target.runId]);
    expect(cancelled).toMatchObject({ code: 0, out: `run ${target.runId} FAILED: cancelled by cli-ops-test` });
    expect(bus.sent.filter((m) => m.queue === 'events' && m.message.runId === target.runId)).toHaveLength(1); // announced
    expect(await cli(['cancel', target.runId])).toMatchObject({ code: 0, out: `run ${target.runId} was already cancelled (cancelled by cli-ops-test)` });

    const retried = await cli(['retry', target.runId]);
    expect(retried.code).toBe(0);
    const newId = /^run (\S+) retries run /.exec(retried.out)?.[1];
    expect(newId).toMatch(/^[0-9a-f-]{36}$/);
    expect(retried.out).toContain(`; status: ${api.url}/runs/${newId}`);
    expect(bus.sent.filter((m) => m.queue === 'vault' && m.message.runId === newId)).toHaveLength(1); // handed to create-vault
    expect(await cli(['retry', target.runId])).toMatchObject({ code: 0, out: expect.stringContaining(`run ${newId} already retries run ${target.runId}`) });
    const old = JSON.parse((await cli(['status', target.runId, '--json'])).out) as RunRecord;
    const fresh = JSON.parse((await cli(['status', newId!, '--json'])).out) as RunRecord;
    expect(old).toMatchObject({ state: 'FAILED', retriedBy: newId, lastError: { code: 'CANCELLED' } });
    expect(fresh).toMatchObject({ state: 'PENDING', retryOf: target.runId, request: old.request });
  });

  it('refuses what the state does not allow and runs outside the token\'s projects (exit 2, saying why)', async () => {
    const failed = seeded.find((r) => r.state === 'FAILED')!;
    expect(await cli(['cancel', failed.runId])).toMatchObject({ code: 2, err: expect.stringContaining(`cannot cancel run ${failed.runId}: run ${failed.runId} already ended FAILED (test failure); only a PENDING or RUNNING run can be cancelled`) });
    const pending = seeded.filter((r) => r.state === 'PENDING' && r.request.projectId === A)[1]!;
    expect(await cli(['retry', pending.runId])).toMatchObject({ code: 2, err: expect.stringContaining('is still PENDING; only a finished run can be retried') });
    expect(await cli(['cancel', pending.runId], [B])).toMatchObject({ code: 2, err: expect.stringContaining(`no run ${pending.runId}`) });
    expect((await store.get(pending.runId))!.state).toBe('PENDING');
    const raw = await cli(['retry', failed.runId, '--json']);
    expect(JSON.parse(raw.out)).toMatchObject({ retryOf: failed.runId, created: true });
    expect(await cli(['cancel', '--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: cbr-flow cancel <runId>/) });
  });
});

describe('cbr-flow watch', () => {
  it('survives the API going away: says so once, says when it is back, and its total is its last line', async () => {
    const target = seeded.filter((r) => r.state === 'PENDING' && r.request.projectId === A)[5]!;
    const port = Number(new URL(api.url).port);
    const watching = cli(['watch', target.runId, '--interval', '0.05', '--reconnect', '10']);
    await new Promise((r) => setTimeout(r, 300));
    await api.close(); // the API goes away...
    await new Promise((r) => setTimeout(r, 600));
    api = await serveApi(port); // ...and comes back
    const now = Date.now();
    await mutateRun(store, target.runId, (d) => {
      addEvent(d, now, 'create-vault', 'vault-created', 'test vault');
      terminate(d, 'COMPLETED', 'all backups available', now + 500, { ...DEFAULT_SETTINGS });
      return d;
    }, { now });
    const r = await watching;
    expect(r.code).toBe(0);
    expect(r.out.match(/lost contact with the API/g)).toHaveLength(1);
    expect(r.out).toMatch(/reconnected to http:\/\/127\.0\.0\.1:\d+ after \d+\.\ds/);
    expect(r.out).toContain('vault-created  test vault');
    const last = r.lines.at(-1)!;
    const total = /^run \S+ COMPLETED in (\d+\.\d)s$/.exec(last)?.[1];
    expect(total).toBeDefined();
    expect(r.lines.at(-2)).toBe(`[+${`${total}s`.padStart(6)}] state COMPLETED (step done)`);
  });

  it('while nothing happens, says how long it has been; events past the 200-entry timeline cap are still shown', async () => {
    const target = seeded.filter((r) => r.state === 'PENDING' && r.request.projectId === A)[6]!;
    const token = await issuer.mint({ sub: 'watch', projects: '*' });
    const client = new ApiClient(api.url, { bearerToken: token });
    const lines: string[] = [];
    const watching = watchRun(client, target.runId, { intervalMs: 50, quietMs: 250, onEvent: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 700));
    // 250 progress events: the stored timeline keeps 200, the newest ones included.
    const now = Date.now();
    await mutateRun(store, target.runId, (d) => {
      for (let i = 0; i < 250; i++) addEvent(d, now + i, 'check-status', 'progress', `poll ${i}`);
      return d;
    }, { now });
    await new Promise((r) => setTimeout(r, 200));
    await mutateRun(store, target.runId, (d) => {
      addEvent(d, Date.now(), 'check-status', 'backup-available', 'the last one');
      terminate(d, 'COMPLETED', 'done', Date.now(), { ...DEFAULT_SETTINGS });
      return d;
    }, { now: Date.now() });
    const run = await watching;
    expect(run.state).toBe('COMPLETED');
    expect(lines.filter((l) => /… still PENDING \(step create-vault\), waiting$/.test(l)).length).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.includes('poll 249'))).toBe(true);
    expect(lines.some((l) => l.includes('backup-available  the last one'))).toBe(true);
  });
});
