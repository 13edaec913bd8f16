/** Wire views: the JSON shapes of vaults, checkpoints, backups, members, operation logs, protectables. */
import { backupState, checkpointState, holdsData, vaultState, PROVIDER_DISK, PROVIDER_SERVER } from '../store';
import type { BackupRec, CatalogueEntry, CheckpointRec, MemberRec, OpLogRec, VaultRec } from '../store';
import { PROVIDER_BY_OBJECT, SPEC_BY_OBJECT } from './common';
import type { Json } from './common';
import { opLogState } from './oplogs';
import type { CbrService } from './service';

export function renderVault(s: CbrService, v: VaultRec, now: number): Json {
  const stats = new Map<string, { count: number; sizeMb: number }>();
  let used = 0;
  for (const b of s.store.backupsIn(v.backups, now)) {
    if (!holdsData(backupState(b, now))) continue;
    used += b.sizeMb;
    const st = stats.get(b.resourceId) ?? { count: 0, sizeMb: 0 };
    st.count++;
    st.sizeMb += b.sizeMb;
    stats.set(b.resourceId, st);
  }
  const status = vaultState(v, now);
  const size = v.autoExpand ? Math.max(v.billing.sizeGb, Math.ceil(used / 1024)) : v.billing.sizeGb;
  return {
    id: v.id,
    name: v.name,
    description: v.description,
    resources: [...v.resources.values()].map((r) => {
      const st = stats.get(r.id);
      const last = r.lastBackup ? backupState(r.lastBackup, now) : undefined;
      return {
        id: r.id,
        name: r.name,
        type: r.type,
        // A server deleted while in the vault: "deleted" (recorded ListVault answers).
        protect_status: s.store.deletedResources.has(r.id) ? 'deleted' : last === 'protecting' ? 'protecting' : last === 'error' ? 'error' : 'available',
        size: s.store.catalogue.get(r.id)?.sizeGb ?? 0,
        backup_size: st?.sizeMb ?? 0,
        backup_count: st?.count ?? 0,
        auto_protect: false,
        extra_info: r.extraInfo,
      };
    }),
    provider_id: PROVIDER_BY_OBJECT[v.billing.objectType] ?? PROVIDER_SERVER,
    created_at: s.time(v.createdAt),
    project_id: v.projectId,
    enterprise_project_id: v.enterpriseProjectId,
    auto_bind: v.autoBind,
    bind_rules: v.bindRules,
    auto_expand: v.autoExpand,
    smn_notify: v.smnNotify,
    threshold: v.threshold,
    locked: v.locked,
    user_id: v.userId,
    sys_lock_source_service: v.sysLockSourceService,
    availability_zone: v.availabilityZone,
    // Fields of the recorded ListVault answers (values of a plain vault).
    backup_name_prefix: v.backupNamePrefix,
    demand_billing: false,
    cbc_delete_count: 0,
    frozen: false,
    supplier: '',
    cross_account: false,
    cross_account_urn: '',
    billing: {
      allocated: s.store.allocatedGb(v),
      cloud_type: v.billing.cloudType,
      consistent_level: v.billing.consistentLevel,
      frozen_scene: null,
      charging_mode: v.billing.chargingMode,
      order_id: v.billing.orderId,
      product_id: v.billing.productId,
      protect_type: v.billing.protectType,
      object_type: v.billing.objectType,
      spec_code: v.billing.protectType === 'replication' ? 'vault.replication.server.normal' : (SPEC_BY_OBJECT[v.billing.objectType] ?? 'vault.backup.server.normal'),
      used,
      storage_unit: null,
      status,
      size,
      is_multi_az: v.billing.isMultiAz,
      is_double_az: false,
      partner_bp_id: null,
    },
    tags: v.tags,
  };
}

