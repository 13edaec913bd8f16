// Asynchronous checkpoints on a manual clock: protecting -> available/error, per-resource backups with
// per-disk children in ListBackups, capacity (used MB, 6114), skipped_resources (and the 6125/1001
// quirks), asynchronous backup deletes, op logs with progress, scripted outcomes, missing checkpoint.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator, EmulatorOptions } from '../../emulator/index';
import { raw, server, SERVER_A, SERVER_B, SERVER_C, vaultBody, volume, VOLUME_A } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

let emu: Emulator;
let sdk: OfficialClient;
async function boot(o: EmulatorOptions = {}) {
  await emu?.stop();
  emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 8_000, backupDeleteMs: 3_000 }, ...o });
  sdk = officialClient(emu.url);
}
beforeEach(() => boot());
afterEach(() => emu.stop());

async function vaultWith(resources: unknown[], extra: Record<string, unknown> = {}, billing: Record<string, unknown> = {}) {
  return (await sdk.createVault(vaultBody(`v${Math.random().toString(16).slice(2, 8)}`, { resources, ...extra }, billing))).body.vault;
}
const checkpoint = (vault_id: string, parameters?: Record<string, unknown>) => sdk.createCheckpoint({ checkpoint: { vault_id, ...(parameters ? { parameters } : {}) } });

