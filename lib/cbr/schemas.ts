/**
 * zod schemas of the CBR v3 calls the client covers (cbr-api.md §2-§6), types inferred from them.
 *
 * Requests are strict: an unknown or misspelt field is a CbrValidationError naming it, instead of a
 * silently dropped value or a BackupService.9900 from the server. Responses are loose (unknown fields
 * kept, so new API fields never break parsing) and tolerant where the reference lists disagreements
 * (§11): timestamps in any of the three shapes (kept as sent; read them with `parseCbrTimestamp`),
 * numbers sent as strings (coerced to numbers), nullable optional fields.
 *
 * Object schemas are wrapped in `z.lazy`: zod "classic" builds every schema node eagerly (~15 µs
 * each, several hundred here), which cost ~17 ms of cold start at import. Lazily, a function pays
 * only for the schemas of the operations it actually calls, on first use. Parsing is unchanged.
 */
import * as z from 'zod';
import { HEX32_RE, isCbrId } from './ids';
import { cbrTimestampMs, formatQueryTime } from './time';

// ---------------------------------------------------------------- building blocks

/** Any of `2020-02-05T10:38:34.209782`, `2019-05-10T07:59:12.733+00:00`, `2020-02-23T01:00:32Z`. */
export const CbrTimestamp = z.string().refine((s) => cbrTimestampMs(s) !== undefined, {
  message: 'expected a timestamp like 2020-02-05T10:38:34.209782, 2019-05-10T07:59:12.733+00:00 or 2020-02-23T01:00:32Z',
});
/** A number, or a number sent as a string (`"40"`), parsed to a number. */
export const NumberLike = z.union([z.number(), z.string().regex(/^\s*-?\d+(?:\.\d+)?\s*$/, 'expected a number').transform(Number)]);
export const CbrId = z.string().refine(isCbrId, { message: 'must be a UUID or 32 hex characters' });
export const ProjectId = z.string().regex(HEX32_RE, 'must be a project id (32 hex characters)');

const num = NumberLike.nullish();
const str = z.string().nullish();
const bool = z.boolean().nullish();
const int = (min: number, max: number) => z.number().int().min(min).max(max);

// ---------------------------------------------------------------- enums (GO model_*.go, APIX)

export const ResourceType = z.enum([
  'OS::Nova::Server',
  'OS::Cinder::Volume',
  'OS::Ironic::BareMetalServer',
  'OS::Native::Server',
  'OS::Sfs::Turbo',
  'OS::Workspace::DesktopV2',
]);
export const ConsistentLevel = z.enum(['crash_consistent', 'app_consistent']);
export const ObjectType = z.enum(['server', 'disk', 'turbo', 'workspace', 'vmware', 'rds', 'file']);
export const ProtectType = z.enum(['backup', 'replication']);
export const CloudType = z.enum(['public', 'hybrid']);
export const ChargingMode = z.enum(['post_paid', 'pre_paid']);
export const CheckpointStatus = z.enum(['available', 'deleting', 'protecting', 'deleted', 'error-deleting', 'error']);
export const BackupStatus = z.enum(['available', 'protecting', 'deleting', 'restoring', 'error', 'waiting_protect', 'waiting_delete', 'waiting_restore']);
export const ImageType = z.enum(['backup', 'replication']);
export const OwnType = z.enum(['private', 'shared', 'all_granted']);
export const MemberStatus = z.enum(['pending', 'accepted', 'rejected']);
export const OperationType = z.enum(['backup', 'copy', 'replication', 'delete', 'restore', 'vault_delete', 'remove_resource', 'sync']);
export const OperationStatus = z.enum(['success', 'skipped', 'failed', 'running', 'timeout', 'waiting']);
export type ResourceType = z.infer<typeof ResourceType>;
export type CheckpointStatus = z.infer<typeof CheckpointStatus>;
export type BackupStatus = z.infer<typeof BackupStatus>;
export type MemberStatus = z.infer<typeof MemberStatus>;
export type OperationStatus = z.infer<typeof OperationStatus>;

// ---------------------------------------------------------------- request pieces