export function renderCheckpoint(s: CbrService, c: CheckpointRec, v: VaultRec | undefined, now: number): Json {
  const asStr = s.config.quirks.checkpointNumbersAsStrings;
  const num = (n: number) => (asStr ? String(n) : n);
  const state = checkpointState(c, now);
  return {
    id: c.id,
    project_id: c.projectId,
    status: state === 'gone' ? 'deleted' : state,
    vault: {
      id: c.vaultId,
      name: v?.name ?? c.vaultName,
      resources: c.backups.map((b) => {
        const state = backupState(b, now);
        let count = 0;
        if (v) for (const x of v.backups.values()) if (x.resourceId === b.resourceId && (backupState(x, now) === 'available' || backupState(x, now) === 'restoring')) count++;
        return {
          id: b.resourceId,
          type: b.resourceType,
          name: b.resourceName,
          extra_info: asStr ? '{}' : {},
          resource_size: num(b.resourceSizeGb),
          backup_size: num(state === 'available' || state === 'restoring' ? b.sizeMb : 0),
          backup_count: num(count),
          protect_status: state === 'protecting' ? 'protecting' : state === 'error' ? 'error' : 'available',
        };
      }),
      provider_id: v ? (PROVIDER_BY_OBJECT[v.billing.objectType] ?? PROVIDER_SERVER) : PROVIDER_SERVER,
      skipped_resources: c.skipped,
    },
    created_at: s.time(c.createdAt),
    extra_info: { name: c.name, description: c.description, retention_duration: -1 },
  };
}

export function backupUpdatedAt(s: CbrService, b: BackupRec, now: number): number {
  const root = b.parent ?? b;
  if (root.deleteAt !== undefined) return root.deleteAt;
  if (now >= root.doneAt) return root.doneAt;
  return root.createdAt;
}

export function renderBackup(s: CbrService, b: BackupRec, now: number, member?: MemberRec): Json {
  const root = b.parent ?? b;
  const st = backupState(root, now);
  const progress = st === 'protecting' ? Math.min(99, Math.floor(((now - root.createdAt) * 100) / Math.max(1, root.nominalMs))) : st === 'error' ? 0 : 100;
  return {
    id: b.id,
    name: b.name,
    description: b.description,
    checkpoint_id: b.checkpointId,
    vault_id: member ? member.vaultId : b.vaultId,
    project_id: b.projectId,
    provider_id: b.resourceType === 'OS::Nova::Server' ? PROVIDER_SERVER : (b.parent ? PROVIDER_SERVER : PROVIDER_DISK),
    resource_id: b.resourceId,
    resource_name: b.resourceName,
    resource_type: b.resourceType,
    resource_az: b.az,
    resource_size: b.resourceSizeGb,
    status: st,
    image_type: b.replicaOf ? 'replication' : 'backup',
    created_at: s.time(b.createdAt),
    updated_at: s.time(backupUpdatedAt(s, b, now)),
    expired_at: null,
    protected_at: s.time(b.createdAt),
    parent_id: b.parent ? b.parent.id : null,
    children: b.children.map((c) => renderBackup(s, c, now, member)),
    extend_info: {
      auto_trigger: b.autoTrigger,
      bootable: b.bootable,
      snapshot_id: b.resourceType === 'OS::Cinder::Volume' ? `snap-${b.id.slice(0, 8)}` : null,
      support_lld: true,
      supported_restore_mode: 'backup',
      os_images_data: null,
      contain_system_disk: b.resourceType === 'OS::Nova::Server' ? b.children.some((c) => c.bootable) : b.bootable,
      encrypted: false,
      system_disk: b.bootable,
      is_multi_az: false,
      progress,
      architecture: 'x86_64',
      encrypted_algorithm: null,
      is_dec: false,
      app_consistency: { app_consistency: '0', app_consistency_status: '0', app_consistency_error_code: '0', app_consistency_error_message: '' },
    },
    scheduled_operation_id: null,
    replication_records: (b.replications ?? []).map((r) => {
      const rs = backupState(r.replica, now);
      return {
        id: r.id,
        created_at: s.time(r.createdAt),
        destination_backup_id: r.replica.id,
        destination_checkpoint_item_id: r.replica.checkpointId,
        destination_project_id: r.destinationProjectId,
        destination_region: r.destinationRegion,
        destination_vault_id: r.destinationVaultId,
        extra_info: null,
        source_backup_id: b.id,
        source_checkpoint_item_id: b.checkpointId,
        source_region: s.region,
        status: rs === 'protecting' ? 'replicating' : rs === 'error' ? 'error' : 'available',
        vault_id: b.vaultId,
      };
    }),
    enterprise_project_id: '0',
    incremental: b.incremental,
    version: 3,
  };
}

