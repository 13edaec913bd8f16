// The sharing state machine across two projects (different accounts, each with its own AK/SK):
// AddMember -> pending; recipient accepts into a vault of matching type (6713) or rejects; DeleteMember;
// 6700/6702/6703/6704/6705/6701; visibility of accepted backups with own_type=shared|all_granted.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator } from '../../emulator/index';
import { PEER_SERVER, server, SERVER_A, vaultBody, volume, VOLUME_A } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

let emu: Emulator;
let owner: OfficialClient;
let peer: OfficialClient;
beforeEach(async () => {
  emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 5_000 } });
  owner = officialClient(emu.url);
  peer = officialClient(emu.url, { ak: DEMO.peer.ak, sk: DEMO.peer.sk, projectId: DEMO.peerProjectId });
});
afterEach(() => emu.stop());

async function availableBackup(client: OfficialClient, resources: unknown[], billing: Record<string, unknown> = {}) {
  const v = (await client.createVault(vaultBody(`src${Math.random().toString(16).slice(2, 6)}`, { resources }, billing))).body.vault;
  const c = (await client.createCheckpoint({ checkpoint: { vault_id: v.id } })).body.checkpoint;
  emu.clock.advance(5_000);
  const [b] = (await client.listBackups({ checkpoint_id: c.id })).body.backups;
  return { vault: v, backup: b };
}

