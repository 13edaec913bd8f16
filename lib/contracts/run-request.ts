/**
 * The run request: what a caller (webhook, plan, another function) asks cbr-flow to do. camelCase
 * because it is cbr-flow's own API; the use-cases map it to CBR's snake_case bodies.
 */
import * as z from 'zod';
import { RetentionRules } from '../retention/rules';
import { CbrId, ProjectId, Region } from './ids';
import { Selection } from './selection';
import { NO_CONTROL_CHARS, text } from './text';

/** CBR vault / checkpoint names: 1..64 letters, digits, CJK, `_` and `-` (cbr-api.md §2.1, §3.1). */
const CBR_NAME = /^[\u4E00-\u9FA5\uf900-\ufa2da-zA-Z0-9_-]+$/;
const NO_ANGLE = /^[^<>]*$/;

export const ResourceType = z.enum(['OS::Nova::Server', 'OS::Cinder::Volume']);
export type ResourceType = z.infer<typeof ResourceType>;

export const ResourceSpec = z.strictObject({
  id: CbrId,
  type: ResourceType,
  name: text().min(1).max(255).optional(),
});
export type ResourceSpec = z.infer<typeof ResourceSpec>;

const BillingCommon = {
  /** GB, 10..10485760 (cbr-api.md §2.2). */
  size: z.number().int().min(10).max(10_485_760),
  consistentLevel: z.enum(['crash_consistent', 'app_consistent']).default('crash_consistent'),
  cloudType: z.enum(['public', 'hybrid']).default('public'),
};

/** Pay-per-use vault (the seed's first example). */
export const PostPaidBilling = z.strictObject({
  chargingMode: z.literal('post_paid'),
  ...BillingCommon,
  autoExpand: z.boolean().optional(),
});

/** Yearly/monthly vault (the seed's second example). */
export const PrePaidBilling = z.strictObject({
  chargingMode: z.literal('pre_paid'),
  ...BillingCommon,
  periodType: z.enum(['year', 'month']),
  periodNum: z.number().int().min(1).max(9),
  isAutoRenew: z.boolean().default(false),
  isAutoPay: z.boolean().default(false),
});

export const Billing = z.discriminatedUnion('chargingMode', [PostPaidBilling, PrePaidBilling]);
export type Billing = z.infer<typeof Billing>;

const VaultName = z.string().min(1).max(64).regex(CBR_NAME, { error: 'may contain only letters, digits, CJK characters, _ and -' });

/**
 * cbr-flow may expand the (pay-per-use) vault before a checkpoint that would not fit, up to this size
 * (UpdateVault `billing.size`, GB; README "Vault capacity"). Absent: a run that would not fit fails.
 */
export const VaultAutoExpand = z.strictObject({
  /** The largest size (GB) cbr-flow may give the vault; CBR allows 10..10485760 (cbr-api.md §2.5). */
  maxSizeGB: z.number().int().min(10).max(10_485_760),
});
export type VaultAutoExpand = z.infer<typeof VaultAutoExpand>;

/** Use an existing vault found by exact name; the run fails if there is none. */
export const ReuseVault = z.strictObject({ mode: z.literal('reuse'), name: VaultName, autoExpand: VaultAutoExpand.optional() });
/** Use the vault with this exact name if it exists, otherwise create it (never a second one). */
export const CreateVault = z.strictObject({
  mode: z.literal('create'),
  name: VaultName,
  description: text().max(64).regex(NO_ANGLE, { error: 'must not contain < or >' }).optional(),
  billing: Billing,
  autoExpand: VaultAutoExpand.optional(),
});
export const VaultSpec = z.discriminatedUnion('mode', [ReuseVault, CreateVault]);
export type VaultSpec = z.infer<typeof VaultSpec>;

export const CheckpointSpec = z.strictObject({
  /**
   * Prefix of the CBR checkpoint name. The full name is `<name>_<run id hex>` so a crashed
   * start-checkpoint can find its own checkpoint again; 28 + 1 + 32 (+3 for retries) <= 64.
   */
  name: z.string().min(1).max(28).regex(/^[a-zA-Z0-9_-]+$/, { error: 'may contain only letters, digits, _ and -' }).default('cbrflow'),
  description: text().max(200).regex(NO_ANGLE, { error: 'must not contain < or >' }).optional(),
  incremental: z.boolean().default(true),
});
export type CheckpointSpec = z.infer<typeof CheckpointSpec>;