const NAME_RE = /^[\u4E00-\u9FA5\uf900-\ufa2da-zA-Z0-9_-]*$/;
const VaultName = z.lazy(() => z.string().min(1).max(64).regex(NAME_RE, 'only letters, digits, CJK, "_" and "-"'));
const NoAngle = (max: number) => z.string().max(max).regex(/^[^<>]*$/, 'must not contain < or >');

export const TagInput = z.lazy(() =>
  z.strictObject({ key: z.string().min(1).max(36), value: z.string().max(43).optional() }),
);
const uniqueKeys = (tags: { key: string }[]): boolean => new Set(tags.map((t) => t.key)).size === tags.length;
const TagsInput = z.lazy(() => z.array(TagInput).min(1).max(10).refine(uniqueKeys, 'tag keys must be unique'));
const BindRulesInput = z.lazy(() => z.strictObject({ tags: z.array(TagInput).min(1).max(5) }));

export const ResourceExtraInfoInput = z.lazy(() =>
  z.strictObject({
    exclude_volumes: z.array(z.string().min(1)).optional(),
    include_volumes: z.array(z.strictObject({ id: z.string().min(1), os_version: z.string().optional() })).optional(),
  }),
);
export const ResourceCreate = z.lazy(() =>
  z.strictObject({
    id: z.string().min(1).max(64),
    type: ResourceType,
    name: z.string().max(255).optional(),
    extra_info: ResourceExtraInfoInput.optional(),
  }),
);
export type ResourceCreate = z.input<typeof ResourceCreate>;
const uniqueIds = (items: { id: string }[]): boolean => new Set(items.map((r) => r.id)).size === items.length;

export const BillingCreate = z.lazy(() =>
  z
    .strictObject({
      consistent_level: ConsistentLevel,
      object_type: ObjectType,
      protect_type: ProtectType,
      size: int(10, 10_485_760),
      cloud_type: CloudType.optional(),
      charging_mode: ChargingMode.optional(),
      period_type: z.enum(['year', 'month']).optional(),
      period_num: z.number().int().positive().optional(),
      is_auto_renew: z.boolean().optional(),
      is_auto_pay: z.boolean().optional(),
      console_url: z.string().min(1).max(255).optional(),
      is_multi_az: z.boolean().optional(),
    })
    .superRefine((b, ctx) => {
      if (b.charging_mode !== 'pre_paid') return;
      if (b.period_type === undefined) ctx.addIssue({ code: 'custom', path: ['period_type'], message: 'required when charging_mode is pre_paid' });
      if (b.period_num === undefined) ctx.addIssue({ code: 'custom', path: ['period_num'], message: 'required when charging_mode is pre_paid' });
    }),
);

export const VaultCreate = z.lazy(() =>
  z.strictObject({
    name: VaultName,
    billing: BillingCreate,
    resources: z.array(ResourceCreate).max(256).refine(uniqueIds, 'resource ids must be unique'),
    description: NoAngle(64).optional(),
    backup_policy_id: z.string().min(1).optional(),
    tags: TagsInput.optional(),
    enterprise_project_id: z.string().min(1).optional(),
    auto_bind: z.boolean().optional(),
    bind_rules: BindRulesInput.optional(),
    auto_expand: z.boolean().optional(),
    threshold: int(1, 100).optional(),
    smn_notify: z.boolean().optional(),
    backup_name_prefix: z.string().max(32).optional(),
    demand_billing: z.boolean().optional(),
    sys_lock_source_service: z.enum(['SMB', '']).optional(),
    locked: z.boolean().optional(),
    availability_zone: z.string().min(1).max(32).optional(),
  }),
);
export const CreateVaultRequest = z.lazy(() =>
  z.strictObject({ vault: VaultCreate }),
);
export type CreateVaultRequest = z.input<typeof CreateVaultRequest>;

