// The seed's Chinese walk-through ("示例1：创建弹性云服务器备份") replayed request by request through the
// official SDK, with the exact request bodies of the document, asserting the documented response shapes
// (every key of the documented example present, with the same JSON type) and the documented values.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator } from '../../emulator/index';
import { officialClient } from './sdk';
import type { OfficialClient } from './sdk';

/** Every key of `example` exists in `actual` with the same JSON type (null in the example matches anything). */
function expectShape(actual: unknown, example: unknown, path = '$'): void {
  if (example === null) return;
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  expect(kind(actual), `${path} type`).toBe(kind(example));
  if (Array.isArray(example)) {
    if (example.length > 0) for (const [i, item] of (actual as unknown[]).entries()) expectShape(item, example[0], `${path}[${i}]`);
    return;
  }
  if (typeof example === 'object') {
    for (const [k, v] of Object.entries(example as Record<string, unknown>)) {
      expect(actual as object, `${path} has ${k}`).toHaveProperty([k]);
      expectShape((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
  }
}

let emu: Emulator;
let sdk: OfficialClient;
beforeAll(async () => {
  emu = await startEmulator({ clock: 'manual' });
  sdk = officialClient(emu.url, DEMO); // project 0605767b5780d5762fc5c0118072a564, as in the document
});
afterAll(() => emu.stop());

let vaultId = '';
let checkpointId = '';

it('1a. CreateVault: simple pay-per-use vault', async () => {
  const r = await sdk.createVault({
    vault: {
      billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 200 },
      name: 'my_vault',
      resources: [],
    },
  });
  expect(r.status).toBe(200);
  const documented = {
    vault: {
      id: 'ea7b8717-2543-478a-a92d-3ca7ee448f67',
      name: 'my_vault',
      description: null,
      resources: [],
      provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
      created_at: '2020-08-17T03:51:24.678916',
      project_id: '0605767b5780d5762fc5c0118072a564',
      enterprise_project_id: '0',
      auto_bind: false,
      bind_rules: {},
      user_id: 'aa2999fa5ae640f28926f8fd79188934',
      billing: {
        allocated: 0,
        cloud_type: 'public',
        consistent_level: 'crash_consistent',
        frozen_scene: null,
        charging_mode: 'post_paid',
        order_id: null,
        product_id: null,
        protect_type: 'backup',
        object_type: 'server',
        spec_code: 'vault.backup.server.normal',
        used: 0,
        storage_unit: null,
        status: 'available',
        size: 200,
      },
      tags: [],
    },
  };
  expectShape(r.body, documented);
  const { id: _id, created_at, user_id, ...rest } = documented.vault;
  expect(r.body.vault).toMatchObject(rest);
  expect(r.body.vault.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
  expect(r.body.vault.user_id).toMatch(/^[0-9a-f]{32}$/);
  vaultId = r.body.vault.id;
});

it('1b. CreateVault: yearly/monthly vault binding a server directly', async () => {
  const r = await sdk.createVault({
    vault: {
      billing: {
        cloud_type: 'public',
        consistent_level: 'crash_consistent',
        object_type: 'server',
        protect_type: 'backup',
        size: 100,
        charging_mode: 'pre_paid',
        period_type: 'month',
        period_num: 1,
        is_auto_renew: false,
        is_auto_pay: false,
      },
      description: 'vault_description',
      name: 'vault_name',
      resources: [{ id: '97595625-198e-4e4d-879b-9d53f68ba551', type: 'OS::Nova::Server' }],
    },
  });
  // A yearly/monthly vault is an order (API Explorer's CreateVault example, the SDKs' response model):
  // it exists once the order is paid (here by the admin call; is_auto_pay: false).
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ errText: 'success', error_code: '0', retCode: 0, orders: [{ cloudServiceId: 'cbr', orderId: expect.stringMatching(/^CS/), resourceId: expect.any(String), subscribeResult: 1 }] });
  expect((await sdk.listVault({ name: 'vault_name' })).body.vaults).toEqual([]);
  expect(emu.state.payOrder(r.body.orders[0].orderId)).toBe(true);
  const [vault] = (await sdk.listVault({ name: 'vault_name' })).body.vaults;
  expect(vault).toMatchObject({
    id: r.body.orders[0].resourceId,
    name: 'vault_name',
    description: 'vault_description',
    billing: expect.objectContaining({ charging_mode: 'pre_paid', size: 100, allocated: 140 }),
    resources: [expect.objectContaining({ id: '97595625-198e-4e4d-879b-9d53f68ba551', type: 'OS::Nova::Server' })],
  });
});

it('2. AddVaultResource: bind server e8cc6bfd-... to my_vault', async () => {
  const r = await sdk.addVaultResource(vaultId, {
    resources: [{ id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server', name: 'server-4690-0002' }],
  });
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ add_resource_ids: ['e8cc6bfd-d324-4b88-9109-9fb0ba70676f'] });
});

it('3. CreateCheckpoint: backup_auto, incremental, one resource', async () => {
  const r = await sdk.createCheckpoint({
    checkpoint: {
      parameters: { auto_trigger: false, description: 'backupauto', incremental: true, name: 'backup_auto', resources: ['e8cc6bfd-d324-4b88-9109-9fb0ba70676f'] },
      vault_id: vaultId,
    },
  });
  expect(r.status).toBe(200);
  const documented = {
    checkpoint: {
      id: 'd9ce6924-d753-4132-bd16-a9f8838ea7d2',
      project_id: '0605767b5780d5762fc5c0118072a564',
      status: 'protecting',
      vault: {
        id: 'ea7b8717-2543-478a-a92d-3ca7ee448f67',
        name: 'my_vault',
        resources: [
          {
            id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f',
            type: 'OS::Nova::Server',
            name: 'ecs-9f93-0002',
            extra_info: '{}',
            resource_size: '40',
            backup_size: '0',
            backup_count: '0',
            protect_status: 'available',
          },
        ],
        skipped_resources: [],
      },
      created_at: '2020-08-17T06:49:06.307378',
      extra_info: { name: 'backup_auto', description: 'backupauto', retention_duration: -1 },
    },
  };
  expectShape(r.body, documented);
  const c = r.body.checkpoint;
  expect(c).toMatchObject({
    project_id: DEMO.projectId,
    status: 'protecting',
    vault: { id: vaultId, name: 'my_vault', skipped_resources: [] },
    extra_info: documented.checkpoint.extra_info,
  });
  const { protect_status: _p, ...resource } = documented.checkpoint.vault.resources[0]!;
  expect(c.vault.resources).toEqual([expect.objectContaining(resource)]);
  checkpointId = c.id;
});

it('4. ShowCheckpoint: protecting at first, then available', async () => {
  expect((await sdk.showCheckpoint(checkpointId)).body.checkpoint.status).toBe('protecting');
  emu.clock.advance(10_000); // default duration is 6-10 s
  const r = await sdk.showCheckpoint(checkpointId);
  expect(r.status).toBe(200);
  expectShape(r.body, {
    checkpoint: {
      id: 'd9ce6924-d753-4132-bd16-a9f8838ea7d2',
      project_id: '0605767b5780d5762fc5c0118072a564',
      status: 'available',
      vault: null,
      created_at: '2020-08-17T06:49:06.260790',
      extra_info: null,
    },
  });
  expect(r.body.checkpoint).toMatchObject({ id: checkpointId, project_id: DEMO.projectId, status: 'available' });
  expect(r.body.checkpoint.vault.resources[0]).toMatchObject({ protect_status: 'available', backup_count: '1' });
});

it('the documented AddMember example shape (share the resulting backup)', async () => {
  const [b] = (await sdk.listBackups({ checkpoint_id: checkpointId })).body.backups;
  expect(b).toMatchObject({ name: 'backup_auto', description: 'backupauto', resource_name: 'ecs-9f93-0002', status: 'available' });
  const r = await sdk.addMember(b.id, { members: ['075e6035d300d48c2fd0c00b78b71ebf'] });
  expectShape(r.body, {
    members: [
      {
        status: 'pending',
        image_id: null,
        backup_id: '0b07081e-3ec7-4e77-8571-54e2947da422',
        vault_id: null,
        dest_project_id: '075e6035d300d48c2fd0c00b78b71ebf',
        created_at: '2020-02-05T10:38:34.209782',
        updated_at: null,
        id: '3c5a3015-c3a0-4dc6-a1e2-917b90f62319',
      },
    ],
  });
  expect(r.body.members[0]).toMatchObject({ status: 'pending', image_id: null, vault_id: null, updated_at: null, backup_id: b.id });
});
