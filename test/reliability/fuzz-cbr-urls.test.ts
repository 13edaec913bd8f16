/**
 * Issue 6 item 6 — ids that try path traversal, URL injection or oversized strings never reach a CBR URL.
 *
 * 1. The real lib/cbr client, fuzzed directly: every method that puts an id into the path (and every
 *    query id filter) refuses any string that is not a UUID / 32-hex with a CbrValidationError naming
 *    the parameter, and sends nothing; a well-formed id is sent as exactly one path segment.
 * 2. The step use-cases with the real client over a recording transport (forwarding to the emulator on
 *    loopback): snapshots of a real run at every step, with one id replaced EVERYWHERE in the stored
 *    run and the message by a hostile one (as if the store had been corrupted or a producer bypassed
 *    the contracts). Every request that goes out has a path made only of the expected segments and
 *    ids, a query made only of encoded pairs with well-formed id filters, and the right origin.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../emulator/index';
import { createCbrClient, type CbrClient } from '../../lib/cbr/client';
import { CbrValidationError } from '../../lib/cbr/errors';
import type { HttpRequest, HttpResponse, Transport } from '../../lib/cbr/transport';
import { undiciTransport } from '../../lib/cbr/transport';
import type { Message } from '../../lib/contracts';
import { addResources } from '../../lib/pipeline/add-resources';
import { checkStatus } from '../../lib/pipeline/check-status';
import { createVault } from '../../lib/pipeline/create-vault';
import { DEFAULT_SETTINGS, type PipelineDeps } from '../../lib/wiring/deps';
import { shareBackups } from '../../lib/pipeline/share-backup';
import { startCheckpoint } from '../../lib/pipeline/start-checkpoint';
import { startRun } from '../../lib/pipeline/start-run';
import type { CbrApi, Clock } from '../../lib/ports';
import { MemoryBus } from '../../lib/queue/memory';
import { MemoryRunStore } from '../../lib/store/memory';
import type { RunRecord } from '../../lib/store/run';
import { hex32, hostileId, isWellFormedId, runs, uuid, watchProcess } from '../helpers/arbitraries';

const counts: Record<string, number> = {};
const count = (target: string) => (counts[target] = (counts[target] ?? 0) + 1);
const started = Date.now();
let watch: ReturnType<typeof watchProcess>;

const ID = '(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})';
/** Every path lib/cbr may send (cbr-api.md §2-§6), ids in their places. */
const CBR_PATH = new RegExp(
  `^/v3/[0-9a-f]{32}/(?:vaults(?:/${ID}(?:/(?:addresources|removeresources))?)?|checkpoints(?:/${ID})?|backups(?:/${ID}(?:/members(?:/${ID})?)?)?|operation-logs(?:/${ID})?|protectables/(?:server|disk|turbo|workspace|workspace_v2)/instances(?:/${ID})?)$`,
);
const QUERY_PAIR = /^[A-Za-z0-9_.~-]+=(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})*$/;
const ID_PARAMS = new Set(['id', 'vault_id', 'checkpoint_id', 'dest_project_id', 'resource_id', 'parent_id', 'image_type_id', 'member_id', 'project_id']);

/** Asserts one request could only ever address what it should: origin, path grammar, query grammar. */
function expectSafeRequest(req: HttpRequest, origin: string): void {
  expect(req.origin).toBe(origin);
  const [path, query = ''] = req.path.split('?') as [string, string?];
  expect(path, `path ${JSON.stringify(path)}`).toMatch(CBR_PATH);
  if (query === '') return;
  for (const pair of query.split('&')) {
    expect(pair, `query pair ${JSON.stringify(pair)}`).toMatch(QUERY_PAIR);
    const [key, value] = pair.split('=') as [string, string];
    if (ID_PARAMS.has(key)) expect(isWellFormedId(decodeURIComponent(value)), `${key}=${value}`).toBe(true);
  }
}

beforeAll(() => {
  watch = watchProcess();
});
afterAll(() => {
  watch.stop();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`[fuzz-cbr-urls] ${JSON.stringify(counts)} total=${total} in ${Date.now() - started} ms`);
});