export const VaultUpdate = z.lazy(() =>
  z
    .strictObject({
      name: VaultName.optional(),
      billing: z
        .strictObject({ size: int(1, 10_485_760).optional(), consistent_level: ConsistentLevel.optional() })
        .optional(),
      auto_bind: z.boolean().optional(),
      bind_rules: BindRulesInput.optional(),
      auto_expand: z.boolean().optional(),
      smn_notify: z.boolean().optional(),
      threshold: int(1, 100).optional(),
      locked: z.boolean().optional(),
    })
    .refine((v) => Object.keys(v).length > 0, 'nothing to update'),
);
export const UpdateVaultRequest = z.lazy(() =>
  z.strictObject({ vault: VaultUpdate }),
);
export type UpdateVaultRequest = z.input<typeof UpdateVaultRequest>;

export const AddVaultResourceRequest = z.lazy(() =>
  z.strictObject({
    resources: z.array(ResourceCreate).min(1).max(256).refine(uniqueIds, 'resource ids must be unique'),
  }),
);
export type AddVaultResourceRequest = z.input<typeof AddVaultResourceRequest>;

export const RemoveVaultResourceRequest = z.lazy(() =>
  z.strictObject({
    resource_ids: z
      .array(z.string().min(1))
      .min(1)
      .max(256)
      .refine((ids) => new Set(ids).size === ids.length, 'resource ids must be unique'),
  }),
);
export type RemoveVaultResourceRequest = z.input<typeof RemoveVaultResourceRequest>;

export const CheckpointParameters = z.lazy(() =>
  z.strictObject({
    auto_trigger: z.boolean().optional(),
    description: NoAngle(255).optional(),
    incremental: z.boolean().optional(),
    name: VaultName.optional(),
    resources: z.array(z.string().min(1)).optional(),
    resource_details: z
      .array(z.strictObject({ id: z.string().min(1), type: ResourceType, name: z.string().max(255).optional(), extra_info: ResourceExtraInfoInput.optional() }))
      .max(256)
      .optional(),
    policy_id: z.string().min(1).optional(),
  }),
);
export const CreateCheckpointRequest = z.lazy(() =>
  z.strictObject({
    checkpoint: z.strictObject({ vault_id: CbrId, parameters: CheckpointParameters.optional() }),
  }),
);
export type CreateCheckpointRequest = z.input<typeof CreateCheckpointRequest>;

/**
 * RestoreBackup `{restore: {mappings?, power_on?, server_id?, volume_id?}}` (OTC restoring_a_backup.rst):
 * a server backup needs `server_id` and one mapping per disk backup (disk backup -> disk of the target),
 * a disk backup `volume_id`. Answer: 202, no body.
 */
export const RestoreBackupRequest = z.lazy(() =>
  z.strictObject({
    restore: z.strictObject({
      mappings: z.array(z.strictObject({ backup_id: CbrId, volume_id: CbrId })).min(1).max(24).optional(),
      power_on: z.boolean().optional(),
      server_id: CbrId.optional(),
      volume_id: CbrId.optional(),
    }),
  }),
);
export type RestoreBackupRequest = z.input<typeof RestoreBackupRequest>;

/**
 * ReplicateBackup (CopyBackup) `{replicate: {...}}`: Huawei Cloud API reference "Replicating a Backup"
 * (support.huaweicloud.com/api-cbr/CopyBackup.html, Table 4 BackupReplicateReqBody; API Explorer's
 * definition): destination project, region and vault mandatory; `description` <= 255 without < or >;
 * `name` 1..64 letters, digits, `_` and `-`; `enable_acceleration` optional (default false).
 */
export const ReplicateBackupRequest = z.lazy(() =>
  z.strictObject({
    replicate: z.strictObject({
      description: z.string().max(255).regex(/^[^<>]*$/, 'must not contain < or >').optional(),
      destination_project_id: ProjectId,
      destination_region: z.string().min(1).max(255).regex(/^[a-zA-Z0-9._-]+$/, 'must be a region id (letters, digits, . _ -)'),
      destination_vault_id: CbrId,
      enable_acceleration: z.boolean().optional(),
      name: z.string().min(1).max(64).regex(/^[a-zA-Z0-9_-]+$/, 'must be 1..64 letters, digits, _ or -').optional(),
    }),
  }),
);
export type ReplicateBackupRequest = z.input<typeof ReplicateBackupRequest>;