export function renderMember(s: CbrService, m: MemberRec): Json {
  return {
    id: m.id,
    status: m.status,
    backup_id: m.backupId,
    dest_project_id: m.destProjectId,
    vault_id: m.vaultId,
    image_id: null,
    created_at: s.time(m.createdAt),
    updated_at: s.time(m.updatedAt),
  };
}

export function renderOpLog(s: CbrService, o: OpLogRec, now: number): Json {
  const st = opLogState(s, o, now);
  return {
    id: o.id,
    project_id: o.projectId,
    provider_id: o.providerId,
    checkpoint_id: o.checkpointId,
    created_at: s.time(o.createdAt),
    started_at: s.time(o.createdAt),
    updated_at: s.time(st.endedAt ?? o.createdAt),
    ended_at: s.time(st.endedAt),
    error_info: st.failure ? { code: st.failure.code, message: st.failure.message } : { code: '', message: '' },
    extra_info: {
      common: { progress: st.progress, request_id: o.requestId, task_id: o.id },
      ...(o.resource ? { resource: o.resource } : {}),
      ...o.extra,
    },
    operation_type: o.type,
    policy_id: '',
    status: st.status,
    vault_id: o.vaultId,
    vault_name: o.vaultName,
  };
}

/**
 * A protectable instance. As recorded (../shared/cbr-recordings/c7n/56d90e13a2e8.json): a live server's
 * status is "ACTIVE" (the doc says active|deleted|error), `detail` is the raw ECS server with its tags as
 * `["key=value"]`; a volume's `detail` is the raw EVS volume with tags as `{key: value}`.
 */
export function renderProtectable(s: CbrService, e: CatalogueEntry, now: number, status: 'active' | 'deleted' = 'active'): Json {
  const bound = s.store.boundVault(e.id, now);
  const type = e.type;
  const server = type === 'OS::Nova::Server';
  const tags = e.tags ?? {};
  return {
    id: e.id,
    name: e.name,
    type,
    size: e.sizeGb,
    status: status === 'deleted' ? 'deleted' : server ? 'ACTIVE' : e.attachedTo ? 'in-use' : 'available',
    children: e.disks.map((d) => ({
      id: d.id,
      name: d.name,
      type: 'OS::Cinder::Volume',
      size: d.sizeGb,
      status: 'in-use',
      children: [],
      detail: { id: d.id, name: d.name, bootable: String(d.bootable), availability_zone: e.az, tags: {} },
    })),
    detail: server
      ? {
        id: e.id,
        name: e.name,
        status: status === 'deleted' ? 'DELETED' : 'ACTIVE',
        'OS-EXT-AZ:availability_zone': e.az,
        tags: Object.entries(tags).map(([k, v]) => `${k}=${v}`),
        // As in the recorded ListProtectable answers (c7n/56d90e13a2e8): the attached disks, system disk bootIndex "0".
        'os-extended-volumes:volumes_attached': e.disks.map((d, i) => ({ id: d.id, delete_on_termination: 'true', device: `/dev/vd${String.fromCharCode(97 + i)}`, bootIndex: d.bootable ? '0' : null })),
      }
      : {
        id: e.id,
        name: e.name,
        status: status === 'deleted' ? 'deleted' : e.attachedTo ? 'in-use' : 'available',
        availability_zone: e.az,
        bootable: String(e.attachedTo !== undefined && s.store.catalogue.get(e.attachedTo)?.disks.find((d) => d.id === e.id)?.bootable === true),
        // EVS lists the servers a volume is attached to (recorded: children[].detail.attachments[].server_id).
        attachments: e.attachedTo ? [{ server_id: e.attachedTo, volume_id: e.id }] : [],
        tags,
      },
    protectable: {
      result: true,
      code: '',
      reason: '',
      vault: bound ? { id: bound.id, name: bound.name, billing: { object_type: bound.billing.objectType } } : null,
    },
  };
}