// ------------------------------------------------------------------------------------------------
describe('lib/cbr client: path ids are validated before anything is sent', () => {
  const ORIGIN = 'http://127.0.0.1:9';
  const sent: HttpRequest[] = [];
  const recording: Transport = async (req) => {
    sent.push(req);
    return { status: 200, headers: {}, text: '{}' } satisfies HttpResponse;
  };
  const client = createCbrClient({ region: DEMO.region, projectId: DEMO.projectId, endpoint: ORIGIN, auth: { type: 'aksk', ak: 'AK', sk: 'SK' }, transport: recording, retry: { maxAttempts: 1 } });
  const V = '97595625-198e-4e4d-879b-9d53f68ba551';
  const P = DEMO.peerProjectId;

  /** method, the id parameter under test, how to call it with that id, and the path it must then address. */
  const CASES: Array<{ op: string; param: string; call: (c: CbrClient, id: string) => Promise<unknown>; path: (id: string) => string }> = [
    { op: 'showVault', param: 'vaultId', call: (c, id) => c.showVault(id), path: (id) => `/vaults/${id}` },
    { op: 'updateVault', param: 'vaultId', call: (c, id) => c.updateVault(id, { vault: { name: 'x' } }), path: (id) => `/vaults/${id}` },
    { op: 'deleteVault', param: 'vaultId', call: (c, id) => c.deleteVault(id), path: (id) => `/vaults/${id}` },
    { op: 'addVaultResource', param: 'vaultId', call: (c, id) => c.addVaultResource(id, { resources: [{ id: V, type: 'OS::Nova::Server' }] }), path: (id) => `/vaults/${id}/addresources` },
    { op: 'removeVaultResource', param: 'vaultId', call: (c, id) => c.removeVaultResource(id, { resource_ids: [V] }), path: (id) => `/vaults/${id}/removeresources` },
    { op: 'showCheckpoint', param: 'checkpointId', call: (c, id) => c.showCheckpoint(id), path: (id) => `/checkpoints/${id}` },
    { op: 'showBackup', param: 'backupId', call: (c, id) => c.showBackup(id), path: (id) => `/backups/${id}` },
    { op: 'deleteBackup', param: 'backupId', call: (c, id) => c.deleteBackup(id), path: (id) => `/backups/${id}` },
    { op: 'addMember', param: 'backupId', call: (c, id) => c.addMember(id, { members: [P] }), path: (id) => `/backups/${id}/members` },
    { op: 'showMembersDetail', param: 'backupId', call: (c, id) => c.showMembersDetail(id, {}), path: (id) => `/backups/${id}/members` },
    { op: 'showMemberDetail', param: 'backupId', call: (c, id) => c.showMemberDetail(id, P), path: (id) => `/backups/${id}/members/${P}` },
    { op: 'showMemberDetail', param: 'memberId', call: (c, id) => c.showMemberDetail(V, id), path: (id) => `/backups/${V}/members/${id}` },
    { op: 'updateMemberStatus', param: 'backupId', call: (c, id) => c.updateMemberStatus(id, P, { status: 'rejected' }), path: (id) => `/backups/${id}/members/${P}` },
    { op: 'updateMemberStatus', param: 'memberId', call: (c, id) => c.updateMemberStatus(V, id, { status: 'rejected' }), path: (id) => `/backups/${V}/members/${id}` },
    { op: 'deleteMember', param: 'backupId', call: (c, id) => c.deleteMember(id, P), path: (id) => `/backups/${id}/members/${P}` },
    { op: 'deleteMember', param: 'memberId', call: (c, id) => c.deleteMember(V, id), path: (id) => `/backups/${V}/members/${id}` },
    { op: 'showOpLog', param: 'operationLogId', call: (c, id) => c.showOpLog(id), path: (id) => `/operation-logs/${id}` },
    { op: 'showProtectable', param: 'instanceId', call: (c, id) => c.showProtectable('server', id), path: (id) => `/protectables/server/instances/${id}` },
    // Query filters carrying ids: refused the same way (they are encoded anyway, but never sent malformed).
    { op: 'listBackups', param: 'query.vault_id', call: (c, id) => c.listBackups({ vault_id: id }), path: () => '/backups' },
    { op: 'listBackups', param: 'query.checkpoint_id', call: (c, id) => c.listBackups({ checkpoint_id: id }), path: () => '/backups' },
    { op: 'listOpLogs', param: 'query.vault_id', call: (c, id) => c.listOpLogs({ vault_id: id }), path: () => '/operation-logs' },
    { op: 'showMembersDetail', param: 'query.vault_id', call: (c, id) => c.showMembersDetail(V, { vault_id: id }), path: () => `/backups/${V}/members` },
  ];

  const candidate = fc.oneof({ weight: 4, arbitrary: hostileId }, { weight: 1, arbitrary: uuid }, { weight: 1, arbitrary: hex32 }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) });
  const nonString = fc.oneof(fc.constantFrom(undefined, null, 0, 1.5, true, NaN), fc.array(uuid, { maxLength: 2 }), fc.record({ toString: fc.constant(() => V) }));

  it('any string that is not a UUID / 32-hex: CbrValidationError naming the parameter, no request', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CASES), fc.oneof({ weight: 5, arbitrary: candidate }, { weight: 1, arbitrary: nonString }), async (c, id) => {
        count('client.pathIds');
        if (id === undefined && c.param.startsWith('query.')) return; // an absent filter is no filter
        sent.length = 0;
        const outcome = await c.call(client, id as string).then(
          () => undefined,
          (e: unknown) => e,
        );
        // memberId is the member's project id (32 hex) under the client's default memberIdInPath.
        if (typeof id === 'string' && (c.param === 'memberId' ? /^[0-9a-fA-F]{32}$/.test(id) : isWellFormedId(id))) {
          expect(outcome instanceof CbrValidationError, `${c.op}(${id}) refused: ${String(outcome)}`).toBe(false);
          expect(sent).toHaveLength(1);
          expect(sent[0]!.path.split('?')[0]).toBe(`/v3/${DEMO.projectId}${c.path(id)}`);
          expectSafeRequest(sent[0]!, ORIGIN);
        } else {
          expect(outcome, `${c.op} accepted ${JSON.stringify(String(id)).slice(0, 80)}`).toBeInstanceOf(CbrValidationError);
          expect((outcome as CbrValidationError).field).toBe(c.param);
          expect((outcome as CbrValidationError).message.length).toBeLessThan(400);
          expect(sent).toHaveLength(0);
        }
      }),
      { numRuns: runs(1000), examples: [[CASES[0]!, '../vaults'], [CASES[0]!, `${V}/../../v3`], [CASES[6]!, `${V}?x=1`], [CASES[6]!, `${V}#`], [CASES[8]!, `@evil.example/${V}`], [CASES[8]!, `${V}\r\n`]] },
    );
    await watch.check();
  });

  it('a hostile project id never makes a client', () => {
    fc.assert(
      fc.property(hostileId, (projectId) => {
        count('client.projectId');
        expect(() => createCbrClient({ region: DEMO.region, projectId, endpoint: ORIGIN, auth: { type: 'aksk', ak: 'AK', sk: 'SK' }, transport: recording })).toThrow(CbrValidationError);
      }),
      { numRuns: runs(200) },
    );
  });
});