export const AddMemberRequest = z.lazy(() =>
  z.strictObject({
    members: z
      .array(ProjectId)
      .min(1)
      .max(10)
      .refine((m) => new Set(m).size === m.length, 'project ids must be unique'),
    domains: z.array(z.string().min(1)).optional(),
  }),
);
export type AddMemberRequest = z.input<typeof AddMemberRequest>;

export const UpdateMemberStatusRequest = z.lazy(() =>
  z
    .strictObject({ status: MemberStatus, vault_id: CbrId.optional() })
    .superRefine((b, ctx) => {
      if (b.status === 'accepted' && b.vault_id === undefined) {
        ctx.addIssue({ code: 'custom', path: ['vault_id'], message: 'required when accepting a shared backup' });
      }
    }),
);
export type UpdateMemberStatusRequest = z.input<typeof UpdateMemberStatusRequest>;

// ---------------------------------------------------------------- query strings

const Limit = int(1, 1000);
const Offset = z.number().int().min(0);
/** Filters take `YYYY-MM-DDTHH:MM:SSZ`; a Date is formatted to that. */
const QueryTime = z.lazy(() =>
  z.union([
    z.date().transform(formatQueryTime),
    z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'expected YYYY-MM-DDTHH:MM:SSZ'),
  ]),
);
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);
const NoComma = z.lazy(() => z.string().min(1).regex(/^[^,]*$/, 'must not contain a comma'));

export const ListVaultQuery = z.lazy(() =>
  z.strictObject({
    limit: Limit.optional(),
    offset: Offset.optional(),
    name: z.string().min(1).optional(),
    cloud_type: CloudType.optional(),
    protect_type: ProtectType.optional(),
    object_type: ObjectType.optional(),
    enterprise_project_id: z.string().min(1).optional(),
    /** Repeated on the wire: `id=a&id=b`. */
    id: oneOrMany(CbrId).optional(),
    policy_id: z.string().min(1).optional(),
    status: z.string().min(1).optional(),
    /** One comma-separated value on the wire: `resource_ids=a,b`. */
    resource_ids: oneOrMany(NoComma)
      .transform((v) => (Array.isArray(v) ? v.join(',') : v))
      .optional(),
  }),
);
export type ListVaultQuery = z.input<typeof ListVaultQuery>;

const SORT_KEY = '(?:created_at|updated_at|name|status|protected_at|id)(?::(?:asc|desc))?';
const BackupSort = z.lazy(() =>
  z
    .string()
    .max(255)
    .regex(new RegExp(`^${SORT_KEY}(?:,${SORT_KEY})*$`), 'expected key[:asc|desc],... with keys created_at, updated_at, name, status, protected_at, id'),
);

export const ListBackupsQuery = z.lazy(() =>
  z.strictObject({
    checkpoint_id: CbrId.optional(),
    vault_id: CbrId.optional(),
    resource_id: z.string().min(1).optional(),
    resource_name: z.string().min(1).optional(),
    resource_type: z.enum(['OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Workspace::DesktopV2']).optional(),
    resource_az: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    /** Repeated on the wire, values sorted: `status=available&status=error`. */
    status: oneOrMany(BackupStatus).optional(),
    image_type: ImageType.optional(),
    own_type: OwnType.optional(),
    member_status: MemberStatus.optional(),
    start_time: QueryTime.optional(),
    end_time: QueryTime.optional(),
    sort: BackupSort.optional(),
    limit: Limit.optional(),
    offset: Offset.optional(),
    marker: z.string().min(1).optional(),
    enterprise_project_id: z.string().min(1).optional(),
    parent_id: z.string().min(1).optional(),
    used_percent: z.union([int(1, 100), z.string().regex(/^(?:[1-9]\d?|100)$/, 'expected 1..100')]).optional(),
    show_replication: z.boolean().optional(),
    incremental: z.boolean().optional(),
    dec: z.boolean().optional(),
  }),
);
export type ListBackupsQuery = z.input<typeof ListBackupsQuery>;