describe('sharing', () => {
  it('pending -> accepted with a vault, visible to the recipient only with own_type shared|all_granted', async () => {
    const { backup } = await availableBackup(owner, [server(SERVER_A)]);
    const added = (await owner.addMember(backup.id, { members: [DEMO.peerProjectId] })).body;
    expect(added.members).toHaveLength(1);
    expect(added.count).toBeUndefined(); // AddMember answers carry no count (both documented examples)
    expect(added.members[0]).toMatchObject({ status: 'pending', backup_id: backup.id, dest_project_id: DEMO.peerProjectId, vault_id: null, image_id: null, updated_at: null });
    expect(added.members[0].id).toMatch(/^[0-9a-f-]{36}$/);

    // the recipient sees a pending share only when asking for shared backups
    expect((await peer.listBackups()).body.count).toBe(0);
    expect((await peer.listBackups({ own_type: 'shared', member_status: 'pending' })).body.count).toBe(1);

    const peerVault = (await peer.createVault(vaultBody('inbox'))).body.vault;
    const f = await sdkFailure(peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted' }));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(f.errorMsg).toContain('vault_id');
    const accepted = (await peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted', vault_id: peerVault.id })).body.member;
    expect(accepted).toMatchObject({ status: 'accepted', vault_id: peerVault.id, dest_project_id: DEMO.peerProjectId });
    expect(accepted.updated_at).not.toBeNull();

    expect((await peer.listBackups()).body.count).toBe(0); // own_type defaults to private
    for (const ownType of ['shared', 'all_granted']) {
      const list = (await peer.listBackups({ own_type: ownType })).body;
      expect(list.count).toBe(1);
      expect(list.backups[0]).toMatchObject({ id: backup.id, project_id: DEMO.projectId, vault_id: peerVault.id, status: 'available' });
    }
    expect((await peer.showBackup(backup.id)).body.backup).toMatchObject({ project_id: DEMO.projectId, vault_id: peerVault.id });

    // owner-side views
    expect((await owner.showMemberDetail(backup.id, DEMO.peerProjectId)).body.member.status).toBe('accepted');
    expect((await owner.showMembersDetail(backup.id, { status: 'accepted' })).body).toMatchObject({ count: 1 });
    expect((await owner.listBackups({ member_status: 'accepted' })).body.count).toBe(1);
    expect((await owner.showBackup(backup.id)).body.backup.vault_id).not.toBe(peerVault.id);
  });

  it('rejected needs no vault and hides the backup; DeleteMember by the owner returns 204 and 6705 afterwards', async () => {
    const { backup } = await availableBackup(owner, [server(SERVER_A)]);
    await owner.addMember(backup.id, { members: [DEMO.peerProjectId] });
    const rejected = (await peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'rejected' })).body.member;
    expect(rejected).toMatchObject({ status: 'rejected', vault_id: null });
    expect((await peer.listBackups({ own_type: 'shared' })).body.count).toBe(0);
    expect(await sdkFailure(peer.showBackup(backup.id))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6200' });
    expect((await owner.deleteMember(backup.id, DEMO.peerProjectId)).status).toBe(204);
    expect(await sdkFailure(owner.showMemberDetail(backup.id, DEMO.peerProjectId))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6705' });
    expect(await sdkFailure(owner.deleteMember(backup.id, DEMO.peerProjectId))).toMatchObject({ errorCode: 'BackupService.6705' });
  });

  it('6713 when the accepting vault type differs from the backup resource type', async () => {
    const { backup } = await availableBackup(owner, [server(SERVER_A)]);
    await owner.addMember(backup.id, { members: [DEMO.peerProjectId] });
    const diskVault = (await peer.createVault(vaultBody('disks', {}, { object_type: 'disk' }))).body.vault;
    expect(await sdkFailure(peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted', vault_id: diskVault.id }))).toMatchObject({
      httpStatusCode: 400,
      errorCode: 'BackupService.6713',
    });
    // a vault of another project is not the recipient's
    const ownerVault = (await owner.createVault(vaultBody('owners'))).body.vault;
    expect(await sdkFailure(peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted', vault_id: ownerVault.id }))).toMatchObject({
      errorCode: 'BackupService.6105',
    });
  });

  it('6702 while protecting, 6703 duplicate, 6704 bad or own project, 6700 disk backup', async () => {
    const v = (await owner.createVault(vaultBody('src', { resources: [server(SERVER_A)] }))).body.vault;
    const c = (await owner.createCheckpoint({ checkpoint: { vault_id: v.id } })).body.checkpoint;
    const [b] = (await owner.listBackups({ checkpoint_id: c.id })).body.backups;
    expect(await sdkFailure(owner.addMember(b.id, { members: [DEMO.peerProjectId] }))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6702' });
    emu.clock.advance(5_000);
    await owner.addMember(b.id, { members: [DEMO.peerProjectId] });
    expect(await sdkFailure(owner.addMember(b.id, { members: [DEMO.peerProjectId] }))).toMatchObject({ errorCode: 'BackupService.6703' });
    expect(await sdkFailure(owner.addMember(b.id, { members: ['not-a-project'] }))).toMatchObject({ errorCode: 'BackupService.6704' });
    expect(await sdkFailure(owner.addMember(b.id, { members: [DEMO.projectId] }))).toMatchObject({ errorCode: 'BackupService.6704' });
    expect(await sdkFailure(owner.addMember(b.id, { members: [] }))).toMatchObject({ errorCode: 'BackupService.9900' });
    const disk = await availableBackup(owner, [volume(VOLUME_A)], { object_type: 'disk' });
    expect(await sdkFailure(owner.addMember(disk.backup.id, { members: [DEMO.peerProjectId] }))).toMatchObject({ errorCode: 'BackupService.6700' });
    // the recipient cannot add members to a backup it does not own
    expect(await sdkFailure(peer.addMember(b.id, { members: [DEMO.projectId] }))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6200' });
  });

  it('quirk shareableTypes lets disk backups be shared; 6701 beyond maxMembersPerBackup', async () => {
    await emu.stop();
    const extra = Array.from({ length: 3 }, (_, i) => ({ id: `${String(i).repeat(32)}`.slice(0, 32), name: `p${i}`, domainName: `d${i}` }));
    emu = await startEmulator({
      clock: 'manual',
      timing: { checkpointMs: 5_000 },
      projects: [...DEMO.projects, ...extra],
      limits: { maxMembersPerBackup: 2 },
      quirks: { shareableTypes: ['OS::Nova::Server', 'OS::Cinder::Volume'] },
    });
    owner = officialClient(emu.url);
    const disk = await availableBackup(owner, [volume(VOLUME_A)], { object_type: 'disk' });
    expect((await owner.addMember(disk.backup.id, { members: [DEMO.peerProjectId, extra[0]!.id] })).body.members).toHaveLength(2);
    expect(await sdkFailure(owner.addMember(disk.backup.id, { members: [extra[1]!.id] }))).toMatchObject({ errorCode: 'BackupService.6701' });
  });

  it('only the destination project answers a share; deleting the backup removes it from the recipient', async () => {
    const { backup } = await availableBackup(owner, [server(SERVER_A)]);
    await owner.addMember(backup.id, { members: [DEMO.peerProjectId] });
    const peerVault = (await peer.createVault(vaultBody('inbox', { resources: [server(PEER_SERVER)] }))).body.vault;
    expect(await sdkFailure(owner.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted', vault_id: peerVault.id }))).toMatchObject({
      errorCode: 'BackupService.6706',
    });
    await peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted', vault_id: peerVault.id });
    expect((await peer.showMemberDetail(backup.id, DEMO.peerProjectId)).body.member.status).toBe('accepted');
    expect(await sdkFailure(peer.showMembersDetail(backup.id))).toMatchObject({ httpStatusCode: 404 });
    await owner.deleteBackup(backup.id);
    emu.clock.advance(5_000);
    expect((await peer.listBackups({ own_type: 'shared' })).body.count).toBe(0);
    expect(await sdkFailure(peer.showBackup(backup.id))).toMatchObject({ errorCode: 'BackupService.6200' });
  });

  it('revoking an accepted share (DeleteMember by the owner) ends the recipient\'s access; the recipient cannot revoke', async () => {
    const { backup } = await availableBackup(owner, [server(SERVER_A)]);
    await owner.addMember(backup.id, { members: [DEMO.peerProjectId] });
    const peerVault = (await peer.createVault(vaultBody('inbox'))).body.vault;
    await peer.updateMemberStatus(backup.id, DEMO.peerProjectId, { status: 'accepted', vault_id: peerVault.id });
    expect((await peer.listBackups({ own_type: 'shared' })).body.count).toBe(1);
    expect(await sdkFailure(peer.deleteMember(backup.id, DEMO.peerProjectId))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6200' });
    expect((await owner.deleteMember(backup.id, DEMO.peerProjectId)).status).toBe(204);
    expect((await peer.listBackups({ own_type: 'shared' })).body.count).toBe(0);
    expect(await sdkFailure(peer.showBackup(backup.id))).toMatchObject({ errorCode: 'BackupService.6200' });
    expect(await sdkFailure(owner.deleteMember(backup.id, DEMO.peerProjectId))).toMatchObject({ errorCode: 'BackupService.6705' });
  });
});
