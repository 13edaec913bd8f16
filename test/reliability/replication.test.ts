/**
 * Issue 15 item 5 for cross-region copies, like the older steps: duplicate delivery of every message,
 * a crash right after the intent, a crash right after ReplicateBackup (before the run records it), and
 * API faults (answers lost after the call took effect, calls refused before it, throttling) on the
 * emulator serving two regions over HTTP: every copy ends COMPLETED and CBR holds exactly one replica per
 * (backup, region): 0 duplicate copies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const DEST = DEMO.other.region;
const servers = makeServers(12, 'rel15r');
const target = { region: DEST, projectId: DEMO.other.projectId, vaultName: 'rel15_dr', vaultSizeGb: 2000 };
const replicas = (hh: Harness) =>
  (hh.emulator.state.snapshot(DEST).backups as Array<{ id: string; name: string; status: string; image_type: string }>).filter((b) => b.image_type === 'replication');
/** Source backups with more than one replica record in the destination region (a duplicate copy). */
const duplicated = (hh: Harness) =>
  (hh.emulator.state.snapshot().backups as Array<{ id: string; replication_records: Array<{ destination_region: string }> }>).filter(
    (b) => b.replication_records.filter((r) => r.destination_region === DEST).length > 1,
  );
const ok = (hh: Harness, op: string) => hh.calls.filter((c) => c.operation === op && c.status !== undefined && c.status < 300).length;

describe('cross-region copies: reliability', () => {
  it('duplicate delivery, a crash after the intent and two after ReplicateBackup: one replica per (backup, region)', async () => {
    h = await startHarness({ emulator: { seed: 1551, regions: [DEST], resources: [...DEMO.resources, ...servers], timing: { replicationMs: 90_000 } } });
    h.duplicates = { seed: 1552, minCopies: 2, maxCopies: 3 };
    h.crashAt('replicate:after-intent');
    h.crashAt('replicate:after-cbr', { times: 2 });
    const ids = (await Promise.all([0, 1, 2].map((i) => h!.startRun(runBody(`rel15_v${i}`, [servers[2 * i]!.id, servers[2 * i + 1]!.id], { shareWith: [], replication: [target] }))))).map((r) => r.runId!);
    const drive = await h.drive({ runIds: ids });
    expect(drive.done).toBe(true);
    expect(h.crashes.filter((c) => c.point === 'replicate:after-intent')).toHaveLength(1);
    expect(h.crashes.filter((c) => c.point === 'replicate:after-cbr')).toHaveLength(2);
    const runs = await Promise.all(ids.map((id) => h!.run(id)));
    expect(runs.map((r) => r.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const copies = runs.flatMap((r) => r.copies);
    expect(copies.map((c) => c.state)).toEqual(Array(6).fill('COMPLETED'));
    expect(replicas(h)).toHaveLength(6);
    expect(new Set(replicas(h).map((b) => b.name)).size).toBe(6);
    expect(duplicated(h)).toEqual([]);
    expect(ok(h, 'ReplicateBackup')).toBe(6); // the crashed calls' replicas were found again, never asked twice
    expect((h.emulator.state.snapshot(DEST).vaults as Array<{ name: string }>).filter((v) => v.name === 'rel15_dr')).toHaveLength(1);
    console.log(`replication crash/duplicate: virtual ${Math.round(drive.virtualMs / 1000)} s, real ${Math.round(drive.realMs)} ms, ${h.delivery.records} records delivered (${h.delivery.extraCopies} extra copies)`);
  }, 180_000);

  it('API faults: ReplicateBackup answers lost after it took effect, refused before it, throttled; CreateVault answer lost: one replica per (backup, region), one vault', async () => {
    h = await startHarness({
      emulator: {
        seed: 1553,
        regions: [DEST],
        resources: [...DEMO.resources, ...servers],
        timing: { replicationMs: 90_000 },
        faults: [
          { id: 'lost', operations: ['ReplicateBackup'], error: { rate: 1, statuses: [502], phase: 'after' }, times: 2 },
          { id: 'refused', operations: ['ReplicateBackup'], error: { rate: 1, statuses: [503], phase: 'before' }, times: 1 },
          { id: 'throttled', operations: ['ReplicateBackup'], error: { rate: 1, statuses: [429], phase: 'before' }, times: 1 },
          { id: 'cv', operations: ['CreateVault'], error: { rate: 1, statuses: [502], phase: 'after' }, times: 1 },
        ],
      },
    });
    const ids = (await Promise.all([0, 1, 2].map((i) => h!.startRun(runBody(`rel15_f${i}`, [servers[6 + 2 * i]!.id, servers[7 + 2 * i]!.id], { shareWith: [], replication: [{ ...target, vaultName: 'rel15_fdr' }] }))))).map((r) => r.runId!);
    await h.drive({ runIds: ids });
    const runs = await Promise.all(ids.map((id) => h!.run(id)));
    expect(runs.map((r) => r.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const status = (s: number) => h!.calls.filter((c) => c.operation === 'ReplicateBackup' && c.status === s).length;
    // The faults did fire (which rule wins a request is the fault engine's draw): answers lost after the
    // replica was made, and calls refused before CBR's handler.
    expect(status(502)).toBeGreaterThanOrEqual(1);
    expect(status(503) + status(429)).toBeGreaterThanOrEqual(1);
    expect(replicas(h)).toHaveLength(6);
    expect(duplicated(h)).toEqual([]);
    // Every ReplicateBackup that reached CBR's handler made one replica: the answered ones and the lost ones.
    expect(ok(h, 'ReplicateBackup') + status(502)).toBe(6);
    expect((h.emulator.state.snapshot(DEST).vaults as Array<{ name: string }>).filter((v) => v.name === 'rel15_fdr')).toHaveLength(1);
  }, 180_000);
});