export const ShowMembersDetailQuery = z.lazy(() =>
  z.strictObject({
    dest_project_id: ProjectId.optional(),
    image_id: z.string().min(1).optional(),
    status: MemberStatus.optional(),
    vault_id: CbrId.optional(),
    limit: Limit.optional(),
    offset: Offset.optional(),
    marker: z.string().min(1).optional(),
    sort: z.string().min(1).max(255).optional(),
  }),
);
export type ShowMembersDetailQuery = z.input<typeof ShowMembersDetailQuery>;

export const ListOpLogsQuery = z.lazy(() =>
  z.strictObject({
    operation_type: OperationType.optional(),
    status: OperationStatus.optional(),
    vault_id: CbrId.optional(),
    vault_name: z.string().min(1).optional(),
    resource_id: z.string().min(1).optional(),
    resource_name: z.string().min(1).optional(),
    provider_id: z.string().min(1).optional(),
    start_time: QueryTime.optional(),
    end_time: QueryTime.optional(),
    limit: Limit.optional(),
    offset: Offset.optional(),
    enterprise_project_id: z.string().min(1).optional(),
  }),
);
export type ListOpLogsQuery = z.input<typeof ListOpLogsQuery>;

/** `protectable_type` of ListProtectable (ShowProtectable takes only `server` and `disk`), cbr-api.md §6.2. */
export const ProtectableType = z.enum(['server', 'disk', 'turbo', 'workspace', 'workspace_v2']);
export type ProtectableType = z.infer<typeof ProtectableType>;

export const ListProtectableQuery = z.lazy(() =>
  z.strictObject({
    limit: int(1, 50).optional(),
    offset: Offset.optional(),
    marker: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    status: z.string().min(1).optional(),
    id: z.string().min(1).optional(),
    server_id: CbrId.optional(),
  }),
);
export type ListProtectableQuery = z.input<typeof ListProtectableQuery>;

// ---------------------------------------------------------------- responses
//
// The tolerant reader (issue 10): a response schema requires only what cbr-flow reads (ids, statuses,
// lists), keeps unknown fields, and accepts `null`, `""` or absence for everything else. Enums are open:
// a known value stays typed, one CBR added later is kept as sent and typed `UnknownValue`, which the
// use-cases handle explicitly (e.g. a backup status never seen before keeps being checked until the
// completion window). Checked against the 79 real bodies of ../shared/cbr-recordings
// (test/fidelity/recordings.test.ts).

/** A value outside an open enum's known values, kept as CBR sent it. */
export type UnknownValue = string & { readonly __unknownEnumValue: true };
/** Known values typed, anything else kept as an `UnknownValue` string. */
export function openEnum<const T extends readonly string[]>(_known: T) {
  return z.string().transform((v) => v as T[number] | UnknownValue);
}
/** True when `value` is one of `values` (narrows an open enum to its known part). */
export function isKnownValue<const T extends string>(values: readonly T[], value: string | null | undefined): value is T {
  return value !== null && value !== undefined && (values as readonly string[]).includes(value);
}

/** Response timestamps: any of the accepted shapes (kept as sent), `""`, null or absent. */
const rts = z.union([CbrTimestamp, z.literal('')]).nullish();
/** Ids CBR sometimes sends as numbers (`enterprise_project_id: 0` in OTC's examples): read as strings. */
const idLike = z.union([z.string(), z.number().transform(String)]).nullish();
/** A number, a number as a string, `""` (read as null), null or absent. */
const optNum = z.union([NumberLike, z.literal('').transform(() => null)]).nullish();

export const RESPONSE_PROTECT_STATUSES = ['available', 'error', 'protecting', 'restoring', 'removing', 'deleted'] as const;
export const RESPONSE_BACKUP_STATUSES = BackupStatus.options;
const OpenProtectStatus = openEnum(RESPONSE_PROTECT_STATUSES);
const OpenCheckpointStatus = openEnum(CheckpointStatus.options);
const OpenBackupStatus = openEnum(BackupStatus.options);
const OpenMemberStatus = openEnum(MemberStatus.options);
const OpenOperationStatus = openEnum(OperationStatus.options);

export const Tag = z.lazy(() =>
  z.looseObject({ key: z.string(), value: str }),
);
export type Tag = z.infer<typeof Tag>;

