// Vaults through the official SDK: shapes, 9900 validation naming the field, exclusive resource binding
// (6103/6104/6102/6100/6302/7116), capacity accounting, list semantics, updates and asynchronous deletes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator } from '../../emulator/index';
import { raw, server, SERVER_A, SERVER_B, SERVER_C, vaultBody, volume, VOLUME_A } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

let emu: Emulator;
let sdk: OfficialClient;
beforeEach(async () => {
  emu = await startEmulator({ clock: 'manual' });
  sdk = officialClient(emu.url);
});
afterEach(() => emu.stop());

describe('CreateVault', () => {
  it('binds resources and accounts allocated capacity as the sum of their sizes', async () => {
    const r = await sdk.createVault(vaultBody('v1', { resources: [server(SERVER_A), server(SERVER_B, 'web')] }));
    const v = r.body.vault;
    expect(v.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(v.billing).toMatchObject({ allocated: 40 + 140, used: 0, size: 200, status: 'available', charging_mode: 'post_paid', spec_code: 'vault.backup.server.normal' });
    expect(v.resources).toEqual([
      expect.objectContaining({ id: SERVER_A, type: 'OS::Nova::Server', name: 'ecs-9f93-0002', size: 40, protect_status: 'available', backup_count: 0 }),
      expect.objectContaining({ id: SERVER_B, name: 'web', size: 140 }),
    ]);
    expect(v.project_id).toBe(DEMO.projectId);
    expect(v.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    expect((await sdk.showVault(v.id)).body.vault).toEqual(v);
  });

  it.each([
    ['vault.name', vaultBody('bad name!')],
    ['vault.billing.size', vaultBody('v', {}, { size: 5 })],
    ['vault.billing.object_type', vaultBody('v', {}, { object_type: 'tape' })],
    ['vault.billing.period_type', vaultBody('v', {}, { charging_mode: 'pre_paid' })],
    ['vault.resources', { vault: { ...vaultBody('v').vault, resources: undefined } }],
    ['vault.resources[0].type', vaultBody('v', { resources: [{ id: SERVER_A, type: 'OS::Nova::Serverr' }] })],
    ['vault.description', vaultBody('v', { description: '<script>' })],
    ['vault.tags', vaultBody('v', { tags: [] })],
    ['vault.enable_acceleration', vaultBody('v', { enable_acceleration: true })],
  ])('400 BackupService.9900 naming %s', async (field, body) => {
    const f = await sdkFailure(sdk.createVault(body));
    expect(f.httpStatusCode).toBe(400);
    expect(f.errorCode).toBe('BackupService.9900');
    expect(f.errorMsg).toContain(field);
  });

  it('unknown keys are tolerated with quirks.rejectUnknownFields=false', async () => {
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', quirks: { rejectUnknownFields: false } });
    const r = await officialClient(emu.url).createVault(vaultBody('v', { enable_acceleration: true }));
    expect(r.body.vault.name).toBe('v');
  });

  it('body that is not JSON -> 9900', async () => {
    const r = await raw(emu.url, { method: 'POST', path: `/v3/${DEMO.projectId}/vaults`, body: '{"vault":', sign: {} });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error_code: 'BackupService.9900', error_msg: expect.stringContaining('not valid JSON') });
  });

  it('pre_paid vaults are orders: the vault appears once paid (admin call), carries its order id and cannot be deleted (6111)', async () => {
    const r = (await sdk.createVault(vaultBody('pp', {}, { charging_mode: 'pre_paid', period_type: 'month', period_num: 1 }))).body;
    expect(r).toMatchObject({ retCode: 0, error_code: '0', orders: [{ orderId: expect.stringMatching(/^CS/) }] });
    expect(r.vault).toBeUndefined();
    const { orderId, resourceId } = r.orders[0];
    expect(await sdkFailure(sdk.showVault(resourceId))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6105' });
    expect(emu.state.payOrder(orderId)).toBe(true);
    expect(emu.state.payOrder(orderId)).toBe(false);
    const v = (await sdk.showVault(resourceId)).body.vault;
    expect(v.billing).toMatchObject({ charging_mode: 'pre_paid', order_id: orderId });
    expect(await sdkFailure(sdk.deleteVault(v.id))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6111' });
  });

  it('an auto-paid order is paid after timing.orderPayMs', async () => {
    const r = (await sdk.createVault(vaultBody('auto', {}, { charging_mode: 'pre_paid', period_type: 'year', period_num: 1, is_auto_pay: true }))).body;
    const id = r.orders[0].resourceId;
    expect(await sdkFailure(sdk.showVault(id))).toMatchObject({ httpStatusCode: 404 });
    emu.clock.advance(2_000);
    expect((await sdk.showVault(id)).body.vault.name).toBe('auto');
  });

  it("quirk prePaidCreate: 'vault' answers the vault at once", async () => {
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', quirks: { prePaidCreate: 'vault' } });
    sdk = officialClient(emu.url);
    const v = (await sdk.createVault(vaultBody('pp', {}, { charging_mode: 'pre_paid', period_type: 'month', period_num: 1 }))).body.vault;
    expect(v.billing).toMatchObject({ charging_mode: 'pre_paid', order_id: expect.stringMatching(/^CS/) });
  });
});

describe('exclusive resource binding', () => {
  it('6103 when the resource is in another vault (also across create and add)', async () => {
    const v1 = (await sdk.createVault(vaultBody('v1', { resources: [server(SERVER_A)] }))).body.vault;
    expect(await sdkFailure(sdk.createVault(vaultBody('v2', { resources: [server(SERVER_A)] })))).toMatchObject({
      httpStatusCode: 400,
      errorCode: 'BackupService.6103',
    });
    const v2 = (await sdk.createVault(vaultBody('v2'))).body.vault;
    expect(await sdkFailure(sdk.addVaultResource(v2.id, { resources: [server(SERVER_B), server(SERVER_A)] }))).toMatchObject({ errorCode: 'BackupService.6103' });
    // nothing of a rejected request is bound
    expect((await sdk.showVault(v2.id)).body.vault.resources).toEqual([]);
    // after removal it can move
    expect((await sdk.removeVaultResource(v1.id, { resource_ids: [SERVER_A] })).body).toEqual({ remove_resource_ids: [SERVER_A] });
    expect((await sdk.addVaultResource(v2.id, { resources: [server(SERVER_A)] })).body).toEqual({ add_resource_ids: [SERVER_A] });
  });

  it('6104 duplicates in one request, 6102 type vs object_type, 6302 unknown or foreign resource, 7116 already in this vault', async () => {
    const v = (await sdk.createVault(vaultBody('v'))).body.vault;
    expect(await sdkFailure(sdk.addVaultResource(v.id, { resources: [server(SERVER_A), server(SERVER_A)] }))).toMatchObject({ errorCode: 'BackupService.6104' });
    expect(await sdkFailure(sdk.addVaultResource(v.id, { resources: [volume(VOLUME_A)] }))).toMatchObject({ errorCode: 'BackupService.6102', httpStatusCode: 400 });
    expect(await sdkFailure(sdk.addVaultResource(v.id, { resources: [server('00000000-0000-4000-8000-000000000000')] }))).toMatchObject({
      httpStatusCode: 404,
      errorCode: 'BackupService.6302',
    });
    expect(await sdkFailure(sdk.addVaultResource(v.id, { resources: [server(DEMO.peer.servers[0].id)] }))).toMatchObject({ errorCode: 'BackupService.6302' });
    expect(await sdkFailure(sdk.addVaultResource(v.id, { resources: [volume(SERVER_A)] }))).toMatchObject({ errorCode: 'BackupService.6302' });
    await sdk.addVaultResource(v.id, { resources: [server(SERVER_A)] });
    expect(await sdkFailure(sdk.addVaultResource(v.id, { resources: [server(SERVER_A)] }))).toMatchObject({ errorCode: 'BackupService.7116' });
    const dv = (await sdk.createVault(vaultBody('dv', {}, { object_type: 'disk' }))).body.vault;
    expect(dv.billing.spec_code).toBe('vault.backup.volume.normal');
    await sdk.addVaultResource(dv.id, { resources: [volume(VOLUME_A), volume(DEMO.servers[1].disks[1].id)] });
    expect(await sdkFailure(sdk.addVaultResource(dv.id, { resources: [volume(VOLUME_A)] }))).toMatchObject({ errorCode: 'BackupService.7006' });
  });

  it('rebindSameVault: ignore makes re-adding idempotent', async () => {
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', quirks: { rebindSameVault: 'ignore' } });
    const c = officialClient(emu.url);
    const v = (await c.createVault(vaultBody('v', { resources: [server(SERVER_A)] }))).body.vault;
    expect((await c.addVaultResource(v.id, { resources: [server(SERVER_A), server(SERVER_B)] })).body.add_resource_ids).toEqual([SERVER_A, SERVER_B]);
    expect((await c.showVault(v.id)).body.vault.resources).toHaveLength(2);
  });

  it('6100 beyond the vault resource limit', async () => {
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', limits: { maxVaultResources: 2 } });
    const c = officialClient(emu.url);
    const v = (await c.createVault(vaultBody('v', { resources: [server(SERVER_A), server(SERVER_B)] }))).body.vault;
    expect(await sdkFailure(c.addVaultResource(v.id, { resources: [server(SERVER_C)] }))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6100' });
  });

  it('RemoveVaultResource of a resource not in the vault -> 6135; AddVaultResource body checks -> 9900', async () => {
    const v = (await sdk.createVault(vaultBody('v'))).body.vault;
    expect(await sdkFailure(sdk.removeVaultResource(v.id, { resource_ids: [SERVER_A] }))).toMatchObject({ errorCode: 'BackupService.6135' });
    const f = await sdkFailure(sdk.addVaultResource(v.id, { resources: [] }));
    expect(f).toMatchObject({ errorCode: 'BackupService.9900' });
    expect(f.errorMsg).toContain('resources');
  });
});

describe('ListVault', () => {
  it('name is a substring match by default (quirk listVaultNameMatch), count is the total, limit/offset page', async () => {
    for (const n of ['run-1', 'run-10', 'run-2', 'other']) await sdk.createVault(vaultBody(n));
    const fuzzy = await sdk.listVault({ name: 'run-1' });
    expect(fuzzy.body.count).toBe(2);
    expect(fuzzy.body.vaults.map((v: any) => v.name).sort()).toEqual(['run-1', 'run-10']);
    const paged = await sdk.listVault({ limit: 2, offset: 1 });
    expect(paged.body.count).toBe(4);
    expect(paged.body.vaults.map((v: any) => v.name)).toEqual(['run-2', 'run-10']); // newest first
    expect((await sdk.listVault({ limit: 2, offset: 4 })).body).toEqual({ vaults: [], count: 4, limit: 2, offset: 4 });
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', quirks: { listVaultNameMatch: 'exact' } });
    const c = officialClient(emu.url);
    await c.createVault(vaultBody('run-1'));
    await c.createVault(vaultBody('run-10'));
    expect((await c.listVault({ name: 'run-1' })).body.count).toBe(1);
  });

  it('repeated id, resource_ids comma list, object_type; bad limit -> 9900', async () => {
    const a = (await sdk.createVault(vaultBody('a', { resources: [server(SERVER_A)] }))).body.vault;
    const b = (await sdk.createVault(vaultBody('b', { resources: [server(SERVER_B)] }))).body.vault;
    await sdk.createVault(vaultBody('c', {}, { object_type: 'disk' }));
    expect((await sdk.listVault({ id: [a.id, b.id] })).body.count).toBe(2);
    expect((await sdk.listVault({ resource_ids: `${SERVER_B},${SERVER_C}` })).body.vaults.map((v: any) => v.id)).toEqual([b.id]);
    expect((await sdk.listVault({ object_type: 'disk' })).body.count).toBe(1);
    const f = await sdkFailure(sdk.listVault({ limit: 0 }));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(f.errorMsg).toContain('limit');
  });

  it('a project only sees its own vaults', async () => {
    await sdk.createVault(vaultBody('mine'));
    const peer = officialClient(emu.url, { ak: DEMO.peer.ak, sk: DEMO.peer.sk, projectId: DEMO.peerProjectId });
    expect((await peer.listVault()).body.count).toBe(0);
  });
});

describe('UpdateVault and DeleteVault', () => {
  it('updates name, size, threshold; refuses unlocking (6110) and shrinking below used (6101)', async () => {
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_A)], locked: true }))).body.vault;
    const u = (await sdk.updateVault(v.id, { vault: { name: 'renamed', billing: { size: 300 }, threshold: 90 } })).body.vault;
    expect(u).toMatchObject({ name: 'renamed', threshold: 90, billing: expect.objectContaining({ size: 300 }) });
    expect(await sdkFailure(sdk.updateVault(v.id, { vault: { locked: false } }))).toMatchObject({ errorCode: 'BackupService.6110' });
    await sdk.createCheckpoint({ checkpoint: { vault_id: v.id } });
    emu.clock.advance(11_000);
    expect((await sdk.showVault(v.id)).body.vault.billing.used).toBe(20 * 1024);
    expect(await sdkFailure(sdk.updateVault(v.id, { vault: { billing: { size: 10 } } }))).toMatchObject({ errorCode: 'BackupService.6101' });
    const f = await sdkFailure(sdk.updateVault(v.id, { vault: { threshold: 101 } }));
    expect(f.errorMsg).toContain('vault.threshold');
  });

  it('DeleteVault is 204, then billing.status deleting, then 404 6105; resources are free again', async () => {
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_A)] }))).body.vault;
    const del = await raw(emu.url, { method: 'DELETE', path: `/v3/${DEMO.projectId}/vaults/${v.id}`, sign: {} });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect(del.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect((await sdk.showVault(v.id)).body.vault.billing.status).toBe('deleting');
    expect(await sdkFailure(sdk.deleteVault(v.id))).toMatchObject({ errorCode: 'BackupService.6112' });
    expect(await sdkFailure(sdk.createCheckpoint({ checkpoint: { vault_id: v.id } }))).toMatchObject({ errorCode: 'BackupService.6113' });
    emu.clock.advance(6_000);
    const gone = await sdkFailure(sdk.showVault(v.id));
    expect(gone).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6105', errorMsg: 'The vault does not exist.' });
    expect((await sdk.createVault(vaultBody('again', { resources: [server(SERVER_A)] }))).status).toBe(200);
  });

  it('vaultNotFoundStatus quirk: 400 instead of 404; malformed vault id -> 9900', async () => {
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', quirks: { vaultNotFoundStatus: 400 } });
    const c = officialClient(emu.url);
    expect(await sdkFailure(c.showVault('00000000-0000-4000-8000-000000000000'))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6105' });
    const f = await sdkFailure(c.showVault('not-a-uuid'));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(f.errorMsg).toContain('vault_id');
  });

  it('a vault in billing status frozen refuses backups (6113) until available again', async () => {
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_A)] }))).body.vault;
    expect(emu.state.setVaultStatus(v.id, 'frozen')).toBe(true);
    expect((await sdk.showVault(v.id)).body.vault.billing.status).toBe('frozen');
    expect(await sdkFailure(sdk.createCheckpoint({ checkpoint: { vault_id: v.id } }))).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.6113' });
    emu.state.setVaultStatus(v.id, 'available');
    expect((await sdk.createCheckpoint({ checkpoint: { vault_id: v.id } })).status).toBe(200);
  });
});

