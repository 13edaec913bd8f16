import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalServer } from '../../../local/servers';
import { startRun } from '../../../lib/pipeline/start-run';
import { DEFAULT_SETTINGS } from '../../../lib/wiring/deps';
import { MemoryBus } from '../../../lib/queue/memory';
import { createRunsTable } from '../../../lib/store/dynamodb/table';
import { DynamoRunStore } from '../../../lib/store/dynamodb/store';
import { mutateRun } from '../../../lib/store/mutate';
import type { RunRecord } from '../../../lib/store/run';
import { ManualClock } from '../../unit/pipeline/fakes';
import { request } from '../../unit/pipeline/world';

let dynamo: LocalServer;
let client: DynamoDBClient;
let table = 0;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client.destroy();
  await dynamo.stop();
});

async function fresh() {
  const name = `runs-${++table}`;
  await createRunsTable(client, name);
  const clock = new ManualClock();
  const store = new DynamoRunStore(client, name, clock);
  const deps = { store, bus: new MemoryBus(), clock, settings: { ...DEFAULT_SETTINGS, defaultRegion: 'ap-southeast-1' }, newToken: () => 'tok' };
  const newRun = async (over: Parameters<typeof request>[0] = {}) => (await startRun(deps, { request: request(over), source: { kind: 'http' } })).run;
  return { store, clock, deps, newRun };
}