export const Billing = z.lazy(() =>
  z.looseObject({
    allocated: optNum,
    charging_mode: str,
    cloud_type: str,
    consistent_level: str,
    object_type: str,
    order_id: str,
    product_id: str,
    protect_type: str,
    size: optNum,
    spec_code: str,
    status: str,
    storage_unit: str,
    /** MB (while `size`/`allocated` are GB). */
    used: optNum,
    frozen_scene: str,
    is_multi_az: bool,
  }),
);
export type Billing = z.infer<typeof Billing>;

export const ResourceExtraInfo = z.lazy(() =>
  z.looseObject({
    exclude_volumes: z.array(z.string()).nullish(),
    include_volumes: z.array(z.looseObject({ id: z.string(), os_version: str })).nullish(),
  }),
);

export const VaultResource = z.lazy(() =>
  z.looseObject({
    id: z.string(),
    name: str,
    type: str,
    /** `deleted` once the server itself was deleted while still in the vault (recorded ListVault). */
    protect_status: OpenProtectStatus.nullish(),
    size: optNum,
    backup_size: optNum,
    backup_count: optNum,
    auto_protect: bool,
    extra_info: ResourceExtraInfo.nullish(),
  }),
);
export type VaultResource = z.infer<typeof VaultResource>;

export const Vault = z.lazy(() =>
  z.looseObject({
    id: z.string(),
    name: z.string(),
    project_id: str,
    /** Absent from UpdateVault's documented answers. */
    provider_id: str,
    billing: Billing.nullish(),
    resources: z.array(VaultResource).nullish(),
    description: str,
    tags: z.array(Tag).nullish(),
    enterprise_project_id: idLike,
    auto_bind: bool,
    bind_rules: z.looseObject({ tags: z.array(Tag).nullish() }).nullish(),
    auto_expand: bool,
    smn_notify: bool,
    locked: bool,
    user_id: str,
    created_at: rts,
    updated_at: rts,
    threshold: optNum,
    sys_lock_source_service: str,
    availability_zone: str,
    version: z.union([z.string(), z.number()]).nullish(),
  }),
);
export type Vault = z.infer<typeof Vault>;

/** One order of a yearly/monthly CreateVault answer (API Explorer's example). */
export const VaultOrder = z.lazy(() =>
  z.looseObject({ orderId: str, cloudServiceId: str, resourceId: str, subscribeResult: optNum }),
);
export type VaultOrder = z.infer<typeof VaultOrder>;

/**
 * CreateVault answers `vault`, or for a yearly/monthly vault an order (`orders`, `retCode`, `errText`,
 * `error_code`, no `vault`: the vault exists once the order is paid).
 */
export const CreateVaultResponse = z.lazy(() =>
  z.looseObject({
    vault: Vault.nullish(),
    orders: z.array(VaultOrder).nullish(),
    retCode: idLike,
    errText: str,
    error_code: idLike,
  }),
);
export type CreateVaultResponse = z.infer<typeof CreateVaultResponse>;
export const VaultResponse = z.lazy(() =>
  z.looseObject({ vault: Vault }),
);
export type VaultResponse = z.infer<typeof VaultResponse>;
export const ListVaultResponse = z.lazy(() =>
  z.looseObject({ vaults: z.array(Vault), count: optNum, limit: optNum, offset: optNum }),
);
export type ListVaultResponse = z.infer<typeof ListVaultResponse>;
export const AddVaultResourceResponse = z.lazy(() =>
  z.looseObject({ add_resource_ids: z.array(z.string()).nullish() }),
);
export type AddVaultResourceResponse = z.infer<typeof AddVaultResourceResponse>;
export const RemoveVaultResourceResponse = z.lazy(() =>
  z.looseObject({ remove_resource_ids: z.array(z.string()).nullish() }),
);
export type RemoveVaultResourceResponse = z.infer<typeof RemoveVaultResourceResponse>;

export const CheckpointResource = z.lazy(() =>
  z.looseObject({
    id: z.string(),
    name: str,
    type: str,
    protect_status: OpenProtectStatus.nullish(),
    // typed string in the spec, numbers in OTC examples (§3.2, §11)
    resource_size: optNum,
    backup_size: optNum,
    backup_count: optNum,
    extra_info: z.unknown().optional(),
  }),
);
export type CheckpointResource = z.infer<typeof CheckpointResource>;

