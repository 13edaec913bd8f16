/**
 * Vault capacity before CreateCheckpoint (issue 14 item 5), through the whole pipeline on loopback
 * (test/helpers/pipeline-harness.ts: emulator, dynalite, local SQS, virtual clock). The servers here are
 * 40 GB (a full backup stores 20 GB in the emulator); cbr-flow expects a first backup to need the
 * resource's size (40 GB each) and a later one the mean of its backups in the vault.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const servers = makeServers(8, 'cap');
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function harness(): Promise<Harness> {
  h = await startHarness({ emulator: { seed: 14, projects: [...DEMO.projects], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] } });
  return h;
}

const ids = (from: number, n: number) => servers.slice(from, from + n).map((s) => s.id);
const postPaid = (name: string, size: number, maxSizeGB?: number) => ({
  mode: 'create' as const,
  name,
  billing: { chargingMode: 'post_paid' as const, size },
  ...(maxSizeGB === undefined ? {} : { autoExpand: { maxSizeGB } }),
});
function vaultOf(h: Harness, name: string) {
  const v = h.emulator.state.snapshot().vaults.find((x) => x.name === name);
  if (!v) throw new Error(`no vault ${name}`);
  return v as { id: string; billing: { size: number; used: number } };
}
const backupsIn = (h: Harness, vaultId: string) => h.emulator.state.snapshot().backups.filter((b) => b.vault_id === vaultId);

describe('a pay-per-use vault the request lets cbr-flow expand', () => {
  it('is expanded once to what the backup needs, although every message is delivered 2-3 times; a later run that fits does not expand it', async () => {
    const h = await harness();
    h.duplicates = { seed: 14, minCopies: 2, maxCopies: 3 };
    const first = await h.startRun(runBody('cap_grow', ids(0, 2), { vault: postPaid('cap_grow', 50, 100), shareWith: [] }));
    expect((await h.drive({ runIds: [first.runId!] })).done).toBe(true);
    const run = await h.run(first.runId!);
    expect(run.state).toBe('COMPLETED');
    const ops = h.emulator.state.requestCounts.byOperation;
    expect(ops.UpdateVault).toBe(1);
    expect(ops.CreateCheckpoint).toBe(1);
    const v = vaultOf(h, 'cap_grow');
    expect(v.billing.size).toBe(80); // 2 x 40 GB expected, 0 used: exactly what was needed, not the cap
    expect(run.timeline.find((e) => e.event === 'vault-expanded')?.detail).toBe(
      `vault ${v.id}: size 50 GB, used 0 GB, this backup needs about 80 GB; expanded from 50 to 80 GB (cap 100 GB)`,
    );

    // The same servers again: used 40 GB (two full backups), mean 20 GB each -> 80 GB in all, it fits.
    const second = await h.startRun(runBody('cap_grow', ids(0, 2), { vault: postPaid('cap_grow', 50, 100), shareWith: [] }));
    expect((await h.drive({ runIds: [second.runId!] })).done).toBe(true);
    expect((await h.run(second.runId!)).state).toBe('COMPLETED');
    expect(h.emulator.state.requestCounts.byOperation.UpdateVault).toBe(1);
    expect(vaultOf(h, 'cap_grow').billing.size).toBe(80);
  }, 60_000);

  it('stops at the cap: the run fails fast naming the vault, its size, its use and the need, and nothing is backed up or resized', async () => {
    const h = await harness();
    const { runId } = await h.startRun(runBody('cap_capped', ids(2, 2), { vault: postPaid('cap_capped', 50, 60), shareWith: [] }));
    expect((await h.drive({ runIds: [runId!] })).done).toBe(true);
    const run = await h.run(runId!);
    const v = vaultOf(h, 'cap_capped');
    expect(run.state).toBe('FAILED');
    expect(run.reason).toBe(
      `vault ${v.id} (cap_capped) is too small for this backup: size 50 GB, used 0 GB, this backup needs about 80 GB, 80 GB in all, above vault.autoExpand.maxSizeGB 60 GB. Raise the cap to at least 80 GB, or delete backups it no longer needs (retention)`,
    );
    expect(run.lastError).toMatchObject({ code: 'VAULT_CAPACITY', step: 'start-checkpoint' });
    expect(run.checkpoints[0]).toMatchObject({ status: 'intent' });
    expect(run.checkpoints[0]!.claim).toBeUndefined();
    const ops = h.emulator.state.requestCounts.byOperation;
    expect(ops.UpdateVault ?? 0).toBe(0);
    expect(ops.CreateCheckpoint ?? 0).toBe(0);
    expect(v.billing.size).toBe(50);
    expect(backupsIn(h, v.id)).toEqual([]);
    expect(h.events.filter((e) => e.type === 'run.finished' && e.runId === runId).map((e) => e.data)).toEqual([expect.objectContaining({ state: 'FAILED' })]);
  }, 60_000);
});

describe('a vault cbr-flow may not expand', () => {
  it('fails fast with what to do when the backup would not fit', async () => {
    const h = await harness();
    const { runId } = await h.startRun(runBody('cap_fixed', ids(4, 2), { vault: postPaid('cap_fixed', 50), shareWith: [] }));
    expect((await h.drive({ runIds: [runId!] })).done).toBe(true);
    const run = await h.run(runId!);
    const v = vaultOf(h, 'cap_fixed');
    expect(run.state).toBe('FAILED');
    expect(run.reason).toBe(
      `vault ${v.id} (cap_fixed) is too small for this backup: size 50 GB, used 0 GB, this backup needs about 80 GB, 80 GB in all. ` +
        'Delete backups it no longer needs (retention), expand it to at least 80 GB (UpdateVault billing.size), or let cbr-flow expand it: vault.autoExpand.maxSizeGB in the run request or plan (pay-per-use vaults only)',
    );
    expect(h.emulator.state.requestCounts.byOperation.CreateCheckpoint ?? 0).toBe(0);
    expect(backupsIn(h, v.id)).toEqual([]);
  }, 60_000);

  it('a vault with CBR auto_expand is not checked (CBR grows it)', async () => {
    const h = await harness();
    const vault = { mode: 'create' as const, name: 'cap_cbr_grows', billing: { chargingMode: 'post_paid' as const, size: 10, autoExpand: true } };
    const { runId } = await h.startRun(runBody('cap_cbr_grows', ids(6, 2), { vault, shareWith: [] }));
    expect((await h.drive({ runIds: [runId!] })).done).toBe(true);
    expect((await h.run(runId!)).state).toBe('COMPLETED');
    expect(h.emulator.state.requestCounts.byOperation.UpdateVault ?? 0).toBe(0);
    expect(vaultOf(h, 'cap_cbr_grows').billing.size).toBe(40); // 2 x 20 GB stored
  }, 60_000);
});
