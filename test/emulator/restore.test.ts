// RestoreBackup on a manual clock, driven by the official Huawei Node SDK: 202 and no body, the op log
// `restore` running for timing.restoreMs then success (or failed through the admin state), the checks CBR
// makes (backup available, target exists, mappings onto the target's disks with sizes, conflicts with a
// running backup 2002 and restore 2010) with the codes of OTC error_codes.rst, and the target's disks
// read back through ListProtectable as cbr-flow does.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator, EmulatorOptions } from '../../emulator/index';
import { server, SERVER_A, SERVER_B, SERVER_C, SERVER_D, vaultBody } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

let emu: Emulator;
let sdk: OfficialClient;
async function boot(o: EmulatorOptions = {}) {
  await emu?.stop();
  emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 8_000, restoreMs: 20_000 }, ...o });
  sdk = officialClient(emu.url);
}
beforeEach(() => boot());
afterEach(() => emu.stop());

/** A vault holding `ids`, one finished backup of `backedUp`: the server backup (with its disk children). */
async function backupOf(backedUp: string, ids: string[] = [backedUp]) {
  const vault = (await sdk.createVault(vaultBody(`v${Math.random().toString(16).slice(2, 8)}`, { resources: ids.map((id) => server(id)) }, { size: 5000 }))).body.vault;
  const cp = (await sdk.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [backedUp] } } })).body.checkpoint;
  emu.clock.advance(8_000);
  const backup = (await sdk.listBackups({ checkpoint_id: cp.id })).body.backups[0];
  return { vault, backup };
}
const disksOf = (serverId: string) => DEMO.servers.find((s) => s.id === serverId)!.disks;
const restoreBody = (serverId: string, mappings: Array<{ backup_id: string; volume_id: string }>, power_on = false) => ({ restore: { server_id: serverId, power_on, mappings } });