/**
 * One share target: a project id (the share is added and left `pending`, as before), or an object
 * naming what the receiving side does. `vaultName`: with the receiving project's CBR credentials
 * (CBR_CREDENTIALS_MAP), the run finds or creates that vault (exact name) in the receiving project and
 * accepts the share into it (UpdateMemberStatus, cbr-api.md §5.1). `required` (default: true when
 * `vaultName` is set, else false): the run is COMPLETED only when every required member is accepted,
 * otherwise PARTIAL. `ttlHours`: the check-status sweep revokes the member (DeleteMember) that long
 * after the run shared it.
 */
export const ShareTargetSpec = z.strictObject({
  projectId: ProjectId,
  vaultName: VaultName.optional(),
  /** GB of the receiving vault when cbr-flow creates it (pay-per-use; cbr-api.md §2.2: 10..10485760). */
  vaultSizeGb: z.number().int().min(10).max(10_485_760).default(100),
  required: z.boolean().optional(),
  /** Lifetime of the share, hours (1..8760, one year). */
  ttlHours: z.number().int().min(1).max(8760).optional(),
});
export const ShareTarget = z.union([ProjectId, ShareTargetSpec]);
export type ShareTarget = z.infer<typeof ShareTarget>;

/** A share target with every default applied. */
export interface ResolvedShareTarget {
  projectId: string;
  vaultName?: string;
  vaultSizeGb: number;
  required: boolean;
  ttlHours?: number;
}

export function shareTargetsOf(request: Pick<RunRequest, 'shareWith'>): ResolvedShareTarget[] {
  return request.shareWith.map((t) =>
    typeof t === 'string'
      ? { projectId: t, vaultSizeGb: 100, required: false }
      : {
          projectId: t.projectId,
          ...(t.vaultName ? { vaultName: t.vaultName } : {}),
          vaultSizeGb: t.vaultSizeGb,
          required: t.required ?? t.vaultName !== undefined,
          ...(t.ttlHours ? { ttlHours: t.ttlHours } : {}),
        },
  );
}

/**
 * A cross-region replication target (issue 15): after the backup is available, cbr-flow finds or creates
 * the replication vault `vaultName` (protect_type `replication`) in `region` of `projectId` (default: the
 * run's project, whose id in the destination region this must then be: Huawei project ids are per region)
 * and replicates each server backup there (CBR ReplicateBackup, README "Cross-region replication").
 */
export const ReplicationTargetSpec = z.strictObject({
  region: Region,
  /** The project in the destination region (its CBR credentials from CBR_CREDENTIALS_MAP). Default: the run's projectId. */
  projectId: ProjectId.optional(),
  vaultName: VaultName,
  /** GB of the replication vault when cbr-flow creates it (pay-per-use; 10..10485760). */
  vaultSizeGb: z.number().int().min(10).max(10_485_760).default(100),
  /** CBR's acceleration of cross-region replication (billed extra; default false). */
  enableAcceleration: z.boolean().default(false),
});
export type ReplicationTargetSpec = z.infer<typeof ReplicationTargetSpec>;