describe('asynchronous checkpoint', () => {
  it('returns protecting at once, becomes available after the duration, with one backup per resource', async () => {
    const v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    const created = (await checkpoint(v.id, { name: 'nightly', description: 'run 1', resources: [SERVER_A, SERVER_B] })).body.checkpoint;
    expect(created).toMatchObject({
      status: 'protecting',
      project_id: DEMO.projectId,
      vault: { id: v.id, name: v.name, skipped_resources: [] },
      extra_info: { name: 'nightly', description: 'run 1', retention_duration: -1 },
    });
    expect(created.vault.resources).toEqual([
      { id: SERVER_A, type: 'OS::Nova::Server', name: 'ecs-9f93-0002', extra_info: '{}', resource_size: '40', backup_size: '0', backup_count: '0', protect_status: 'protecting' },
      expect.objectContaining({ id: SERVER_B, resource_size: '140', protect_status: 'protecting' }),
    ]);
    expect((await sdk.showVault(v.id)).body.vault.resources.map((r: any) => r.protect_status)).toEqual(['protecting', 'protecting']);

    const backups = (await sdk.listBackups({ checkpoint_id: created.id })).body;
    expect(backups.count).toBe(2);
    for (const b of backups.backups) {
      expect(b).toMatchObject({ checkpoint_id: created.id, vault_id: v.id, status: 'protecting', name: 'nightly', description: 'run 1', resource_type: 'OS::Nova::Server', parent_id: null });
    }
    const web = backups.backups.find((b: any) => b.resource_id === SERVER_B);
    expect(web.children.map((c: any) => [c.resource_id, c.resource_type, c.parent_id, c.resource_size])).toEqual([
      [DEMO.servers[1].disks[0].id, 'OS::Cinder::Volume', web.id, 40],
      [DEMO.servers[1].disks[1].id, 'OS::Cinder::Volume', web.id, 100],
    ]);

    emu.clock.advance(7_999);
    expect((await sdk.showCheckpoint(created.id)).body.checkpoint.status).toBe('protecting');
    emu.clock.advance(1);
    const done = (await sdk.showCheckpoint(created.id)).body.checkpoint;
    expect(done.status).toBe('available');
    expect(done.vault.resources.map((r: any) => [r.protect_status, r.backup_count])).toEqual([
      ['available', '1'],
      ['available', '1'],
    ]);
    const after = (await sdk.listBackups({ checkpoint_id: created.id, status: 'available' })).body;
    expect(after.count).toBe(2);
    expect(after.backups[0].children.every((c: any) => c.status === 'available')).toBe(true);
    const vault = (await sdk.showVault(v.id)).body.vault;
    expect(vault.resources.map((r: any) => r.protect_status)).toEqual(['available', 'available']);
    expect(vault.billing.used).toBe(Math.round((40 + 140) * 1024 * 0.5));
    // a child backup can be read on its own
    expect((await sdk.showBackup(web.children[1].id)).body.backup).toMatchObject({ parent_id: web.id, status: 'available' });
  });

  it('without parameters.resources backs up every resource of the vault; an empty vault -> 0001', async () => {
    const v = await vaultWith([server(SERVER_A), server(SERVER_C)]);
    const c = (await checkpoint(v.id)).body.checkpoint;
    expect(c.vault.resources.map((r: any) => r.id)).toEqual([SERVER_A, SERVER_C]);
    expect(c.extra_info.name).toMatch(/^manualbk_[0-9a-f]{4}$/);
    const empty = await vaultWith([]);
    expect(await sdkFailure(checkpoint(empty.id))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.0001' });
  });

  it('a resource outside the vault -> 6135, unknown resource -> 6302, unknown vault -> 404 6105, bad body -> 9900', async () => {
    const v = await vaultWith([server(SERVER_A)]);
    expect(await sdkFailure(checkpoint(v.id, { resources: [SERVER_B] }))).toMatchObject({ errorCode: 'BackupService.6135' });
    expect(await sdkFailure(checkpoint(v.id, { resources: ['00000000-0000-4000-8000-000000000001'] }))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6302' });
    expect(await sdkFailure(checkpoint('00000000-0000-4000-8000-000000000002'))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6105' });
    const f = await sdkFailure(checkpoint(v.id, { name: 'a b' }));
    expect(f).toMatchObject({ errorCode: 'BackupService.9900' });
    expect(f.errorMsg).toContain('checkpoint.parameters.name');
  });

  it('second and later backups are incremental and smaller', async () => {
    const v = await vaultWith([server(SERVER_A)]);
    await checkpoint(v.id);
    emu.clock.advance(8_000);
    const second = (await checkpoint(v.id)).body.checkpoint;
    emu.clock.advance(8_000);
    const [b2] = (await sdk.listBackups({ checkpoint_id: second.id })).body.backups;
    expect(b2.incremental).toBe(true);
    expect((await sdk.showVault(v.id)).body.vault.billing.used).toBe(Math.round(40 * 1024 * 0.5) + Math.round(40 * 1024 * 0.1));
  });
});

describe('capacity and concurrency', () => {
  it('6114 once used capacity reaches the vault size', async () => {
    const v = await vaultWith([server(SERVER_A)], {}, { size: 20 }); // a full backup of 40 GB uses 20 GB
    await checkpoint(v.id);
    emu.clock.advance(8_000);
    expect((await sdk.showVault(v.id)).body.vault.billing).toMatchObject({ used: 20 * 1024, size: 20, allocated: 40 });
    expect(await sdkFailure(checkpoint(v.id))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6114' });
    // expanding the vault lets backups run again
    await sdk.updateVault(v.id, { vault: { billing: { size: 100 } } });
    expect((await checkpoint(v.id)).status).toBe(200);
  });

  it('auto_expand vaults grow instead of failing', async () => {
    const v = await vaultWith([server(SERVER_A)], { auto_expand: true }, { size: 10 });
    await checkpoint(v.id);
    emu.clock.advance(8_000);
    expect((await checkpoint(v.id)).status).toBe(200);
    expect((await sdk.showVault(v.id)).body.vault.billing.size).toBe(20);
  });

  it('a resource still protecting is reported in skipped_resources; all skipped -> 6125', async () => {
    const v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    await checkpoint(v.id, { resources: [SERVER_A] });
    emu.clock.advance(1_000);
    const second = (await checkpoint(v.id, { resources: [SERVER_A, SERVER_B] })).body.checkpoint;
    expect(second.vault.skipped_resources).toEqual([
      { id: SERVER_A, type: 'OS::Nova::Server', name: 'ecs-9f93-0002', code: 'BackupService.6125', reason: 'the resource is being backed up' },
    ]);
    expect(second.vault.resources.map((r: any) => r.id)).toEqual([SERVER_B]);
    expect((await sdk.listBackups({ checkpoint_id: second.id })).body.count).toBe(1);
    expect(await sdkFailure(checkpoint(v.id, { resources: [SERVER_A] }))).toMatchObject({ errorCode: 'BackupService.6125' });
    emu.clock.advance(8_000);
    expect((await checkpoint(v.id, { resources: [SERVER_A] })).body.checkpoint.vault.skipped_resources).toEqual([]);
  });

  it('quirk concurrentBackup 6125 rejects the call; 1001 rejects while the vault runs any backup', async () => {
    await boot({ quirks: { concurrentBackup: '6125' } });
    let v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    await checkpoint(v.id, { resources: [SERVER_A] });
    expect(await sdkFailure(checkpoint(v.id, { resources: [SERVER_A, SERVER_B] }))).toMatchObject({ errorCode: 'BackupService.6125' });
    await boot({ quirks: { concurrentBackup: '1001' } });
    v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    await checkpoint(v.id, { resources: [SERVER_A] });
    expect(await sdkFailure(checkpoint(v.id, { resources: [SERVER_B] }))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.1001' });
  });

  it('deleting a vault or a backup while a backup runs -> 6203', async () => {
    const v = await vaultWith([server(SERVER_A)]);
    const c = (await checkpoint(v.id)).body.checkpoint;
    const [b] = (await sdk.listBackups({ checkpoint_id: c.id })).body.backups;
    expect(await sdkFailure(sdk.deleteVault(v.id))).toMatchObject({ errorCode: 'BackupService.6203' });
    expect(await sdkFailure(sdk.deleteBackup(b.id))).toMatchObject({ errorCode: 'BackupService.6203' });
    expect(await sdkFailure(sdk.removeVaultResource(v.id, { resource_ids: [SERVER_A] }))).toMatchObject({ errorCode: 'BackupService.6203' });
  });
});

describe('asynchronous deletes', () => {
  it('DeleteBackup: 204, deleting, then 404 6200; the last backup takes its checkpoint with it', async () => {
    const v = await vaultWith([server(SERVER_A)]);
    const c = (await checkpoint(v.id)).body.checkpoint;
    emu.clock.advance(8_000);
    const [b] = (await sdk.listBackups({ checkpoint_id: c.id })).body.backups;
    expect((await sdk.deleteBackup(b.id)).status).toBe(204);
    expect((await sdk.showBackup(b.id)).body.backup.status).toBe('deleting');
    expect((await sdk.showCheckpoint(c.id)).body.checkpoint.status).toBe('deleting');
    expect(await sdkFailure(sdk.deleteBackup(b.id))).toMatchObject({ errorCode: 'BackupService.6201' });
    emu.clock.advance(3_000);
    expect(await sdkFailure(sdk.showBackup(b.id))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6200', errorMsg: 'The backup does not exist.' });
    expect(await sdkFailure(sdk.showCheckpoint(c.id))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6217' });
    expect((await sdk.listBackups({ vault_id: v.id })).body.count).toBe(0);
    expect((await sdk.showVault(v.id)).body.vault.billing.used).toBe(0);
  });

  it('RemoveVaultResource deletes that resource’s backups in the vault', async () => {
    const v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    await checkpoint(v.id);
    emu.clock.advance(8_000);
    await sdk.removeVaultResource(v.id, { resource_ids: [SERVER_A] });
    const list = (await sdk.listBackups({ vault_id: v.id })).body.backups;
    expect(list.map((b: any) => [b.resource_id, b.status]).sort()).toEqual(
      [
        [SERVER_A, 'deleting'],
        [SERVER_B, 'available'],
      ].sort(),
    );
    emu.clock.advance(2_000);
    expect((await sdk.listBackups({ vault_id: v.id })).body.backups.map((b: any) => b.resource_id)).toEqual([SERVER_B]);
    const logs = (await sdk.listOpLogs({ operation_type: 'remove_resource' })).body.operation_logs;
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ status: 'success', extra_info: { resource: { id: SERVER_A } } });
  });

  it('missing checkpoint: 404 6217 by default, 401 "Malformed request url" with the quirk', async () => {
    const missing = '00000000-0000-4000-8000-00000000000c';
    expect(await sdkFailure(sdk.showCheckpoint(missing))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6217' });
    await boot({ quirks: { missingCheckpoint: '401-malformed' } });
    const r = await raw(emu.url, { path: `/v3/${DEMO.projectId}/checkpoints/${missing}`, sign: {} });
    expect(r.status).toBe(401);
    expect(r.json).toEqual({ unauthorized: { code: '401', message: 'Malformed request url' } });
  });
});

describe('operation logs', () => {
  it('one backup task per resource: running with progress -> success at 100', async () => {
    const v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    const c = (await checkpoint(v.id, { name: 'logged' })).body.checkpoint;
    emu.clock.advance(4_000);
    const running = (await sdk.listOpLogs({ operation_type: 'backup', vault_id: v.id })).body;
    expect(running.count).toBe(2);
    for (const o of running.operation_logs) {
      expect(o).toMatchObject({
        operation_type: 'backup',
        status: 'running',
        checkpoint_id: c.id,
        vault_id: v.id,
        vault_name: v.name,
        provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
        ended_at: null,
        error_info: { code: '', message: '' },
        extra_info: { common: { progress: 50, request_id: expect.stringMatching(/^req-/) }, backup: { backup_name: 'logged', incremental: 'false' } },
      });
    }
    expect((await sdk.listOpLogs({ status: 'running' })).body.count).toBe(2);
    emu.clock.advance(4_000);
    const one = (await sdk.showOpLog(running.operation_logs[0].id)).body.operation_log;
    expect(one).toMatchObject({ status: 'success', extra_info: { common: { progress: 100 } } });
    expect(one.ended_at).not.toBeNull();
    const backupId = one.extra_info.backup.backup_id;
    expect((await sdk.showBackup(backupId)).body.backup.checkpoint_id).toBe(c.id);
    expect(await sdkFailure(sdk.showOpLog('00000000-0000-4000-8000-000000000000'))).toEqual(
      expect.objectContaining({ httpStatusCode: 404, errorCode: 'BackupService.6500', errorMsg: 'Operation log does not exist.' }),
    );
    const f = await sdkFailure(sdk.listOpLogs({ operation_type: 'nap' }));
    expect(f.errorMsg).toContain('operation_type');
  });

  it('delete and vault_delete tasks', async () => {
    const v = await vaultWith([server(SERVER_A)]);
    const c = (await checkpoint(v.id)).body.checkpoint;
    emu.clock.advance(8_000);
    const [b] = (await sdk.listBackups({ checkpoint_id: c.id })).body.backups;
    await sdk.deleteBackup(b.id);
    expect((await sdk.listOpLogs({ operation_type: 'delete' })).body.operation_logs[0]).toMatchObject({
      status: 'running',
      extra_info: { delete: { backup_id: b.id } },
    });
    emu.clock.advance(3_000);
    await sdk.deleteVault(v.id);
    expect((await sdk.listOpLogs({ operation_type: 'vault_delete' })).body.operation_logs[0]).toMatchObject({ status: 'running', vault_id: v.id });
    emu.clock.advance(10_000);
    expect((await sdk.listOpLogs({ status: 'success' })).body.count).toBe(3);
  });
});

describe('scripted outcomes', () => {
  it('a checkpoint scripted by name ends in error with the reason in backups and op logs', async () => {
    emu.faults.scriptCheckpoint({ match: { name: 'doomed' }, outcome: 'error', reason: 'snapshot quota exceeded', code: 'BackupService.8300' });
    const v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    const ok = (await checkpoint(v.id, { name: 'fine', resources: [SERVER_A] })).body.checkpoint;
    emu.clock.advance(8_000);
    const bad = (await checkpoint(v.id, { name: 'doomed' })).body.checkpoint;
    emu.clock.advance(8_000);
    expect((await sdk.showCheckpoint(ok.id)).body.checkpoint.status).toBe('available');
    const shown = (await sdk.showCheckpoint(bad.id)).body.checkpoint;
    expect(shown.status).toBe('error');
    expect(shown.vault.resources.every((r: any) => r.protect_status === 'error')).toBe(true);
    expect((await sdk.listBackups({ checkpoint_id: bad.id, status: 'error' })).body.count).toBe(2);
    const logs = (await sdk.listOpLogs({ status: 'failed' })).body.operation_logs;
    expect(logs).toHaveLength(2);
    expect(logs[0].error_info).toEqual({ code: 'BackupService.8300', message: 'snapshot quota exceeded' });
    expect((await sdk.showVault(v.id)).body.vault.resources.map((r: any) => r.protect_status)).toEqual(['error', 'error']);
  });

  it('a partial failure (script on one resource) leaves the checkpoint available', async () => {
    emu.faults.scriptCheckpoint({ outcome: 'error', resourceIds: [SERVER_B] });
    const v = await vaultWith([server(SERVER_A), server(SERVER_B)]);
    const c = (await checkpoint(v.id)).body.checkpoint;
    emu.clock.advance(8_000);
    const shown = (await sdk.showCheckpoint(c.id)).body.checkpoint;
    expect(shown.status).toBe('available');
    expect(shown.vault.resources.map((r: any) => [r.id, r.protect_status])).toEqual([
      [SERVER_A, 'available'],
      [SERVER_B, 'error'],
    ]);
  });

  it("'next' never completes until resolved; scripts are consumed", async () => {
    emu.faults.scriptCheckpoint({ match: 'next', outcome: 'never' });
    const v = await vaultWith([server(SERVER_A)]);
    const stuck = (await checkpoint(v.id)).body.checkpoint;
    emu.clock.advance(3600_000);
    expect((await raw(emu.url, { path: `/v3/${DEMO.projectId}/checkpoints/${stuck.id}`, sign: { date: new Date(emu.clock.now()) } })).json.checkpoint.status).toBe('protecting');
    expect(emu.faults.scripts()).toEqual([]);
    expect(emu.faults.resolveCheckpoint(stuck.id, 'error', 'operator gave up')).toBe(true);
    const r = await raw(emu.url, { path: `/v3/${DEMO.projectId}/checkpoints/${stuck.id}`, sign: { date: new Date(emu.clock.now()) } });
    expect(r.json.checkpoint.status).toBe('error');
    expect(emu.faults.resolveCheckpoint(stuck.id, 'available')).toBe(false);
  });

  it('scripts from options, with an exact duration', async () => {
    await boot({ scripts: [{ match: { name: 'quick' }, outcome: 'available', durationMs: 500 }] });
    const v = await vaultWith([volume(VOLUME_A)], {}, { object_type: 'disk' });
    const c = (await checkpoint(v.id, { name: 'quick' })).body.checkpoint;
    emu.clock.advance(500);
    expect((await sdk.showCheckpoint(c.id)).body.checkpoint.status).toBe('available');
  });
});
