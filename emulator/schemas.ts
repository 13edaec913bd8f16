/**
 * Request-body schemas of the emulated operations (cbr-api.md §2-§5, §8), checked like the real service:
 * any violation is a 400 BackupService.9900 naming the field. Unknown keys are rejected ("invalid key x",
 * as the real service answered Terraform) unless quirks.rejectUnknownFields is false.
 */
import * as z from 'zod';
import { iamError, paramError } from './errors';
import type { EmulatorHttpError } from './errors';

const NAME_RE = /^[\u4E00-\u9FA5\uf900-\ufa2da-zA-Z0-9_-]*$/;
const NO_ANGLE_RE = /^[^<>]*$/;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const HEX32_RE = /^[0-9a-f]{32}$/;

const Name = z.string().min(1).max(64).regex(NAME_RE, 'only letters, digits, Chinese characters, "_" and "-" are allowed');
const ResourceTypeEnum = z.enum([
  'OS::Nova::Server',
  'OS::Cinder::Volume',
  'OS::Ironic::BareMetalServer',
  'OS::Native::Server',
  'OS::Sfs::Turbo',
  'OS::Workspace::DesktopV2',
]);

const ResourceExtraInfo = z.strictObject({
  exclude_volumes: z.array(z.string().min(1)).optional(),
  include_volumes: z.array(z.strictObject({ id: z.string().min(1), os_version: z.string().optional() })).optional(),
});

export const ResourceCreate = z.strictObject({
  id: z.string().min(1).max(64),
  type: ResourceTypeEnum,
  name: z.string().max(255).optional(),
  extra_info: ResourceExtraInfo.optional(),
});
export type ResourceCreate = z.infer<typeof ResourceCreate>;

const Tag = z.strictObject({ key: z.string().min(1).max(36), value: z.string().max(43).nullable().optional() });
const BindRules = z.strictObject({
  tags: z.array(z.strictObject({ key: z.string().min(1).max(36), value: z.string().max(43) })).min(1).max(5).optional(),
});

const BillingCreate = z
  .strictObject({
    consistent_level: z.enum(['crash_consistent', 'app_consistent']),
    object_type: z.enum(['server', 'disk', 'turbo', 'workspace', 'vmware', 'rds', 'file']),
    protect_type: z.enum(['backup', 'replication']),
    size: z.int().min(10).max(10_485_760),
    cloud_type: z.enum(['public', 'hybrid']).optional(),
    charging_mode: z.enum(['post_paid', 'pre_paid']).optional(),
    period_type: z.enum(['year', 'month']).optional(),
    period_num: z.int().min(1).max(9).optional(),
    is_auto_renew: z.boolean().optional(),
    is_auto_pay: z.boolean().optional(),
    console_url: z.string().min(1).max(255).optional(),
    is_multi_az: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    if (b.charging_mode === 'pre_paid') {
      if (b.period_type === undefined) ctx.addIssue({ code: 'custom', path: ['period_type'], message: 'required when charging_mode is pre_paid' });
      if (b.period_num === undefined) ctx.addIssue({ code: 'custom', path: ['period_num'], message: 'required when charging_mode is pre_paid' });
    }
  });

export const CreateVaultBody = z.strictObject({
  vault: z
    .strictObject({
      name: Name,
      billing: BillingCreate,
      resources: z.array(ResourceCreate).max(256),
      description: z.string().max(64).regex(NO_ANGLE_RE, 'must not contain "<" or ">"').nullable().optional(),
      backup_policy_id: z.string().min(1).max(64).nullable().optional(),
      tags: z.array(Tag).min(1).max(10).optional(),
      enterprise_project_id: z.string().min(1).max(64).optional(),
      auto_bind: z.boolean().optional(),
      bind_rules: BindRules.optional(),
      auto_expand: z.boolean().optional(),
      threshold: z.int().min(1).max(100).optional(),
      smn_notify: z.boolean().optional(),
      backup_name_prefix: z.string().max(32).optional(),
      demand_billing: z.boolean().optional(),
      sys_lock_source_service: z.enum(['SMB', '']).optional(),
      locked: z.boolean().optional(),
      availability_zone: z.string().min(1).max(32).optional(),
    })
    .superRefine((v, ctx) => {
      if (v.tags) {
        const keys = new Set<string>();
        v.tags.forEach((t, i) => {
          if (keys.has(t.key)) ctx.addIssue({ code: 'custom', path: ['tags', i, 'key'], message: `duplicate tag key "${t.key}"` });
          keys.add(t.key);
        });
      }
      if (v.auto_expand === true && v.billing.charging_mode === 'pre_paid') {
        ctx.addIssue({ code: 'custom', path: ['auto_expand'], message: 'only pay-per-use (post_paid) vaults can auto-expand' });
      }
      if (v.demand_billing !== undefined && v.billing.charging_mode !== 'pre_paid') {
        ctx.addIssue({ code: 'custom', path: ['demand_billing'], message: 'only allowed for pre_paid vaults' });
      }
    }),
});

export const UpdateVaultBody = z.strictObject({
  vault: z.strictObject({
    name: Name.optional(),
    billing: z
      .strictObject({ size: z.int().min(1).max(10_485_760).optional(), consistent_level: z.enum(['crash_consistent', 'app_consistent']).optional() })
      .optional(),
    auto_bind: z.boolean().optional(),
    bind_rules: BindRules.optional(),
    auto_expand: z.boolean().optional(),
    smn_notify: z.boolean().optional(),
    threshold: z.int().min(1).max(100).optional(),
    locked: z.boolean().optional(),
  }),
});