describe('DynamoRunStore on dynalite', () => {
  it('creates conditionally and reads back exactly what was stored', async () => {
    const { store, newRun } = await fresh();
    const run = await newRun();
    expect(await store.create(run)).toBe('exists');
    expect(await store.get(run.runId)).toEqual(run);
    expect(await store.get('7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b')).toBeUndefined();
  });

  it('saves only over the expected version; terminal runs are final', async () => {
    const { store, newRun } = await fresh();
    const run = await newRun();
    const v2: RunRecord = { ...run, version: 2, state: 'RUNNING' };
    expect(await store.save(v2)).toMatchObject({ ok: true });
    expect(await store.save({ ...run, version: 2, state: 'FAILED' })).toEqual({ ok: false, reason: 'stale' });
    expect(await store.save({ ...v2, version: 3, state: 'COMPLETED', due: undefined })).toMatchObject({ ok: true });
    expect(await store.save({ ...v2, version: 4, state: 'RUNNING' })).toEqual({ ok: false, reason: 'terminal' });
    expect((await store.get(run.runId))!.state).toBe('COMPLETED');
    expect(await store.save({ ...v2, runId: '7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' })).toEqual({ ok: false, reason: 'missing' });
  });

  it('concurrent optimistic mutations all land (no lost update)', async () => {
    const { store, newRun, clock } = await fresh();
    const run = await newRun();
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        mutateRun(store, run.runId, (d) => ((d.attempts[`w${i}`] = 1), d), { now: clock.now(), attempts: 20 }),
      ),
    );
    const after = (await store.get(run.runId))!;
    expect(Object.keys(after.attempts).sort()).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
    expect(after.version).toBe(7);
  });

  it('the due index is sparse, per shard, ordered by time, paged by cursor', async () => {
    const { store, newRun, clock } = await fresh();
    const runs: RunRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await newRun();
      const due = { ...r, version: 2, due: { shard: 0, at: clock.now() + (7 - i) * 1000 } };
      await store.save(due);
      runs.push(due);
    }
    const done = runs[0]!;
    await store.save({ ...done, version: 3, state: 'COMPLETED' }); // keeps `due` in the record, but terminal runs leave the index
    const page1 = await store.listDue(0, clock.now() + 10_000, 4);
    expect(page1.runs.map((r) => r.due!.at)).toEqual([...page1.runs.map((r) => r.due!.at)].sort((a, b) => a - b));
    expect(page1.cursor).toBeDefined();
    const page2 = await store.listDue(0, clock.now() + 10_000, 4, page1.cursor);
    const all = [...page1.runs, ...page2.runs].map((r) => r.runId);
    expect(all).toHaveLength(6);
    expect(all).not.toContain(done.runId);
    expect((await store.listDue(0, clock.now() + 3500, 10)).runs).toHaveLength(3);
    expect((await store.listDue(1, clock.now() + 10_000, 10)).runs).toHaveLength(0);
  });

  it('a finished run stays due until markAnnounced; markAnnounced is a no-op on running or announced runs', async () => {
    const { store, newRun, clock } = await fresh();
    const running = await newRun();
    const due = { shard: 0, at: clock.now() + 1000 };
    await store.save({ ...running, version: 2, state: 'RUNNING', due });
    const ended = await newRun();
    await store.save({ ...ended, version: 2, state: 'FAILED', due, announcePending: true });
    const dueIds = async () => (await store.listDue(0, clock.now() + 10_000, 10)).runs.map((r) => r.runId).sort();
    expect(await dueIds()).toEqual([running.runId, ended.runId].sort());

    await store.markAnnounced(running.runId); // not terminal: untouched
    await store.markAnnounced(ended.runId);
    await store.markAnnounced(ended.runId); // twice: harmless
    await store.markAnnounced('7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b'); // unknown: harmless
    expect(await dueIds()).toEqual([running.runId]);
    const after = (await store.get(ended.runId))!;
    expect(after.state).toBe('FAILED');
    expect(after.announcePending).toBeUndefined();
    expect(after.version).toBe(2); // the optimistic version is left alone
    expect((await store.get(running.runId))!.due).toEqual(due);
  });

  it('hides runs whose TTL has passed (DynamoDB deletes lazily; dynalite never)', async () => {
    const { store, newRun, clock } = await fresh();
    const run = await newRun();
    await store.save({ ...run, version: 2, state: 'COMPLETED', expiresAt: Math.floor(clock.now() / 1000) + 60 });
    expect(await store.get(run.runId)).toBeDefined();
    expect(await store.listRecent(10)).toHaveLength(1);
    clock.advance(61_000);
    expect(await store.get(run.runId)).toBeUndefined();
    expect(await store.listRecent(10)).toHaveLength(0);
  });

  it('lists recent runs newest first across days', async () => {
    const { store, newRun, clock } = await fresh();
    const a = await newRun();
    clock.advance(86_400_000);
    const b = await newRun();
    clock.advance(1000);
    const c = await newRun();
    expect((await store.listRecent(10)).map((r) => r.runId)).toEqual([c.runId, b.runId, a.runId]);
    expect((await store.listRecent(2)).map((r) => r.runId)).toEqual([c.runId, b.runId]);
  });

  it('listRuns: filters, pages with a cursor, and reads a bounded number of items per page', async () => {
    const name = `runs-${++table}`;
    await createRunsTable(client, name);
    const clock = new ManualClock();
    const store = new DynamoRunStore(client, name, clock, { listReadBudget: 7 });
    const deps = { store, bus: new MemoryBus(), clock, settings: { ...DEFAULT_SETTINGS, defaultRegion: 'ap-southeast-1' }, newToken: () => 'tok' };
    const made: RunRecord[] = [];
    for (let i = 0; i < 30; i++) {
      const { run } = await startRun(deps, { request: request(), source: i % 5 === 0 ? { kind: 'schedule', plan: 'p' } : { kind: 'http' } });
      made.push(run);
      clock.advance(3_600_000); // 30 runs over two UTC days
    }
    const wanted = made.filter((r) => r.source.plan === 'p').map((r) => r.runId).reverse();
    // Each page evaluates at most 7 items: 6 matches among 30 take several pages, some of them empty.
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({ limit: 100, plan: 'p', ...(cursor ? { cursor } : {}) });
      expect(page.runs.length).toBeLessThanOrEqual(7);
      pages.push(page.runs.map((r) => r.runId));
      cursor = page.cursor;
    } while (cursor);
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(30 / 7));
    expect(pages.flat()).toEqual(wanted);
    // A full page resumes right after its last run.
    const first = await store.listRuns({ limit: 2 });
    const second = await store.listRuns({ limit: 2, cursor: first.cursor! });
    expect([...first.runs, ...second.runs].map((r) => r.runId)).toEqual(made.map((r) => r.runId).reverse().slice(0, 4));
    await expect(store.listRuns({ limit: 2, cursor: 'eyJkIjoxfQ' })).rejects.toMatchObject({ field: 'query.cursor' });
  });

  it('vault-name leases: one holder at a time, expiry takeover, resolve and release', async () => {
    const { store, clock } = await fresh();
    const now = clock.now();
    expect((await store.acquireLease('p#r#v', 'A', now, 1000)).acquired).toBe(true);
    expect(await store.acquireLease('p#r#v', 'B', now + 500, 1000)).toMatchObject({ acquired: false, lease: { holder: 'A' } });
    expect((await store.acquireLease('p#r#v', 'A', now + 500, 1000)).acquired).toBe(true);
    expect((await store.acquireLease('p#r#v', 'B', now + 1600, 1000)).acquired).toBe(true);
    await store.resolveLease('p#r#v', 'A', 'vault-by-A', now + 1700); // A lost it: no effect
    expect((await store.getLease('p#r#v'))!.vaultId).toBeUndefined();
    await store.resolveLease('p#r#v', 'B', 'ea7b8717-2543-478a-a92d-3ca7ee448f67', now + 1700);
    expect(await store.getLease('p#r#v')).toMatchObject({ vaultId: 'ea7b8717-2543-478a-a92d-3ca7ee448f67', leaseUntil: 0 });
    expect((await store.getLease('p#r#v'))!.holder).toBeUndefined();
    expect((await store.acquireLease('p#r#v', 'C', now + 1800, 1000)).acquired).toBe(true);
    await store.releaseLease('p#r#v', 'C', now + 1900);
    expect((await store.acquireLease('p#r#v', 'D', now + 1900, 1000)).acquired).toBe(true);
  });
});
