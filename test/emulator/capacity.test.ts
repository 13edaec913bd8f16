// Vault capacity in the emulator (issue 14 item 6): per-backup sizes (full = the resource's used size,
// incremental = a fraction of it), billing.used in MB growing with the chain, 6114 when used + what is
// running + what the checkpoint adds exceeds the size, UpdateVault resizing, deletes freeing space with
// the documented chain merge, DeleteBackup refusals, and backups ageing on the manual clock.
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator, EmulatorOptions } from '../../emulator/index';
import { server, SERVER_A, SERVER_D, vaultBody } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

let emu: Emulator | undefined;
let sdk: OfficialClient;
const START = Date.UTC(2026, 0, 5, 2, 0, 0);
async function boot(o: EmulatorOptions = {}) {
  await emu?.stop();
  // A fixed calendar: the SDK signs with the wall clock, so the date-skew window is opened wide.
  emu = await startEmulator({ clock: 'manual', startTime: START, limits: { sdkDateSkewMs: 20 * 365 * 24 * 3600_000 }, timing: { checkpointMs: 1_000, backupDeleteMs: 500 }, ...o });
  sdk = officialClient(emu.url);
  return emu;
}
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

/** The demo catalogue with a used size (what a full backup stores) on SERVER_A. */
function withUsed(usedGb: number): EmulatorOptions {
  return { resources: DEMO.resources.map((r) => (r.id === SERVER_A ? { ...r, usedGb } : r)) };
}

async function vault(sizeGb: number, resources = [server(SERVER_A)], extra: Record<string, unknown> = {}) {
  return (await sdk.createVault(vaultBody(`cap${Math.random().toString(16).slice(2, 8)}`, { resources, ...extra }, { size: sizeGb }))).body.vault;
}
async function backUp(vaultId: string, parameters: Record<string, unknown> = {}) {
  const c = (await sdk.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters } })).body.checkpoint;
  emu!.clock.advance(1_000);
  return c;
}
const billing = async (vaultId: string) => (await sdk.showVault(vaultId)).body.vault.billing;

describe('capacity accounting', () => {
  it('a full backup stores the used size, later ones 20 % of it; used (MB) and backup_size grow with the chain', async () => {
    await boot(withUsed(12));
    const v = await vault(100);
    expect(await billing(v.id)).toMatchObject({ size: 100, allocated: 40, used: 0 });
    await backUp(v.id);
    await backUp(v.id);
    await backUp(v.id);
    const full = 12 * 1024;
    const inc = Math.round(full * 0.2);
    const shown = (await sdk.showVault(v.id)).body.vault;
    expect(shown.billing).toMatchObject({ size: 100, allocated: 40, used: full + 2 * inc });
    expect(shown.resources[0]).toMatchObject({ size: 40, backup_size: full + 2 * inc, backup_count: 3 });
    const backups = (await sdk.listBackups({ vault_id: v.id, sort: 'created_at:asc' })).body.backups;
    expect(backups.map((b: any) => b.incremental)).toEqual([false, true, true]);
    // A checkpoint asking for a full backup stores the full size again.
    await backUp(v.id, { incremental: false });
    expect((await billing(v.id)).used).toBe(2 * full + 2 * inc);
  });

  it('the ratios are configurable: without usedGb a full backup is size x fullBackupRatio', async () => {
    await boot({ capacity: { fullBackupRatio: 0.25, incrementalRatio: 0.5 } });
    const v = await vault(100);
    await backUp(v.id);
    await backUp(v.id);
    expect((await billing(v.id)).used).toBe(40 * 1024 * 0.25 + 40 * 1024 * 0.25 * 0.5);
  });
});