describe('protectables', () => {
  it('lists servers with disks and shows which vault holds one', async () => {
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_B)] }))).body.vault;
    const list = (await sdk.listProtectable('server')).body.instances;
    expect(list.map((i: any) => i.id)).toEqual(DEMO.servers.map((s) => s.id));
    const one = (await sdk.showProtectable('server', SERVER_B)).body.instance;
    expect(one).toMatchObject({ id: SERVER_B, size: 140, protectable: { result: true, vault: { id: v.id } } });
    expect(one.children).toHaveLength(2);
    const disks = (await sdk.listProtectable('disk', { server_id: SERVER_B })).body.instances;
    expect(disks.map((d: any) => d.id)).toEqual(DEMO.servers[1].disks.map((d) => d.id));
    expect(await sdkFailure(sdk.showProtectable('server', VOLUME_A))).toMatchObject({ httpStatusCode: 404, errorCode: 'BackupService.6302' });
  });

  it('carries tags as ECS and EVS show them, "ACTIVE" as recorded, and which servers are in no vault', async () => {
    await sdk.createVault(vaultBody('v', { resources: [server(SERVER_B)] }));
    const list = (await sdk.listProtectable('server')).body.instances;
    const web = list.find((i: any) => i.id === SERVER_B);
    const app = list.find((i: any) => i.id === DEMO.servers[3].id);
    // ../shared/cbr-recordings/c7n/56d90e13a2e8.json: status "ACTIVE", detail.tags ["key=value"], code "", vault null.
    expect(web).toMatchObject({ status: 'ACTIVE', detail: { tags: ['env=prod', 'tier=web'] }, protectable: { result: true, code: '', vault: { name: 'v' } } });
    expect(app).toMatchObject({ status: 'ACTIVE', detail: { tags: ['env=staging', 'tier=app'] }, protectable: { vault: null } });
    expect(web.children[0]).toMatchObject({ status: 'in-use', detail: { tags: {} } });
    const disk = (await sdk.showProtectable('disk', VOLUME_A)).body.instance;
    expect(disk).toMatchObject({ status: 'available', detail: { tags: {} } });
  });

  it('answers the seeded deleted server only when asked for deleted ones, and keeps projects apart', async () => {
    const old = DEMO.deletedServers[0];
    expect((await sdk.listProtectable('server')).body.instances.map((i: any) => i.id)).not.toContain(old.id);
    const deleted = (await sdk.listProtectable('server', { status: 'deleted' })).body.instances;
    expect(deleted.map((i: any) => [i.id, i.status])).toEqual([[old.id, 'deleted']]);
    expect((await sdk.showProtectable('server', old.id)).body.instance).toMatchObject({ status: 'deleted', name: 'ecs-old-01' });
    // The second demo project (same account, another region) lists its own servers only.
    const other = officialClient(emu.url, { ak: DEMO.ak, sk: DEMO.sk, projectId: DEMO.other.projectId });
    const theirs = (await other.listProtectable('server')).body.instances;
    expect(theirs.map((i: any) => [i.name, i.detail.tags])).toEqual([['ecs-batch-01', ['env=prod', 'tier=batch']]]);
    expect(await sdkFailure(other.showProtectable('server', SERVER_A))).toMatchObject({ httpStatusCode: 404 });
  });
});