export const AddResourcesBody = z.strictObject({ resources: z.array(ResourceCreate).min(1).max(256) });
export const RemoveResourcesBody = z.strictObject({ resource_ids: z.array(z.string().min(1).max(64)).min(1).max(256) });

export const CreateCheckpointBody = z.strictObject({
  checkpoint: z.strictObject({
    vault_id: z.string().regex(UUID_RE, 'must be a UUID'),
    parameters: z
      .strictObject({
        auto_trigger: z.boolean().optional(),
        description: z.string().max(255).regex(NO_ANGLE_RE, 'must not contain "<" or ">"').optional(),
        incremental: z.boolean().optional(),
        name: Name.optional(),
        resources: z.array(z.string().min(1).max(64)).max(256).optional(),
        resource_details: z.array(ResourceCreate).max(256).optional(),
        policy_id: z.string().min(1).max(64).optional(),
      })
      .optional(),
  }),
});

export const AddMemberBody = z.strictObject({
  members: z.array(z.string().min(1).max(64)).min(1).max(10),
  domains: z.array(z.string().min(1).max(64)).optional(),
});

export const UpdateMemberBody = z.strictObject({
  status: z.enum(['accepted', 'rejected', 'pending']),
  vault_id: z.string().regex(UUID_RE, 'must be a UUID').optional(),
});

/** RestoreBackup (OTC restoring_a_backup.rst, BackupRestore / BackupRestoreServerMapping). */
export const RestoreBackupBody = z.strictObject({
  restore: z.strictObject({
    mappings: z.array(z.strictObject({ backup_id: z.string().regex(UUID_RE, 'must be a UUID'), volume_id: z.string().regex(UUID_RE, 'must be a UUID') })).min(1).max(24).optional(),
    power_on: z.boolean().optional(),
    server_id: z.string().regex(UUID_RE, 'must be a UUID').optional(),
    volume_id: z.string().regex(UUID_RE, 'must be a UUID').optional(),
  }),
});

/**
 * ReplicateBackup (CopyBackup) body: Huawei Cloud API reference "Replicating a Backup"
 * (support.huaweicloud.com/api-cbr/CopyBackup.html, Table 4 BackupReplicateReqBody; API Explorer
 * definition BackupReplicateReqBody): destination_project_id, destination_region, destination_vault_id
 * mandatory; description <= 255 without < >; name 1..64 of letters, digits, _ and -; enable_acceleration.
 */
export const ReplicateBackupBody = z.strictObject({
  replicate: z.strictObject({
    description: z.string().max(255).regex(/^[^<>]*$/, 'must not contain < or >').optional(),
    destination_project_id: z.string().regex(HEX32_RE, 'must be a 32-hex project id'),
    destination_region: z.string().min(1).max(255).regex(/^[a-zA-Z0-9._-]*$/, 'must be a region id'),
    destination_vault_id: z.string().regex(UUID_RE, 'must be a UUID'),
    enable_acceleration: z.boolean().optional(),
    name: z.string().min(1).max(64).regex(/^[\u4E00-\u9FA5\uF900-\uFA2Da-zA-Z0-9_-]*$/, 'must hold only letters, digits, _ and -').optional(),
  }),
});

const NameOrId = z.union([z.object({ name: z.string().min(1) }), z.object({ id: z.string().min(1) })]);
export const IamTokenBody = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.tuple([z.literal('password')]),
      password: z.object({
        user: z.object({
          name: z.string().min(1),
          password: z.string().min(1),
          domain: NameOrId,
        }),
      }),
    }),
    scope: z.union([z.object({ project: NameOrId }), z.object({ domain: NameOrId })]),
  }),
});
export type IamTokenBody = z.infer<typeof IamTokenBody>;

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(body)' : out;
}

function stripUnknown(value: unknown, issues: readonly z.core.$ZodIssue[]): void {
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let target: unknown = value;
    for (const p of issue.path) target = (target as Record<PropertyKey, unknown>)?.[p];
    if (target && typeof target === 'object') for (const k of issue.keys) delete (target as Record<string, unknown>)[k];
  }
}

/** Parses a request body; the first problem becomes a 400 BackupService.9900 naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, rejectUnknown: boolean): z.output<S> {
  let result = schema.safeParse(body);
  if (!result.success && !rejectUnknown && result.error.issues.some((i) => i.code === 'unrecognized_keys')) {
    stripUnknown(body, result.error.issues);
    result = schema.safeParse(body);
  }
  if (result.success) return result.data;
  throw issueToError(result.error.issues);
}

function issueToError(issues: readonly z.core.$ZodIssue[]): EmulatorHttpError {
  const issue = issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const where = fieldPath(issue.path);
    const key = issue.keys[0]!;
    return paramError(where === '(body)' ? key : `${where}.${key}`, `invalid key ${key}`);
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) return paramError('(body)', 'a JSON object is required');
  return paramError(fieldPath(issue.path), issue.message);
}

export function parseIamBody(body: unknown): IamTokenBody {
  const result = IamTokenBody.safeParse(body);
  if (!result.success) throw iamError(400, 'The request body is invalid');
  return result.data;
}
