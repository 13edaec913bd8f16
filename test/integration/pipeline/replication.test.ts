/**
 * Issue 15 item 3 over real protocols (the emulator serving two regions over HTTP, dynalite,
 * local-aws-sqs): a run with a replication target finds or creates the destination's replication vault,
 * replicates each server backup (ReplicateBackup), and the checker tracks each copy PENDING -> RUNNING ->
 * COMPLETED until the replica is available in the destination region; a copy that fails or does not make
 * its window makes the run PARTIAL with the reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../../emulator/index';
import { createCbrClient } from '../../../lib/cbr/client';
import { makeServers, runBody, startHarness, type Harness } from '../../helpers/pipeline-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const DEST = DEMO.other.region;
const servers = makeServers(4, 'repl15');
const harness = (settings: Record<string, number> = {}, timing: Record<string, unknown> = {}) =>
  startHarness({ emulator: { seed: 1503, regions: [DEST], resources: [...DEMO.resources, ...servers], timing: { replicationMs: 120_000, ...timing } }, settings });
const target = { region: DEST, projectId: DEMO.other.projectId, vaultName: 'r15_dr' };
const ok = (hh: Harness, op: string) => hh.calls.filter((c) => c.operation === op && c.status !== undefined && c.status < 300).length;
const replicas = (hh: Harness) => (hh.emulator.state.snapshot(DEST).backups as Array<{ id: string; name: string; status: string; image_type: string; vault_id: string }>);

describe('cross-region replication', () => {
  it('copies every server backup into the replication vault it creates in the other region; COMPLETED once the replicas are available', async () => {
    h = await harness();
    const { runId } = await h.startRun(runBody('r15_src', [servers[0]!.id, servers[1]!.id], { shareWith: [], replication: [target] }));
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.copies).toHaveLength(2);
    expect(run.copies.map((c) => c.state)).toEqual(['COMPLETED', 'COMPLETED']);
    const vaults = h.emulator.state.snapshot(DEST).vaults as Array<{ id: string; name: string; billing: { protect_type: string } }>;
    expect(vaults.map((v) => [v.name, v.billing.protect_type])).toEqual([['r15_dr', 'replication']]);
    const made = replicas(h);
    expect(made.map((b) => [b.status, b.image_type, b.vault_id]).sort()).toEqual([
      ['available', 'replication', vaults[0]!.id],
      ['available', 'replication', vaults[0]!.id],
    ]);
    expect(new Set(run.copies.map((c) => c.replicaId))).toEqual(new Set(made.map((b) => b.id)));
    expect(ok(h, 'ReplicateBackup')).toBe(2);
    expect(run.timeline.some((e) => e.event === 'copy-completed')).toBe(true);
    expect(run.reason).toContain(`2 of 2 cross-region copies available (2 in ${DEST})`);
  });

  it('a replica that fails makes the run PARTIAL with the reason; one that never finishes in its window EXPIRED', async () => {
    h = await harness({ replicationWindowMs: 30 * 60_000 }, { replicationMs: 2 * 3600_000 });
    const { runId } = await h.startRun(runBody('r15_src2', [servers[2]!.id, servers[3]!.id], { shareWith: [], replication: [target] }));
    // Drive until both copies run, then fail one of them in the emulator.
    await h.drive({ runIds: [runId!], maxVirtualMs: 20 * 60_000 });
    const mid = await h.run(runId!);
    expect(mid.step).toBe('replicate');
    const running = mid.copies.filter((c) => c.state === 'RUNNING');
    expect(running).toHaveLength(2);
    expect(h.emulator.state.resolveReplication(running[0]!.replicaId!, 'failed', 'link to the destination lost')).toBe(true);
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('PARTIAL');
    const byBackup = new Map(run.copies.map((c) => [c.backupId, c]));
    expect(byBackup.get(running[0]!.backupId)).toMatchObject({ state: 'FAILED', code: 'BackupService.9910', message: 'link to the destination lost' });
    expect(byBackup.get(running[1]!.backupId)).toMatchObject({ state: 'EXPIRED', code: 'COPY_WINDOW_ENDED' });
    expect(run.reason).toContain('copies not made');
    expect(run.lastError?.code).toBe('COPY_FAILED');
    expect(ok(h, 'ReplicateBackup')).toBe(2);
  });

  it('a destination vault that is not a replication vault fails the copies, naming it', async () => {
    h = await harness();
    const dest = createCbrClient({ region: DEST, projectId: DEMO.other.projectId, endpoint: `${h.emulator.url}/{region}`, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, now: () => new Date(h!.emulator.clock.now()) });
    await dest.createVault({ vault: { name: 'r15_plain', billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100 }, resources: [] } });
    const { runId } = await h.startRun(runBody('r15_src3', [servers[0]!.id], { shareWith: [], replication: [{ ...target, vaultName: 'r15_plain' }] }));
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('PARTIAL');
    expect(run.copies[0]).toMatchObject({ state: 'FAILED', code: 'VAULT_NOT_REPLICATION' });
    expect(run.copies[0]!.message).toContain('r15_plain');
    expect(ok(h, 'ReplicateBackup')).toBe(0);
  });
});
