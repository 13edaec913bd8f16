/**
 * The freshness gate's judgement of CBR's answers (liberal in what it accepts) and its run-id buckets.
 * The HTTP, CLI and run paths are covered end to end in test/integration/fresh-gate.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { freshGate, runIdForGate } from '../../../lib/coverage/fresh-gate';
import type { CbrApi, CbrBackupView } from '../../../lib/ports';
import type { IntakeDeps } from '../../../lib/wiring/deps';

const PROJECT = '0605767b5780d5762fc5c0118072a564';
const SERVER = '3f6c9a1b-2d4e-4f70-8a1b-6c2d3e4f5a6b';
const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const MIN = 60_000;

function gateOver(backups: CbrBackupView[]) {
  const queries: unknown[] = [];
  const cbr = {
    async *paginateBackups(query: unknown) {
      queries.push(query);
      yield* backups;
    },
  } as unknown as CbrApi;
  const intake = { clock: { now: () => NOW }, settings: { defaultRegion: 'ap-southeast-1' } } as unknown as IntakeDeps;
  return { queries, run: (maxAgeMinutes: number) => freshGate({ cbr: () => cbr, intake }, { projectId: PROJECT, resources: [{ id: SERVER, type: 'OS::Nova::Server' }], maxAgeMinutes }) };
}

const at = (minutesAgo: number) => new Date(NOW - minutesAgo * MIN).toISOString();

describe('freshGate', () => {
  it('takes the newest available backup of the resource even from an unsorted page, skipping ones without a time or of another resource', async () => {
    const g = gateOver([
      { id: 'old', status: 'available', resource_id: SERVER, created_at: at(90) },
      { id: 'no-time', status: 'available', resource_id: SERVER, created_at: null },
      { id: 'other', status: 'available', resource_id: 'another-server', created_at: at(1) },
      { id: 'protecting', status: 'protecting', resource_id: SERVER, created_at: at(2) },
      { id: 'new', status: 'available', resource_id: null, created_at: at(12) },
    ]);
    const r = await g.run(30);
    expect(r.fresh).toBe(true);
    expect(r.resources).toEqual([{ id: SERVER, fresh: true, backupId: 'new', backupCreatedAt: at(12), ageMinutes: 12 }]);
    expect(g.queries).toEqual([{ resource_id: SERVER, status: 'available', sort: 'created_at:desc' }]);
  });

  it('a backup exactly maxAgeMinutes old is stale; stale without a vault is refused naming vault', async () => {
    const g = gateOver([{ id: 'b', status: 'available', resource_id: SERVER, created_at: at(30) }]);
    await expect(g.run(30)).rejects.toMatchObject({ field: 'vault' });
    await expect(g.run(31)).resolves.toMatchObject({ fresh: true });
  });

  it('refuses a bad maxAgeMinutes naming it', async () => {
    await expect(gateOver([]).run(0)).rejects.toMatchObject({ field: 'maxAgeMinutes' });
    await expect(gateOver([]).run(1.5)).rejects.toMatchObject({ field: 'maxAgeMinutes' });
  });
});

describe('runIdForGate', () => {
  it('one id per resource set (any order) within a bucket of maxAgeMinutes; another bucket, set or age gives another', () => {
    const bucketStart = Math.floor(NOW / (30 * MIN)) * 30 * MIN;
    const id = runIdForGate(PROJECT, 'ap-southeast-1', ['b', 'a'], 30, bucketStart);
    expect(runIdForGate(PROJECT, 'ap-southeast-1', ['a', 'b'], 30, bucketStart + 29 * MIN)).toBe(id);
    expect(runIdForGate(PROJECT, 'ap-southeast-1', ['a', 'b'], 30, bucketStart + 30 * MIN)).not.toBe(id);
    expect(runIdForGate(PROJECT, 'ap-southeast-1', ['a'], 30, bucketStart)).not.toBe(id);
    expect(runIdForGate(PROJECT, 'ap-southeast-3', ['a', 'b'], 30, bucketStart)).not.toBe(id);
  });
});