describe('6114 on a full vault', () => {
  it('refuses when used + the new backup would exceed the size, naming the numbers; UpdateVault makes room', async () => {
    await boot(withUsed(20));
    const v = await vault(27); // full 20 GB + one increment of 4 GB fit, a second increment does not
    await backUp(v.id);
    await backUp(v.id);
    expect((await billing(v.id)).used).toBe(24 * 1024);
    const f = await sdkFailure(sdk.createCheckpoint({ checkpoint: { vault_id: v.id } }));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6114' });
    expect(f.errorMsg).toContain('The used capacity of the vault exceeds the maximum capacity.');
    expect(f.errorMsg).toContain('this backup needs 4096 MB');
    expect((await sdk.listBackups({ vault_id: v.id })).body.count).toBe(2); // nothing half-made

    const resized = (await sdk.updateVault(v.id, { vault: { billing: { size: 28 } } })).body.vault;
    expect(resized.billing.size).toBe(28);
    expect((await sdk.createCheckpoint({ checkpoint: { vault_id: v.id } })).status).toBe(200);
  });

  it('running backups count: a second checkpoint cannot overbook the space the first one takes', async () => {
    await boot(withUsed(20));
    const v = await vault(30, [server(SERVER_A), server(SERVER_D)]); // SERVER_D: 40 GB -> full 20 GB
    await sdk.createCheckpoint({ checkpoint: { vault_id: v.id, parameters: { resources: [SERVER_A] } } });
    // SERVER_A's 20 GB is still protecting (used 0), yet SERVER_D's 20 GB does not fit next to it.
    expect((await billing(v.id)).used).toBe(0);
    const f = await sdkFailure(sdk.createCheckpoint({ checkpoint: { vault_id: v.id, parameters: { resources: [SERVER_D] } } }));
    expect(f).toMatchObject({ errorCode: 'BackupService.6114' });
    expect(f.errorMsg).toContain('20480 MB being backed up');
  });

  it('quirk capacityCheck "used" refuses only once used has reached the size; auto_expand vaults never refuse', async () => {
    await boot({ ...withUsed(20), quirks: { capacityCheck: 'used' } });
    const v = await vault(10);
    await backUp(v.id); // 20 GB into 10 GB: allowed, the vault is now over-full
    expect(await sdkFailure(sdk.createCheckpoint({ checkpoint: { vault_id: v.id } }))).toMatchObject({ errorCode: 'BackupService.6114' });

    await boot(withUsed(20));
    const grows = await vault(10, [server(SERVER_A)], { auto_expand: true });
    await backUp(grows.id);
    await backUp(grows.id);
    expect((await billing(grows.id)).size).toBe(24);
  });
});

describe('deleting frees space; chains merge', () => {
  it('deleting the newest backup frees its size once it is gone; deleting the full frees one increment', async () => {
    await boot(withUsed(20));
    const v = await vault(100);
    for (let i = 0; i < 3; i++) await backUp(v.id);
    const [full, inc1, inc2] = (await sdk.listBackups({ vault_id: v.id, sort: 'created_at:asc' })).body.backups;
    const F = 20 * 1024;
    const I = 4 * 1024;
    expect((await billing(v.id)).used).toBe(F + 2 * I);

    expect((await sdk.deleteBackup(inc2.id)).status).toBe(204);
    expect((await billing(v.id)).used).toBe(F + 2 * I); // still deleting
    emu!.clock.advance(500);
    expect((await billing(v.id)).used).toBe(F + I);

    await sdk.deleteBackup(full.id);
    emu!.clock.advance(500);
    // inc1 now carries the chain's full data: only the increment's worth was freed.
    const after = (await sdk.showVault(v.id)).body.vault;
    expect(after.billing.used).toBe(F);
    expect(after.resources[0]).toMatchObject({ backup_count: 1, backup_size: F });
    expect((await sdk.showBackup(inc1.id)).body.backup.status).toBe('available');
  });
});

