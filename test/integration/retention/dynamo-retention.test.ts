/**
 * The retention items on DynamoDB (dynalite on loopback): holds placed once and released once, and a
 * sweep against the emulator over HTTP that dies after DeleteBackup and converges with its ledger in
 * the table (no second DeleteBackup).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalServer } from '../../../local/servers';
import { listHolds, placeHold, releaseHold } from '../../../lib/retention/holds';
import { sweepRetention } from '../../../lib/retention/sweep';
import { DynamoRetentionStore } from '../../../lib/store/dynamodb/retention';
import { createRunsTable } from '../../../lib/store/dynamodb/table';
import { DAY_MS, startRetentionWorld } from '../../helpers/retention-world';

let dynamo: LocalServer;
let client: DynamoDBClient;
let n = 0;
async function table(): Promise<string> {
  const name = `retention-it-${++n}`;
  await createRunsTable(client, name);
  return name;
}

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

const PROJECT = '0605767b5780d5762fc5c0118072a564';
const OTHER = '1a2b3c4d5e6f708192a3b4c5d6e7f801';
const BACKUP = 'a1b2c3d4-0000-4000-8000-000000000001';

describe('retention on DynamoDB', () => {
  it('holds: placed with who and why, another project\'s is invisible, released once', async () => {
    const clock = { now: () => Date.parse('2027-02-01T00:00:00Z') };
    const retention = new DynamoRetentionStore(client, await table(), clock);
    let id = 0;
    const deps = { runs: { get: async () => undefined }, retention, clock, newToken: () => `hold-${++id}` };
    const mine = (p: string) => p === PROJECT;
    const hold = await placeHold(deps, { backupId: BACKUP, projectId: PROJECT, reason: 'legal hold L-7' }, 'alice', mine);
    expect(hold).toMatchObject({ holdId: 'hold-1', reason: 'legal hold L-7', by: 'alice', backupIds: [BACKUP] });
    await expect(placeHold(deps, { backupId: BACKUP, projectId: OTHER, reason: 'x' }, 'alice', mine)).rejects.toThrow(/not one the caller may act on/);
    await expect(placeHold(deps, { backupId: BACKUP, projectId: PROJECT }, 'alice', mine)).rejects.toThrow(/reason/);
    expect((await listHolds(deps, mine)).map((h) => h.holdId)).toEqual(['hold-1']);
    expect(await listHolds(deps, (p) => p === OTHER)).toEqual([]);
    await expect(releaseHold(deps, 'hold-1', 'eve', (p) => p === OTHER)).rejects.toThrow(/no hold hold-1/);
    const released = await releaseHold(deps, 'hold-1', 'bob', mine, 'case closed');
    expect(released).toMatchObject({ released: true, hold: { released: { by: 'bob', reason: 'case closed' } } });
    expect((await releaseHold(deps, 'hold-1', 'carol', mine)).released).toBe(false);
    expect(await listHolds(deps, mine)).toEqual([]);
    expect((await listHolds(deps, mine, true))[0]!.released!.by).toBe('bob');
  });

  it('a sweep that dies after DeleteBackup converges with its ledger in the table', async () => {
    const name = await table();
    const w = await startRetentionWorld({ rules: { keepLast: 1 }, retention: (clock) => new DynamoRetentionStore(client, name, clock) });
    try {
      for (let d = 0; d < 4; d++) {
        await w.backup();
        w.advance(DAY_MS);
      }
      let calls = 0;
      w.deps.crashPoint = (point) => {
        if (point === 'retention-sweep:after-cbr' && ++calls === 2) throw new Error('killed');
      };
      await expect(sweepRetention(w.deps)).rejects.toThrow('killed');
      w.deps.crashPoint = undefined;
      expect(await sweepRetention(w.deps)).toMatchObject({ reconciled: 1, deleted: 4 });
      expect(w.emu.state.requestCounts.byOperation.DeleteBackup).toBe(6);
      const [scope] = await w.retention.listScopes();
      const ledger = await w.retention.listLedger(scope!.key);
      expect(ledger).toHaveLength(6);
      expect(ledger.every((e) => e.result === 'deleted' && e.rule === 'keepLast')).toBe(true);
      expect(await w.retention.getWatermark()).toBe(w.emu.clock.now());
    } finally {
      await w.stop();
    }
  });
});