describe('RestoreBackup', () => {
  it('answers 202 without a body; the restore op log runs for restoreMs, then succeeds; filterable by operation_type', async () => {
    const { vault, backup } = await backupOf(SERVER_A);
    const target = disksOf(SERVER_D)[0]!;
    const res = await sdk.restoreBackup(backup.id, restoreBody(SERVER_D, [{ backup_id: backup.children[0].id, volume_id: target.id }]));
    expect(res.status).toBe(202);
    expect(Object.keys(res.body)).toEqual([]);

    const logs = (await sdk.listOpLogs({ operation_type: 'restore' })).body;
    expect(logs.count).toBe(1);
    const log = logs.operation_logs[0];
    expect(log).toMatchObject({
      operation_type: 'restore',
      status: 'running',
      vault_id: vault.id,
      checkpoint_id: backup.checkpoint_id,
      extra_info: {
        resource: { id: SERVER_D, name: 'ecs-app-01', type: 'OS::Nova::Server' },
        restore: { backup_id: backup.id, backup_name: backup.name, target_resource_id: SERVER_D, target_resource_name: 'ecs-app-01' },
      },
    });
    expect((await sdk.listOpLogs({ operation_type: 'backup' })).body.operation_logs.every((o: any) => o.operation_type === 'backup')).toBe(true);
    expect((await sdk.listOpLogs({ operation_type: 'restore', resource_id: SERVER_D, status: 'running' })).body.count).toBe(1);

    emu.clock.advance(10_000);
    expect((await sdk.showOpLog(log.id)).body.operation_log).toMatchObject({ status: 'running', extra_info: { common: { progress: 50 } } });
    emu.clock.advance(10_000);
    const done = (await sdk.showOpLog(log.id)).body.operation_log;
    expect(done).toMatchObject({ status: 'success', error_info: { code: '', message: '' }, extra_info: { common: { progress: 100 } } });
    expect(Date.parse(`${done.ended_at}Z`) - Date.parse(`${done.started_at}Z`)).toBe(20_000);
    // The backup restored from is untouched and can be restored again.
    expect((await sdk.showBackup(backup.id)).body.backup.status).toBe('available');
  });

  it('while it runs, the backup is restoring: DeleteBackup 6216, another restore from it 2010, a second restore onto the target 2010; both free again at the end', async () => {
    const { backup } = await backupOf(SERVER_A, [SERVER_A, SERVER_D]);
    const ontoD = restoreBody(SERVER_D, [{ backup_id: backup.children[0].id, volume_id: disksOf(SERVER_D)[0]!.id }]);
    const ontoA = restoreBody(SERVER_A, [{ backup_id: backup.children[0].id, volume_id: disksOf(SERVER_A)[0]!.id }]);
    expect((await sdk.restoreBackup(backup.id, ontoD)).status).toBe(202);
    expect((await sdk.showBackup(backup.id)).body.backup.status).toBe('restoring');
    expect(await sdkFailure(sdk.deleteBackup(backup.id))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6216' });
    expect(await sdkFailure(sdk.restoreBackup(backup.id, ontoA))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2010' });
    // another backup onto the same target while the first restore runs
    const second = (await sdk.createCheckpoint({ checkpoint: { vault_id: backup.vault_id, parameters: { resources: [SERVER_A] } } })).body.checkpoint;
    emu.clock.advance(8_000);
    const other = (await sdk.listBackups({ checkpoint_id: second.id })).body.backups[0];
    expect(await sdkFailure(sdk.restoreBackup(other.id, restoreBody(SERVER_D, [{ backup_id: other.children[0].id, volume_id: disksOf(SERVER_D)[0]!.id }])))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2010' });
    emu.clock.advance(12_000);
    expect((await sdk.showBackup(backup.id)).body.backup.status).toBe('available');
    expect((await sdk.restoreBackup(other.id, restoreBody(SERVER_D, [{ backup_id: other.children[0].id, volume_id: disksOf(SERVER_D)[0]!.id }]))).status).toBe(202);
    expect((await sdk.deleteBackup(backup.id)).status).toBe(204);
  });

  it('a restore ended early through the admin state frees the backup at once', async () => {
    const { backup } = await backupOf(SERVER_A);
    await sdk.restoreBackup(backup.id, restoreBody(SERVER_A, [{ backup_id: backup.children[0].id, volume_id: disksOf(SERVER_A)[0]!.id }]));
    const log = (await sdk.listOpLogs({ operation_type: 'restore' })).body.operation_logs[0];
    expect((await sdk.showBackup(backup.id)).body.backup.status).toBe('restoring');
    emu.state.resolveRestore(log.id, 'success');
    expect((await sdk.showBackup(backup.id)).body.backup.status).toBe('available');
  });

  it('a restore failed through the admin state ends failed with its reason', async () => {
    const { backup } = await backupOf(SERVER_A);
    await sdk.restoreBackup(backup.id, restoreBody(SERVER_A, [{ backup_id: backup.children[0].id, volume_id: disksOf(SERVER_A)[0]!.id }]));
    const log = (await sdk.listOpLogs({ operation_type: 'restore' })).body.operation_logs[0];
    expect(emu.state.resolveRestore(log.id, 'failed', 'disk attach failed')).toBe(true);
    expect((await sdk.showOpLog(log.id)).body.operation_log).toMatchObject({ status: 'failed', error_info: { code: 'BackupService.9910', message: 'disk attach failed' } });
    expect(emu.state.resolveRestore(log.id, 'success')).toBe(false);
  });

  it('refuses what CBR refuses, with its codes', async () => {
    const { vault, backup } = await backupOf(SERVER_B, [SERVER_B, SERVER_C]);
    const [sys, data] = backup.children.sort((a: any, b: any) => b.extend_info.bootable - a.extend_info.bootable);
    const [cSys, cData] = disksOf(SERVER_C);
    const fail = (id: string, body: unknown) => sdkFailure(sdk.restoreBackup(id, body));
    // unknown backup
    expect(await fail('00000000-0000-4000-8000-000000000000', restoreBody(SERVER_C, []))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6200' });
    // body
    expect((await fail(backup.id, { restore: { server_id: SERVER_C } })).errorMsg).toMatch(/restore\.mappings: is mandatory/);
    expect((await fail(backup.id, { restore: { server_id: SERVER_C, mappings: [], extra: 1 } })).errorCode).toBe('BackupService.9900');
    // target unknown / deleted
    expect(await fail(backup.id, restoreBody('00000000-0000-4000-8000-000000000001', [{ backup_id: sys.id, volume_id: cSys!.id }]))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6302' });
    // mappings: a disk of another server, a disk backup left out, smaller disk, data backup onto the system disk
    expect((await fail(backup.id, restoreBody(SERVER_C, [{ backup_id: sys.id, volume_id: disksOf(SERVER_A)[0]!.id }, { backup_id: data.id, volume_id: cData!.id }]))).errorMsg).toMatch(/mappings\[0\]\.volume_id: .* is not a disk of server/);
    expect((await fail(backup.id, restoreBody(SERVER_C, [{ backup_id: sys.id, volume_id: cSys!.id }]))).errorMsg).toMatch(/has no target disk/);
    expect((await fail(backup.id, restoreBody(SERVER_C, [{ backup_id: sys.id, volume_id: cData!.id }, { backup_id: data.id, volume_id: cSys!.id }]))).errorCode).toBe('BackupService.2013');

    // a running backup of the target: 2002; a running restore onto it: 2010, and CreateCheckpoint of it 2010
    const good = restoreBody(SERVER_C, [{ backup_id: sys.id, volume_id: cSys!.id }, { backup_id: data.id, volume_id: cData!.id }]);
    await sdk.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [SERVER_C] } } });
    expect(await fail(backup.id, good)).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2002' });
    emu.clock.advance(8_000);
    expect((await sdk.restoreBackup(backup.id, good)).status).toBe(202);
    expect(await fail(backup.id, good)).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2010' });
    expect(await sdkFailure(sdk.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [SERVER_C] } } }))).toMatchObject({ errorCode: 'BackupService.2010' });
    // the other server of the vault is still backed up normally
    expect((await sdk.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [SERVER_B] } } })).status).toBe(200);
    emu.clock.advance(20_000);
    expect((await sdk.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [SERVER_C] } } })).status).toBe(200);

    // a larger disk backup onto a smaller disk: 2001 (the 200 GB data disk of ecs-db-01 onto the 100 GB one of ecs-web-01)
    emu.clock.advance(8_000);
    const dbBackup = (await sdk.listBackups({ resource_id: SERVER_C, status: 'available' })).body.backups[0];
    const [dbSys, dbData] = dbBackup.children.sort((a: any, b: any) => b.extend_info.bootable - a.extend_info.bootable);
    const [bSys, bData] = disksOf(SERVER_B);
    expect(await fail(dbBackup.id, restoreBody(SERVER_B, [{ backup_id: dbSys.id, volume_id: bSys!.id }, { backup_id: dbData.id, volume_id: bData!.id }]))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2001' });
    // a backup still protecting: 2005
    const cp = (await sdk.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [SERVER_B] } } })).body.checkpoint;
    const running = (await sdk.listBackups({ checkpoint_id: cp.id })).body.backups[0];
    expect(await fail(running.id, restoreBody(SERVER_B, [{ backup_id: running.children[0].id, volume_id: bSys!.id }]))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2005' });
  });

  it('a deleted target server: 2007; restoring onto another server can be refused (quirk restoreToOtherServer 2003)', async () => {
    const { backup } = await backupOf(SERVER_A);
    const mapping = [{ backup_id: backup.children[0].id, volume_id: disksOf(SERVER_D)[0]!.id }];
    emu.state.deleteResource(SERVER_D);
    expect(await sdkFailure(sdk.restoreBackup(backup.id, restoreBody(SERVER_D, mapping)))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.2007' });
    await boot({ quirks: { restoreToOtherServer: '2003' } });
    const again = await backupOf(SERVER_A);
    expect(await sdkFailure(sdk.restoreBackup(again.backup.id, restoreBody(SERVER_D, [{ backup_id: again.backup.children[0].id, volume_id: disksOf(SERVER_D)[0]!.id }])))).toMatchObject({ errorCode: 'BackupService.2003' });
    expect((await sdk.restoreBackup(again.backup.id, restoreBody(SERVER_A, [{ backup_id: again.backup.children[0].id, volume_id: disksOf(SERVER_A)[0]!.id }]))).status).toBe(202);
  });

  it("the target's disks, with sizes and the system disk, read through ListProtectable(disk, server_id) and ShowProtectable(server)", async () => {
    const disks = (await sdk.listProtectable('disk', { server_id: SERVER_C })).body.instances;
    expect(disks.map((d: any) => [d.id, d.size, d.detail.bootable])).toEqual(disksOf(SERVER_C).map((d) => [d.id, d.sizeGb, String('bootable' in d && d.bootable === true)]));
    const attached = (await sdk.showProtectable('server', SERVER_C)).body.instance.detail['os-extended-volumes:volumes_attached'];
    expect(attached.map((a: any) => [a.id, a.bootIndex])).toEqual([[disksOf(SERVER_C)[0]!.id, '0'], [disksOf(SERVER_C)[1]!.id, null]]);
  });

  it('a restore survives an emulator restart (state file) and still blocks the target', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const stateFile = join(mkdtempSync(join(tmpdir(), 'emu-restore-')), 'state.json');
    await boot({ stateFile });
    const { backup } = await backupOf(SERVER_A);
    const body = restoreBody(SERVER_A, [{ backup_id: backup.children[0].id, volume_id: disksOf(SERVER_A)[0]!.id }]);
    await sdk.restoreBackup(backup.id, body);
    const now = emu.clock.now();
    await boot({ stateFile, startTime: now });
    expect(await sdkFailure(sdk.restoreBackup(backup.id, body))).toMatchObject({ errorCode: 'BackupService.2010' });
    expect((await sdk.listOpLogs({ operation_type: 'restore' })).body.operation_logs[0].status).toBe('running');
  });
});
