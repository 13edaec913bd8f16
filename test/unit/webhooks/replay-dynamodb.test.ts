import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalServer } from '../../../local/servers';
import { createRunsTable } from '../../../lib/store/dynamodb/table';
import { DynamoReplayGuard, ReplayStoreError } from '../../../lib/webhooks/replay-dynamodb';
import { MemoryReplayGuard } from '../../../lib/webhooks/replay';

let dynamo: LocalServer;
let client: DynamoDBClient;
const TABLE = 'cbr-flow-test-replay';
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await createRunsTable(client, TABLE);
});
afterAll(async () => {
  client.destroy();
  await dynamo.stop();
});

const clockAt = (t: number) => {
  const c = { t, now: () => c.t };
  return c;
};

describe('DynamoReplayGuard on dynalite (the runs table)', () => {
  it('two concurrent claims of one id: exactly one wins, across separate guards (containers)', async () => {
    const a = new DynamoReplayGuard(client, TABLE, clockAt(T0));
    const b = new DynamoReplayGuard(client, TABLE, clockAt(T0));
    const results = await Promise.all([a.claim('msg_race', T0 + 301_000), b.claim('msg_race', T0 + 301_000)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('of twenty concurrent claims exactly one wins', async () => {
    const guards = Array.from({ length: 20 }, () => new DynamoReplayGuard(client, TABLE, clockAt(T0)));
    const results = await Promise.all(guards.map((g) => g.claim('msg_crowd', T0 + 301_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('stores the claim under the table keys with the TTL attribute (epoch seconds)', async () => {
    const g = new DynamoReplayGuard(client, TABLE, clockAt(T0));
    expect(await g.claim('msg_item', T0 + 301_500)).toBe(true);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'WEBHOOK#msg_item' }, sk: { S: 'WEBHOOK' } } }));
    expect(Item?.expiresAt).toEqual({ N: String(Math.ceil((T0 + 301_500) / 1000)) });
    expect(Item?.dueShard).toBeUndefined();
    expect(Item?.recentDay).toBeUndefined();
  });

  it('an expired claim (not yet deleted by TTL) can be claimed again; a live one cannot', async () => {
    const clock = clockAt(T0);
    const g = new DynamoReplayGuard(client, TABLE, clock);
    expect(await g.claim('msg_exp', T0 + 10_000)).toBe(true);
    clock.t = T0 + 9_000;
    expect(await g.claim('msg_exp', T0 + 20_000)).toBe(false);
    clock.t = T0 + 10_000;
    expect(await g.claim('msg_exp', T0 + 20_000)).toBe(true);
  });

  it('release frees only its own claim', async () => {
    const clock = clockAt(T0);
    const mine = new DynamoReplayGuard(client, TABLE, clock);
    const other = new DynamoReplayGuard(client, TABLE, clock);
    expect(await mine.claim('msg_rel', T0 + 300_000)).toBe(true);
    await other.release('msg_rel'); // never claimed it: no effect
    expect(await other.claim('msg_rel', T0 + 300_000)).toBe(false);
    await mine.release('msg_rel');
    expect(await other.claim('msg_rel', T0 + 300_000)).toBe(true);
    await mine.release('msg_rel'); // stale token: must not free the other's claim
    expect(await mine.claim('msg_rel', T0 + 300_000)).toBe(false);
  });

  it('a store failure is a retryable ReplayStoreError, not a replay verdict', async () => {
    const g = new DynamoReplayGuard(client, 'no-such-table', clockAt(T0));
    await expect(g.claim('msg_x', T0 + 1000)).rejects.toBeInstanceOf(ReplayStoreError);
    await expect(g.claim('msg_x', T0 + 1000)).rejects.toMatchObject({ retryable: true });
  });
});

describe('MemoryReplayGuard', () => {
  it('claims once until expiry', async () => {
    const clock = clockAt(T0);
    const g = new MemoryReplayGuard(clock);
    const results = await Promise.all([g.claim('a', T0 + 5), g.claim('a', T0 + 5)]);
    expect(results.sort()).toEqual([false, true]);
    clock.t = T0 + 5;
    expect(await g.claim('a', T0 + 10)).toBe(true);
  });
});