export const SkippedResource = z.lazy(() =>
  z.looseObject({ id: z.string(), type: str, name: str, code: str, reason: str }),
);
export type SkippedResource = z.infer<typeof SkippedResource>;

export const Checkpoint = z.lazy(() =>
  z.looseObject({
    id: z.string(),
    project_id: str,
    created_at: rts,
    status: OpenCheckpointStatus,
    vault: z
      .looseObject({
        id: str,
        name: str,
        provider_id: str,
        resources: z.array(CheckpointResource).nullish(),
        skipped_resources: z.array(SkippedResource).nullish(),
      })
      .nullish(),
    extra_info: z.looseObject({ name: str, description: str, retention_duration: optNum }).nullish(),
  }),
);
export type Checkpoint = z.infer<typeof Checkpoint>;
export const CheckpointResponse = z.lazy(() =>
  z.looseObject({ checkpoint: Checkpoint }),
);
export type CheckpointResponse = z.infer<typeof CheckpointResponse>;

export const BackupExtendInfo = z.lazy(() =>
  z.looseObject({
    auto_trigger: bool,
    bootable: bool,
    snapshot_id: str,
    support_lld: bool,
    supported_restore_mode: str,
    os_images_data: z.array(z.looseObject({ image_id: str })).nullish(),
    contain_system_disk: bool,
    encrypted: bool,
    system_disk: bool,
    is_multi_az: bool,
    architecture: str,
    progress: optNum,
  }),
);

const backupShape = () => ({
  id: z.string(),
  name: str,
  description: str,
  checkpoint_id: str,
  vault_id: str,
  project_id: str,
  provider_id: str,
  resource_id: str,
  resource_name: str,
  resource_type: str,
  resource_az: str,
  resource_size: optNum,
  status: OpenBackupStatus,
  image_type: str,
  created_at: rts,
  updated_at: rts,
  expired_at: rts,
  /** A bare date (`2025-03-22`) in a recorded ListBackups. */
  protected_at: rts,
  parent_id: str,
  extend_info: BackupExtendInfo.nullish(),
  replication_records: z.array(z.unknown()).nullish(),
  enterprise_project_id: idLike,
  incremental: bool,
  version: optNum,
});
/** A child (per-disk) backup of a server backup: same fields, no further nesting. */
export const BackupChild = z.lazy(() =>
  z.looseObject({ ...backupShape(), children: z.array(z.unknown()).nullish() }),
);
export const Backup = z.lazy(() =>
  z.looseObject({ ...backupShape(), children: z.array(BackupChild).nullish() }),
);
export type Backup = z.infer<typeof Backup>;
export const BackupResponse = z.lazy(() =>
  z.looseObject({ backup: Backup }),
);
export type BackupResponse = z.infer<typeof BackupResponse>;
export const ListBackupsResponse = z.lazy(() =>
  z.looseObject({ backups: z.array(Backup), count: optNum, limit: optNum, offset: optNum }),
);
export type ListBackupsResponse = z.infer<typeof ListBackupsResponse>;

export const Member = z.lazy(() =>
  z.looseObject({
    id: str,
    status: OpenMemberStatus.nullish(),
    backup_id: str,
    dest_project_id: str,
    vault_id: str,
    image_id: str,
    created_at: rts,
    updated_at: rts,
  }),
);
export type Member = z.infer<typeof Member>;
/** AddMember's documented answers carry no `count`. */
export const MembersResponse = z.lazy(() =>
  z.looseObject({ members: z.array(Member), count: optNum }),
);
export type MembersResponse = z.infer<typeof MembersResponse>;
export const MemberResponse = z.lazy(() =>
  z.looseObject({ member: Member }),
);
export type MemberResponse = z.infer<typeof MemberResponse>;

/**
 * ReplicateBackup's answer `{replication: {backup_id, destination_project_id, destination_region,
 * destination_vault_id, project_id, provider_id, replication_record_id, source_region}}` (Go SDK
 * model_backup_replicate_resp_body.go: every field optional). It does not name the replica: cbr-flow finds
 * that by name in the destination vault.
 */
