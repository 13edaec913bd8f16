// Response bodies shaped like the reference examples (cbr-api.md §2-§6, APIX/OTC examples), including
// the disagreements the client must tolerate: timestamps in three shapes, numbers sent as strings, nulls.
export const P = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
export const PEER = 'ffeeddccbbaa99887766554433221100';
export const AK = 'HPUAEXAMPLEAK0000001';
export const SK = 'ExampleSecretKey0000000000000000000000001';
export const VAULT_ID = '3b5816b5-f29c-4172-9d9a-76c719a659ce';
export const SERVER_ID = '94eba8b2-acc9-4d82-badc-127144cc5526';
export const CHECKPOINT_ID = '8b0851a8-adf3-4f4c-a914-dead08bf9664';
export const BACKUP_ID = '6df2b54c-dd62-4059-a07c-1b8f24f2725d';
export const OPLOG_ID = '4827f2da-b008-4507-ab7d-42d0df5ed912';

export const VAULT = {
  id: VAULT_ID,
  name: 'vault-1',
  project_id: P,
  provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
  description: null,
  billing: {
    allocated: 40,
    charging_mode: 'post_paid',
    cloud_type: 'public',
    consistent_level: 'crash_consistent',
    object_type: 'server',
    order_id: null,
    product_id: null,
    protect_type: 'backup',
    size: 100,
    spec_code: 'vault.backup.server.normal',
    status: 'available',
    storage_unit: null,
    used: '0',
  },
  resources: [{ id: SERVER_ID, name: 'ecs-1', type: 'OS::Nova::Server', protect_status: 'available', size: 40, backup_size: 0, backup_count: 0, extra_info: { exclude_volumes: [] } }],
  tags: [{ key: 'fds', value: null }],
  enterprise_project_id: '0',
  auto_bind: false,
  bind_rules: {},
  user_id: 'aa2999fa5ae640f28926f8fd79188934',
  created_at: '2019-05-10T07:59:12.733+00:00',
  threshold: 80,
  smn_notify: true,
  some_future_field: { x: 1 },
};

export const CHECKPOINT = {
  id: CHECKPOINT_ID,
  project_id: P,
  status: 'protecting',
  created_at: '2019-05-10T07:59:12.037987',
  vault: {
    id: VAULT_ID,
    name: 'vault-1',
    resources: [{ id: SERVER_ID, name: 'ecs-1', type: 'OS::Nova::Server', protect_status: 'available', resource_size: '40', backup_size: '0', backup_count: '0', extra_info: '{}' }],
    skipped_resources: [],
  },
  extra_info: { name: 'backup_name', description: 'backup_description', retention_duration: -1 },
};

const child = {
  id: 'b1fe2e9b-b3c8-4e1b-8ba4-e8e0a0b7d6d1',
  name: 'manualbk_a843_ecs-1-vol',
  checkpoint_id: CHECKPOINT_ID,
  vault_id: VAULT_ID,
  project_id: P,
  provider_id: 'd1603440-187d-4516-af25-121250c7cc97',
  resource_id: '2dd0d2e9-5b7e-4ad4-a3a6-5e4f59a4a9a1',
  resource_name: 'ecs-1-vol',
  resource_type: 'OS::Cinder::Volume',
  resource_size: 40,
  status: 'available',
  parent_id: BACKUP_ID,
  created_at: '2020-02-05T10:38:34.209782',
  updated_at: null,
  expired_at: null,
  protected_at: null,
  children: [],
};

export const BACKUP = {
  id: BACKUP_ID,
  name: 'backup_name',
  description: '',
  checkpoint_id: CHECKPOINT_ID,
  vault_id: VAULT_ID,
  project_id: P,
  provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
  resource_id: SERVER_ID,
  resource_name: 'ecs-1',
  resource_type: 'OS::Nova::Server',
  resource_az: 'ap-southeast-1a',
  resource_size: '40',
  status: 'available',
  image_type: 'backup',
  created_at: '2020-02-05T10:38:34.209782',
  updated_at: '2020-02-05T10:40:00Z',
  expired_at: null,
  protected_at: '2020-02-05T10:38:40.000+08:00',
  parent_id: null,
  children: [child],
  extend_info: { auto_trigger: false, bootable: true, progress: 100, architecture: 'x86_64', os_images_data: [{ image_id: 'img' }] },
  incremental: false,
  version: 3,
};

export const MEMBER = {
  id: '1aed4c4f-d3bb-4f49-90a4-40d9d3fe2b55',
  status: 'pending',
  backup_id: BACKUP_ID,
  dest_project_id: PEER,
  vault_id: null,
  image_id: null,
  created_at: '2020-02-05T10:38:34.209782',
  updated_at: null,
};

export const OPLOG = {
  id: OPLOG_ID,
  project_id: P,
  status: 'success',
  operation_type: 'backup',
  created_at: '2019-05-23T14:31:36.039365',
  started_at: '2019-05-23T14:31:36.039365',
  updated_at: '2019-05-23T14:33:36Z',
  ended_at: '2019-05-23T14:33:36.039365',
  error_info: { code: '', message: '' },
  checkpoint_id: CHECKPOINT_ID,
  provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
  vault_id: VAULT_ID,
  vault_name: 'vault-1',
  extra_info: {
    common: { progress: 100, request_id: 'req-cdb98cc4-e87b-4f40-9b4a-57ec036620bc' },
    resource: { id: SERVER_ID, name: 'ecs-1', type: 'OS::Nova::Server' },
    backup: { backup_id: BACKUP_ID, backup_name: 'backup_name', incremental: 'false', app_consistency_status: '0' },
  },
};
