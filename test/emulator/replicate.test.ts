// Several regions in one emulator and ReplicateBackup between them, driven by the official Huawei Node SDK
// on a manual clock: the region is the endpoint's path prefix (`/{region}/v3/...`), each region has its
// own state; the replica appears in the destination's replication vault `protecting`, then `available`
// (image_type replication); the source region's `replication` op log follows it; the checks and codes
// of emulator/operations/replicate.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator, EmulatorOptions } from '../../emulator/index';
import { server, SERVER_A, SERVER_B, VOLUME_A, vaultBody, volume } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

const DEST_REGION = DEMO.other.region; // ap-southeast-3
const DEST_PROJECT = DEMO.other.projectId;
let emu: Emulator;
let src: OfficialClient;
let dst: OfficialClient;
async function boot(o: EmulatorOptions = {}) {
  await emu?.stop();
  emu = await startEmulator({ clock: 'manual', regions: [DEST_REGION], timing: { checkpointMs: 8_000, replicationMs: 20_000 }, ...o });
  src = officialClient(`${emu.url}/${DEMO.region}`);
  dst = officialClient(`${emu.url}/${DEST_REGION}`, { ak: DEMO.ak, sk: DEMO.sk, projectId: DEST_PROJECT });
}
beforeEach(() => boot());
afterEach(() => emu.stop());

async function backupOf(id: string) {
  const vault = (await src.createVault(vaultBody(`v${Math.random().toString(16).slice(2, 8)}`, { resources: [server(id)] }, { size: 5000 }))).body.vault;
  const cp = (await src.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [id] } } })).body.checkpoint;
  emu.clock.advance(8_000);
  return { vault, backup: (await src.listBackups({ checkpoint_id: cp.id })).body.backups[0] };
}
const replicationVault = async (size = 500, name = 'dr_replica') =>
  (await dst.createVault(vaultBody(name, { resources: [] }, { protect_type: 'replication', size }))).body.vault;
const body = (vaultId: string, extra: Record<string, unknown> = {}) => ({
  replicate: { destination_project_id: DEST_PROJECT, destination_region: DEST_REGION, destination_vault_id: vaultId, name: 'copy_of_a', ...extra },
});

describe('regions', () => {
  it('each region has its own state; /v3 without a prefix is the home region', async () => {
    await src.createVault(vaultBody('home_only', { resources: [] }, { size: 100 }));
    await replicationVault();
    const home = officialClient(emu.url);
    expect((await home.listVault()).body.vaults.map((v: any) => v.name)).toEqual(['home_only']);
    expect((await src.listVault()).body.vaults.map((v: any) => v.name)).toEqual(['home_only']);
    expect((await dst.listVault()).body.vaults.map((v: any) => v.name)).toEqual(['dr_replica']);
    expect(emu.state.regions()).toEqual([DEMO.region, DEST_REGION]);
    expect(emu.state.snapshot(DEST_REGION).vaults).toHaveLength(1);
    // The other project's server lives in its own region's catalogue.
    expect((await dst.listProtectable('server')).body.instances.map((i: any) => i.id)).toEqual([DEMO.other.servers[0].id]);
    const unserved = await sdkFailure(officialClient(`${emu.url}/eu-west-101`).listVault());
    expect(unserved.httpStatusCode).toBe(404);
  });
});