export const ReplicateBackupResponse = z.lazy(() =>
  z.looseObject({
    replication: z.looseObject({
      backup_id: str,
      destination_project_id: str,
      destination_region: str,
      destination_vault_id: str,
      project_id: str,
      provider_id: str,
      replication_record_id: str,
      source_region: str,
    }),
  }),
);
export type ReplicateBackupResponse = z.infer<typeof ReplicateBackupResponse>;

const strOrBool = z.lazy(() => z.union([z.string(), z.boolean()]).nullish());
export const OperationLogExtraInfo = z.lazy(() =>
  z.looseObject({
    common: z.looseObject({ progress: optNum, request_id: str, task_id: str }).nullish(),
    resource: z.looseObject({ id: str, name: str, type: str }).nullish(),
    backup: z
      .looseObject({ backup_id: str, backup_name: str, incremental: strOrBool, app_consistency_status: z.union([z.string(), z.number()]).nullish() })
      .nullish(),
    delete: z.looseObject({ backup_id: str, backup_name: str }).nullish(),
    remove_resources: z.looseObject({ fail_count: optNum, total_count: optNum, resources: z.array(z.unknown()).nullish() }).nullish(),
    vault_delete: z.looseObject({ fail_count: optNum, total_count: optNum }).nullish(),
    /** A `replication` task: the source and the replica (field names as the emulator sends them; CBR's are not documented). */
    replication: z.looseObject({ source_backup_id: str, destination_backup_id: str, destination_region: str, destination_vault_id: str }).nullish(),
  }),
);

export const OperationLog = z.lazy(() =>
  z.looseObject({
    id: str,
    project_id: str,
    status: OpenOperationStatus,
    /** Kept as a string: new task types must not break parsing (the query filter is an enum). */
    operation_type: str,
    created_at: rts,
    started_at: rts,
    updated_at: rts,
    ended_at: rts,
    error_info: z.looseObject({ code: z.union([z.string(), z.number()]).nullish(), message: str }).nullish(),
    checkpoint_id: str,
    policy_id: str,
    provider_id: str,
    vault_id: str,
    vault_name: str,
    extra_info: OperationLogExtraInfo.nullish(),
  }),
);
export type OperationLog = z.infer<typeof OperationLog>;
export const ListOpLogsResponse = z.lazy(() =>
  z.looseObject({ operation_logs: z.array(OperationLog), count: optNum, limit: optNum, offset: optNum }),
);
export type ListOpLogsResponse = z.infer<typeof ListOpLogsResponse>;
export const OperationLogResponse = z.lazy(() =>
  z.looseObject({ operation_log: OperationLog }),
);
export type OperationLogResponse = z.infer<typeof OperationLogResponse>;

/**
 * A protectable instance (ListProtectable/ShowProtectable, cbr-api.md §6.2). Recorded answers send
 * `status: "ACTIVE"` (the doc says active|deleted|error), `code: ""` and `vault: null`: the status is
 * kept as sent (compare it case-insensitively), `protectable.vault` names the vault holding the resource.
 */
export const ProtectableInstance = z.lazy(() =>
  z.looseObject({
    id: z.string(),
    name: str,
    type: str,
    size: optNum,
    status: str,
    children: z.array(z.unknown()).nullish(),
    detail: z.unknown().optional(),
    protectable: z
      .looseObject({
        result: bool,
        code: idLike,
        reason: str,
        message: str,
        vault: z.looseObject({ id: str, name: str }).nullish(),
      })
      .nullish(),
  }),
);
export type ProtectableInstance = z.infer<typeof ProtectableInstance>;
export const ListProtectableResponse = z.lazy(() =>
  z.looseObject({ instances: z.array(ProtectableInstance), count: optNum }),
);
export type ListProtectableResponse = z.infer<typeof ListProtectableResponse>;
export const ShowProtectableResponse = z.lazy(() =>
  z.looseObject({ instance: ProtectableInstance }),
);
export type ShowProtectableResponse = z.infer<typeof ShowProtectableResponse>;