export const RunRequest = z
  .strictObject({
    projectId: ProjectId,
    /** Defaults to the deployment's CBR_REGION when omitted. */
    region: Region.optional(),
    vault: VaultSpec,
    /** The resources to back up; or, instead, `select` them (resolved when the run starts). */
    resources: z.array(ResourceSpec).max(256).default([]),
    /**
     * Resources chosen from CBR's protectable listing when the run starts (lib/contracts/selection.ts):
     * all of a type, by tag, by name pattern, with exclusions. The run records the ids it chose
     * (`selection`) and carries them as `resources` from then on.
     */
    select: Selection.optional(),
    checkpoint: CheckpointSpec.default({ name: 'cbrflow', incremental: true }),
    /**
     * Projects to share every server backup with (AddMember allows 10 members per backup): project ids,
     * or `{ projectId, vaultName?, required?, ttlHours?, vaultSizeGb? }` (ShareTargetSpec).
     */
    shareWith: z.array(ShareTarget).max(10).default([]),
    /** Minutes from the run's start within which the backup must be available, else EXPIRED. */
    completionWindowMinutes: z.number().int().min(5).max(7 * 24 * 60).default(240),
    notifyUrl: text()
      .max(2048)
      .regex(NO_CONTROL_CHARS, { error: 'must not contain control characters (CR, LF, tab, ...)' })
      // Checked on the raw text first: URL parsing would silently drop CR/LF/tab and accept the rest.
      .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }))
      .optional(),
    /**
     * Which backups of these resources cbr-flow keeps (lib/retention/rules.ts). GFS periods are in
     * `retention.timezone`, else the plan's time zone, else UTC. Absent: every backup is kept.
     */
    retention: RetentionRules.optional(),
    /** Regions to replicate every server backup to (ReplicationTargetSpec), at most 5. */
    replication: z.array(ReplicationTargetSpec).max(5).default([]),
  })
  .superRefine((req, ctx) => {
    if (req.select === undefined && req.resources.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['resources'], message: 'at least one resource is required (or select them: select: { tags: ["env=prod"] })' });
    }
    if (req.select !== undefined && req.resources.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['select'], message: 'give resources or select, not both' });
    }
    const seen = new Set<string>();
    req.resources.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['resources', i, 'id'], message: `duplicate resource id ${r.id}` });
      seen.add(r.id);
    });
    const types = new Set(req.resources.map((r) => r.type));
    if (types.size > 1) {
      ctx.addIssue({ code: 'custom', path: ['resources'], message: 'all resources of a run must have one type (a vault protects servers or disks, not both)' });
    }
    const v = req.vault;
    if (v.mode === 'create' && v.autoExpand) {
      if (v.billing.chargingMode === 'pre_paid') {
        ctx.addIssue({ code: 'custom', path: ['vault', 'autoExpand'], message: 'only a pay-per-use vault (billing.chargingMode post_paid) can be expanded by cbr-flow; a yearly/monthly vault\'s size is part of its order: remove autoExpand or make the vault post_paid' });
      } else if (v.autoExpand.maxSizeGB >= 10 && v.autoExpand.maxSizeGB < v.billing.size) {
        // (A cap below 10 is already refused by VaultAutoExpand; one message per field.)
        ctx.addIssue({ code: 'custom', path: ['vault', 'autoExpand', 'maxSizeGB'], message: `is ${v.autoExpand.maxSizeGB} GB, below the vault's billing.size of ${v.billing.size} GB: give a cap of at least the size` });
      }
    }
    const shares = new Set<string>();
    req.shareWith.forEach((t, i) => {
      const p = typeof t === 'string' ? t : t.projectId;
      if (typeof t !== 'string' && t.required === true && t.vaultName === undefined) {
        ctx.addIssue({ code: 'custom', path: ['shareWith', i, 'required'], message: 'a required share needs vaultName: cbr-flow can only accept a share into a named vault of the receiving project' });
      }
      if (p === req.projectId) ctx.addIssue({ code: 'custom', path: ['shareWith', i], message: 'cannot share with the source project itself' });
      if (shares.has(p)) ctx.addIssue({ code: 'custom', path: ['shareWith', i], message: `duplicate project id ${p}` });
      shares.add(p);
    });
    const regions = new Set<string>();
    req.replication.forEach((t, i) => {
      if (req.region !== undefined && t.region === req.region) {
        ctx.addIssue({ code: 'custom', path: ['replication', i, 'region'], message: `is the run's own region ${req.region}: CBR replicates across regions only; name another region` });
      }
      if (regions.has(t.region)) ctx.addIssue({ code: 'custom', path: ['replication', i, 'region'], message: `${t.region} is named twice: CBR keeps one replica of a backup per destination region` });
      regions.add(t.region);
    });
    if (req.replication.length > 0 && objectTypeOf(req) === 'disk') {
      ctx.addIssue({ code: 'custom', path: ['replication'], message: 'cloud disk backups cannot be replicated to other regions (CBR replicates cloud server backups): back up the servers, or remove replication' });
    }
  });
export type RunRequest = z.infer<typeof RunRequest>;
/** What a caller may send (defaults not yet applied). */
export type RunRequestInput = z.input<typeof RunRequest>;

/** CBR vault object_type for the run's resources. */
export function objectTypeOf(request: Pick<RunRequest, 'resources' | 'select'>): 'server' | 'disk' {
  if (request.select) return request.select.type;
  return request.resources[0]?.type === 'OS::Cinder::Volume' ? 'disk' : 'server';
}