describe('DeleteBackup refusals', () => {
  it('6203 while protecting, 6216 while restoring (then allowed), 6201 while deleting', async () => {
    const e = await boot();
    const v = await vault(200);
    const c = (await sdk.createCheckpoint({ checkpoint: { vault_id: v.id } })).body.checkpoint;
    const [b] = (await sdk.listBackups({ checkpoint_id: c.id })).body.backups;
    expect(await sdkFailure(sdk.deleteBackup(b.id))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6203' });
    e.clock.advance(1_000);
    expect(e.state.restoreBackup(b.id, 60_000)).toBe(true);
    expect((await sdk.showBackup(b.id)).body.backup.status).toBe('restoring');
    const f = await sdkFailure(sdk.deleteBackup(b.id));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6216' });
    expect(f.errorMsg).toContain('being restored');
    e.clock.advance(60_000);
    expect((await sdk.deleteBackup(b.id)).status).toBe(204);
    expect(await sdkFailure(sdk.deleteBackup(b.id))).toMatchObject({ errorCode: 'BackupService.6201' });
  });

  it('quirk deleteAcceptedShare refuse: 6216 naming the project while a share is accepted, allowed after DeleteMember', async () => {
    await boot({ quirks: { deleteAcceptedShare: 'refuse' } });
    const peer = officialClient(emu!.url, { ak: DEMO.peer.ak, sk: DEMO.peer.sk, projectId: DEMO.peerProjectId });
    const v = await vault(200);
    const c = await backUp(v.id);
    const [b] = (await sdk.listBackups({ checkpoint_id: c.id })).body.backups;
    await sdk.addMember(b.id, { members: [DEMO.peerProjectId] });
    const inbox = (await peer.createVault(vaultBody('inbox'))).body.vault;
    await peer.updateMemberStatus(b.id, DEMO.peerProjectId, { status: 'accepted', vault_id: inbox.id });
    const f = await sdkFailure(sdk.deleteBackup(b.id));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6216' });
    expect(f.errorMsg).toContain(DEMO.peerProjectId);
    await sdk.deleteMember(b.id, DEMO.peerProjectId);
    expect((await sdk.deleteBackup(b.id)).status).toBe(204);
  });

  it('6220 for an automatic backup in a locked vault; a manual one is deleted', async () => {
    await boot();
    const v = await vault(200, [server(SERVER_A), server(SERVER_D)]);
    const auto = await backUp(v.id, { auto_trigger: true, resources: [SERVER_A] });
    const manual = await backUp(v.id, { resources: [SERVER_D] });
    await sdk.updateVault(v.id, { vault: { locked: true } });
    const [a] = (await sdk.listBackups({ checkpoint_id: auto.id })).body.backups;
    const [m] = (await sdk.listBackups({ checkpoint_id: manual.id })).body.backups;
    expect(await sdkFailure(sdk.deleteBackup(a.id))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6220' });
    expect((await sdk.deleteBackup(m.id)).status).toBe(204);
  });
});

describe('ageing on the manual clock', () => {
  it('created_at comes from the emulator clock; a year of daily backups filters by start_time/end_time', async () => {
    await boot({ timing: { checkpointMs: 1_000, backupDeleteMs: 500 }, capacity: { incrementalRatio: 0 } });
    const v = await vault(100);
    const DAY = 24 * 3600_000;
    for (let d = 0; d < 365; d += 30) {
      emu!.clock.set(START + d * DAY);
      await backUp(v.id);
    }
    const all = (await sdk.listBackups({ vault_id: v.id, sort: 'created_at:asc' })).body.backups;
    expect(all).toHaveLength(13);
    expect(all[0].created_at).toBe('2026-01-05T02:00:00.000000');
    expect(all[12].created_at).toBe('2026-12-31T02:00:00.000000');
    const q = (await sdk.listBackups({ vault_id: v.id, start_time: '2026-06-01T00:00:00Z', end_time: '2026-09-01T00:00:00Z' })).body;
    expect(q.backups.map((b: any) => b.created_at.slice(0, 10))).toEqual(['2026-08-03', '2026-07-04', '2026-06-04']);
  });
});