describe('ReplicateBackup', () => {
  it('answers the replication record; the replica is protecting, then available in the destination vault; the op log follows it', async () => {
    const { vault, backup } = await backupOf(SERVER_B);
    const target = await replicationVault();
    const res = await src.replicateBackup(backup.id, body(target.id));
    expect(res.status).toBe(200);
    expect(res.body.replication).toMatchObject({
      backup_id: backup.id,
      destination_project_id: DEST_PROJECT,
      destination_region: DEST_REGION,
      destination_vault_id: target.id,
      project_id: DEMO.projectId,
      source_region: DEMO.region,
    });
    expect(typeof res.body.replication.replication_record_id).toBe('string');

    const copies = (await dst.listBackups({ vault_id: target.id })).body.backups;
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ name: 'copy_of_a', status: 'protecting', image_type: 'replication', resource_id: SERVER_B, project_id: DEST_PROJECT, vault_id: target.id });
    expect(copies[0].children).toHaveLength(2);
    expect((await dst.listBackups({ image_type: 'backup' })).body.count).toBe(0);
    const log = (await src.listOpLogs({ operation_type: 'replication' })).body.operation_logs[0];
    expect(log).toMatchObject({
      operation_type: 'replication',
      status: 'running',
      vault_id: vault.id,
      extra_info: { replication: { source_backup_id: backup.id, destination_backup_id: copies[0].id, destination_region: DEST_REGION, destination_vault_id: target.id } },
    });
    // The source region has no such backup; the destination's op logs have no replication.
    expect((await src.listBackups({ image_type: 'replication' })).body.count).toBe(0);

    emu.clock.advance(20_000);
    expect((await dst.showBackup(copies[0].id)).body.backup.status).toBe('available');
    expect((await src.showOpLog(log.id)).body.operation_log).toMatchObject({ status: 'success', extra_info: { common: { progress: 100 } } });
    const records = (await src.showBackup(backup.id)).body.backup.replication_records;
    expect(records).toMatchObject([{ destination_backup_id: copies[0].id, destination_region: DEST_REGION, status: 'available' }]);
    // The replica takes space in the replication vault.
    expect((await dst.showVault(target.id)).body.vault.billing.used).toBeGreaterThan(0);
  });

  it('acceleration halves the time; a replication failed through the admin state ends error and its op log failed', async () => {
    const { backup } = await backupOf(SERVER_A);
    const target = await replicationVault();
    await src.replicateBackup(backup.id, body(target.id, { enable_acceleration: true }));
    const copy = (await dst.listBackups({ vault_id: target.id })).body.backups[0];
    emu.clock.advance(10_000);
    expect((await dst.showBackup(copy.id)).body.backup.status).toBe('available');

    const other = await backupOf(SERVER_B);
    await src.replicateBackup(other.backup.id, body(target.id));
    const copy2 = (await dst.listBackups({ vault_id: target.id, status: 'protecting' })).body.backups[0];
    expect(emu.state.resolveReplication(copy2.id, 'failed', 'link down')).toBe(true);
    expect((await dst.showBackup(copy2.id)).body.backup.status).toBe('error');
    const log = (await src.listOpLogs({ operation_type: 'replication', status: 'failed' })).body.operation_logs[0];
    expect(log.error_info).toEqual({ code: 'BackupService.9910', message: 'link down' });
    // A failed replication may be retried.
    expect((await src.replicateBackup(other.backup.id, body(target.id))).status).toBe(200);
  });

  it('refuses what CBR refuses', async () => {
    const { backup } = await backupOf(SERVER_A);
    const target = await replicationVault(40);
    const backupVault = (await dst.createVault(vaultBody('plain', { resources: [] }, { size: 100 }))).body.vault;
    const fail = (p: Promise<unknown>) => sdkFailure(p);

    expect(await fail(src.replicateBackup(backup.id, body(target.id, { destination_region: DEMO.region })))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.1011' });
    expect(await fail(src.replicateBackup(backup.id, body(target.id, { destination_region: 'eu-west-101' })))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.1011' });
    expect(await fail(src.replicateBackup(backup.id, body(target.id, { destination_project_id: DEMO.projectId })))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.1011' });
    expect(await fail(src.replicateBackup(backup.id, body('0ca3eb86-8800-46da-9c37-9d657a825274')))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6105' });
    expect(await fail(src.replicateBackup(backup.id, body(backupVault.id)))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6124' });
    expect(await fail(src.replicateBackup(backup.id, { replicate: { destination_region: DEST_REGION } }))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(await fail(src.replicateBackup(backup.id, body(target.id, { name: 'bad name!' })))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(await fail(src.replicateBackup('a5200268-74a5-4806-acc6-95793ab0228b', body(target.id)))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6200' });
    const child = await fail(src.replicateBackup(backup.children[0].id, body(target.id)));
    expect(child).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });

    // One replica per destination region: a second call while the first runs (or after it) is refused.
    expect((await src.replicateBackup(backup.id, body(target.id))).status).toBe(200);
    const again = await fail(src.replicateBackup(backup.id, body(target.id)));
    expect(again).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(again.errorMsg).toContain('already has a replica');
    expect((await dst.listBackups({ vault_id: target.id })).body.count).toBe(1);

    // Disk backups cannot be replicated; a backup still protecting neither.
    const dv = (await src.createVault(vaultBody('disks', { resources: [volume(VOLUME_A)] }, { object_type: 'disk', size: 500 }))).body.vault;
    const dcp = (await src.createCheckpoint({ checkpoint: { vault_id: dv.id, parameters: { resources: [VOLUME_A] } } })).body.checkpoint;
    const running = (await src.listBackups({ checkpoint_id: dcp.id })).body.backups[0];
    emu.clock.advance(8_000);
    expect(await fail(src.replicateBackup(running.id, body(target.id)))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6102' });
  });

  it('a replica that does not fit its vault ends error with 6114', async () => {
    const { backup } = await backupOf(SERVER_B);
    const small = await replicationVault(10, 'tiny');
    await src.replicateBackup(backup.id, body(small.id));
    emu.clock.advance(30_000);
    const copy = (await dst.listBackups({ vault_id: small.id })).body.backups[0];
    expect(copy.status).toBe('error');
    expect((await src.listOpLogs({ operation_type: 'replication' })).body.operation_logs[0]).toMatchObject({ status: 'failed', error_info: { code: 'BackupService.6114' } });
  });

  it('stateFile keeps one region: refused with regions', async () => {
    await expect(startEmulator({ regions: [DEST_REGION], stateFile: '/tmp/never-written.json' })).rejects.toThrow(/stateFile keeps one region/);
  });
});