// ------------------------------------------------------------------------------------------------
describe('the step use-cases with the real client: hostile ids in runs and messages never reach a URL', () => {
  let emu: Emulator;
  const sent: HttpRequest[] = [];
  const recording: Transport = (req) => {
    sent.push(req);
    return undiciTransport(req);
  };
  const clock: Clock = { now: () => emu.clock.now() };
  const cbr = ({ projectId, region }: { projectId: string; region: string }): CbrApi =>
    createCbrClient({ region, projectId, endpoint: emu.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, now: () => new Date(emu.clock.now()), transport: recording, retry: { maxAttempts: 1 }, timeoutMs: 5_000 });

  type Stage = 'create-vault' | 'add-resources' | 'start-checkpoint' | 'check-status' | 'share-backup';
  const snapshots = new Map<Stage, { run: RunRecord; message?: Message }>();

  function depsWith(run: RunRecord): { deps: PipelineDeps; store: MemoryRunStore } {
    const store = new MemoryRunStore(clock);
    store.runs.set(run.runId, run); // as stored, even if corrupt: the store is not where ids are checked
    let n = 0;
    return { store, deps: { store, bus: new MemoryBus(), clock, cbr, settings: { ...DEFAULT_SETTINGS, defaultRegion: DEMO.region, checkMaxDelayMs: 1_000 }, newToken: () => `t${++n}` } };
  }

  beforeAll(async () => {
    emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 5_000 } });
    // One real run, driven step by step; each step's input (the stored run and its message) is kept.
    const store = new MemoryRunStore(clock);
    const bus = new MemoryBus();
    const deps: PipelineDeps = { store, bus, clock, cbr, settings: { ...DEFAULT_SETTINGS, defaultRegion: DEMO.region }, newToken: () => 'seed' };
    const request = {
      projectId: DEMO.projectId,
      vault: { mode: 'create' as const, name: 'fuzz_urls', billing: { chargingMode: 'post_paid' as const, size: 1000 } },
      resources: DEMO.servers.map((s) => ({ id: s.id, type: 'OS::Nova::Server' as const })),
      shareWith: [DEMO.peerProjectId],
    };
    const { runId } = await startRun(deps, { request, source: { kind: 'http' } });
    const snap = async (stage: Stage, message?: Message) => snapshots.set(stage, { run: structuredClone((await store.get(runId))!), ...(message ? { message } : {}) });
    const take = (queue: 'vault' | 'resources' | 'checkpoint' | 'share') => bus.drain(queue)[0]!.message;

    let m = take('vault');
    await snap('create-vault', m);
    await createVault(deps, m as never);
    m = take('resources');
    await snap('add-resources', m);
    await addResources(deps, m as never);
    m = take('checkpoint');
    await snap('start-checkpoint', m);
    await startCheckpoint(deps, m as never);
    emu.clock.advance(60_000);
    await snap('check-status');
    expect((await checkStatus(deps)).finished).toBe(1);
    m = take('share');
    await snap('share-backup', m);
    await shareBackups(deps, m as never);
    expect((await store.get(runId))!.state).toBe('COMPLETED');
    for (const req of sent) expectSafeRequest(req, emu.url);
    expect(sent.length).toBeGreaterThan(8);
  });
  afterAll(() => emu?.stop());

  /** Every well-formed id (and the project id) that appears in a snapshot, each once. */
  function idsIn(value: unknown, out = new Set<string>()): Set<string> {
    if (typeof value === 'string') {
      if (isWellFormedId(value)) out.add(value);
    } else if (Array.isArray(value)) value.forEach((v) => idsIn(v, out));
    else if (value && typeof value === 'object') Object.values(value).forEach((v) => idsIn(v, out));
    return out;
  }

  /** Replace every occurrence of `from` (as a whole string value) by `to`, keys untouched. */
  function replaceId<T>(value: T, from: string, to: string): T {
    if (value === from) return to as T;
    if (Array.isArray(value)) return value.map((v) => replaceId(v, from, to)) as T;
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceId(v, from, to)])) as T;
    return value;
  }

  const STAGES: Stage[] = ['create-vault', 'add-resources', 'start-checkpoint', 'check-status', 'share-backup'];

  it('every request sent is a well-formed CBR path; corrupted ids are refused by the client, not sent', async () => {
    let refusedByClient = 0;
    let controlRequests = 0;
    // check-status reports a run it could not advance on stderr; keep those lines to check them.
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...STAGES), fc.nat(), fc.option(hostileId, { freq: 6, nil: undefined }), async (stage, pick, hostile) => {
        count(`pipeline.${stage}`);
        const snap = snapshots.get(stage)!;
        const ids = [...idsIn({ run: snap.run, message: snap.message })].filter((id) => id !== snap.run.runId);
        const victim = ids[pick % ids.length]!;
        const run = hostile === undefined ? structuredClone(snap.run) : replaceId(snap.run, victim, hostile);
        const message = snap.message && (hostile === undefined ? structuredClone(snap.message) : replaceId(snap.message, victim, hostile));
        const { deps } = depsWith(run);
        sent.length = 0;

        let error: unknown;
        try {
          if (stage === 'check-status') {
            const sweep = await checkStatus(deps);
            if (sweep.errors > 0) error = new Error('sweep error');
          } else {
            const step = { 'create-vault': createVault, 'add-resources': addResources, 'start-checkpoint': startCheckpoint, 'share-backup': shareBackups }[stage];
            await step(deps, message as never);
          }
        } catch (e) {
          error = e;
        }
        // The grammar admits only fixed segments and well-formed ids, so the hostile id is in no path.
        for (const req of sent) expectSafeRequest(req, emu.url);
        if (error instanceof CbrValidationError) refusedByClient++;
        if (hostile === undefined) controlRequests += sent.length;
      }),
      { numRuns: runs(200) },
    );
    const lines = stderr.mock.calls.map((c) => JSON.parse(String(c[0])) as { msg: string; error: string });
    stderr.mockRestore();
    for (const l of lines) expect(l).toMatchObject({ msg: 'check-status: run not advanced this sweep', error: 'ValidationError' });
    // The property was not vacuous: corrupt ids did get as far as the client (which refused them), and
    // uncorrupted snapshots really talked to CBR through the recorder.
    expect(refusedByClient).toBeGreaterThan(0);
    expect(controlRequests).toBeGreaterThan(0);
    await watch.check();
  });
});
