/**
 * Emulator options: a zod schema for everything serialisable (the CLI's --config file uses the same
 * schema), plus the non-serialisable extras (clock, log). Defaults feel real (seconds, not milliseconds).
 */
import * as z from 'zod';
import type { ClockOption } from './clock';
import { CheckpointScriptInput, FaultRuleInput } from './faults';

const Hex32 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');
const Uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lowercase UUID');
const Duration = z.int().min(0);
const RegionId = z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)+-\d{1,3}$/, 'must be a region id such as ap-southeast-3');

export const ProjectInput = z.strictObject({
  id: Hex32,
  /** IAM project name, e.g. 'ap-southeast-1' (unique within its domain). */
  name: z.string().min(1).max(64),
  /** Account (domain) owning the project. Credentials and users may use the projects of their domain. */
  domainName: z.string().min(1).max(64),
});

export const CredentialInput = z.strictObject({
  ak: z.string().min(1).max(128),
  sk: z.string().min(1).max(256),
  domainName: z.string().min(1).max(64),
  /** Restrict to these projects (default: every project of the domain). */
  projectIds: z.array(Hex32).optional(),
  /** Temporary credentials: requests must carry this X-Security-Token. */
  securityToken: z.string().min(1).optional(),
});

export const UserInput = z.strictObject({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(128),
  domainName: z.string().min(1).max(64),
  projectIds: z.array(Hex32).optional(),
});

export const DiskInput = z.strictObject({
  id: Uuid,
  name: z.string().min(1).max(255),
  sizeGb: z.int().min(1).max(65536),
  /** GB a full backup of the disk stores (its used space); default sizeGb x capacity.fullBackupRatio. */
  usedGb: z.number().min(0).max(65536).optional(),
  bootable: z.boolean().optional(),
});

export const ResourceInput = z.strictObject({
  id: Uuid,
  projectId: Hex32,
  type: z.enum(['OS::Nova::Server', 'OS::Cinder::Volume']),
  name: z.string().min(1).max(255),
  /** Volumes: required. Servers: defaults to the sum of the disks. */
  sizeGb: z.int().min(1).max(1_048_576).optional(),
  /**
   * GB a full backup of the resource stores (its used space, at most its size); default: the sum over a
   * server's disks, else sizeGb x capacity.fullBackupRatio.
   */
  usedGb: z.number().min(0).max(1_048_576).optional(),
  /** Servers only: the attached disks (EVS volumes), backed up as children of the server backup. */
  disks: z.array(DiskInput).min(1).max(24).optional(),
  az: z.string().min(1).max(64).optional(),
  /**
   * Tags (key -> value). ListProtectable/ShowProtectable show a server's as ECS does, in
   * `detail.tags: ["key=value"]`, a volume's as EVS does, in `detail.tags: {key: value}` (recorded bodies:
   * ../shared/cbr-recordings/c7n/56d90e13a2e8.json). Keys <= 36, values <= 43 characters (cbr-api.md §2.1).
   */
  tags: z.record(z.string().min(1).max(36).regex(/^[^=]+$/, 'must not contain ='), z.string().max(43)).optional(),
  /** Seeded as already deleted: ShowProtectable answers it with status "deleted", ListProtectable only with status=deleted. */
  deleted: z.boolean().optional(),
});

const Range = z.union([Duration, z.tuple([Duration, Duration])]);

export const TimingInput = z.strictObject({
  /** How long a backup stays `protecting` (emulated clock). A number or [min, max] drawn per backup. */
  checkpointMs: Range.default([6_000, 10_000]),
  /** DeleteBackup: `deleting` for this long, then 404. */
  backupDeleteMs: Range.default([2_000, 4_000]),
  /** DeleteVault: `billing.status: deleting` for this long, then 404. */
  vaultDeleteMs: Range.default([4_000, 6_000]),
  /** remove_resource op log duration (the resource itself is unbound at once). */
  removeResourceMs: Range.default([1_000, 2_000]),
  /** RestoreBackup: the restore op log stays `running` (target disks busy, 2010) for this long. */
  restoreMs: Range.default([8_000, 12_000]),
  /**
   * ReplicateBackup: the replica stays `protecting` in the destination vault (and the source region's
   * `replication` op log `running`) for this long; enable_acceleration halves it.
   */
  replicationMs: Range.default([15_000, 30_000]),
  /** A yearly/monthly vault ordered with is_auto_pay: true is paid (and appears) after this long. */
  orderPayMs: Range.default([1_000, 2_000]),
  /** IAM token lifetime. */
  tokenTtlMs: Duration.default(24 * 3600_000),
});

export const LimitsInput = z.strictObject({
  maxVaultResources: z.int().min(1).default(256),
  maxMembersPerBackup: z.int().min(1).default(10),
  maxBodyBytes: z.int().min(1).default(12 * 1024 * 1024),
  /** Consecutive bad signatures after which the AK is locked (">5" in the signing guide). */
  lockoutThreshold: z.int().min(1).default(5),
  lockoutMs: Duration.default(5 * 60_000),
  /** Allowed |server time - X-Sdk-Date|. */
  sdkDateSkewMs: Duration.default(15 * 60_000),
});

/**
 * Vault capacity (emulator/README.md "Capacity"). billing.size and resources' size are GB, billing.used
 * and resources' backup_size are MB (recorded ListVault answers: `used: 17048` in a 100 GB vault, equal to
 * its one resource's `backup_size`; cbr-api.md §2.4).
 */
export const CapacityInput = z.strictObject({
  /** A resource's used space when its `usedGb` is not given = its size x this ratio; a full backup stores that. */
  fullBackupRatio: z.number().min(0).max(10).default(0.5),
  /**
   * An incremental backup (a later backup of a resource that has an available one in the vault, when the
   * checkpoint asks for incremental) = the full backup's size x this ratio. The default 0.2 is 10 % of the
   * resource's size at the default fullBackupRatio.
   */
  incrementalRatio: z.number().min(0).max(10).default(0.2),
});

/** Behaviours the reference marks as unknown (§11): each is a switch with a documented default. */
export const QuirksInput = z.strictObject({
  /** ListVault `name`: substring match (default; a client must still filter exactly) or exact match. */
  listVaultNameMatch: z.enum(['fuzzy', 'exact']).default('fuzzy'),
  /**
   * CreateCheckpoint naming a resource whose previous backup is still protecting:
   * 'skip' (default) -> reported in vault.skipped_resources (code BackupService.6125); when every resource
   * is skipped -> 400 BackupService.6125. '6125' -> reject the call with 400 BackupService.6125.
   * '1001' -> reject with 400 BackupService.1001 whenever the vault has any backup protecting.
   */
  concurrentBackup: z.enum(['skip', '6125', '1001']).default('skip'),
  /** Missing checkpoint: documented 404 BackupService.6217 (default) or the observed 401 "Malformed request url". */
  missingCheckpoint: z.enum(['404', '401-malformed']).default('404'),
  /** HTTP status of BackupService.6105 (vault not found): 404 (APIX/OTC/TF, default) or 400 (old doc page). */
  vaultNotFoundStatus: z.union([z.literal(404), z.literal(400)]).default(404),
  /** X-Project-Id differing from the path project: 'must-match' (default, 403 APIGW.0302) or 'ignore'. */
  projectHeader: z.enum(['must-match', 'ignore']).default('must-match'),
  /** Timestamps in bodies: naive UTC with microseconds (default), '+00:00' offset, or 'Z'. */
  timestampFormat: z.enum(['naive-micro', 'offset', 'zulu']).default('naive-micro'),
  /** Checkpoint resources' resource_size/backup_size/backup_count as strings (as in the seed example; default). */
  checkpointNumbersAsStrings: z.boolean().default(true),
  /** Resource types whose backups may be shared (APIX: servers only; OTC: servers and disks). */
  shareableTypes: z.array(z.enum(['OS::Nova::Server', 'OS::Cinder::Volume'])).default(['OS::Nova::Server']),
  /** Adding a resource already in the same vault: 'error' (400 7116 server / 7006 disk, default) or 'ignore'. */
  rebindSameVault: z.enum(['error', 'ignore']).default('error'),
  /**
   * CreateVault of a yearly/monthly (pre_paid) vault: 'order' (default; the SDKs' response model and API
   * Explorer's example: `orders`, `retCode`, `errText`, `error_code`, no `vault` until the order is paid)
   * or 'vault' (the vault at once, as post-paid).
   */
  prePaidCreate: z.enum(['order', 'vault']).default('order'),
  /**
   * `{member_id}` of ShowMemberDetail/UpdateMemberStatus/DeleteMember: 'project-id' (default; the member's
   * destination project id, cbr-api.md §5) or 'member-id' (the member record's id, the other reading).
   */
  memberIdInPath: z.enum(['project-id', 'member-id']).default('project-id'),
  /** Reject a second vault with the same name in a project (400 BackupService.6106). Default false. */
  uniqueVaultNames: z.boolean().default(false),
  /**
   * RestoreBackup of a server backup onto another server than the one backed up: 'allow' (default; what a
   * recovery drill needs) or '2003' (400 BackupService.2003 "Restoration to a different server is not
   * allowed", OTC error_codes.rst: the real rule for cloud-server backups is not documented further).
   */
  restoreToOtherServer: z.enum(['allow', '2003']).default('allow'),
  /**
   * CreateCheckpoint's capacity check (400 BackupService.6114, "The used capacity of the vault exceeds the
   * maximum capacity", cbr-api.md §3.1/§7.2; the reference does not say whether CBR counts the new backup):
   * 'used+need' (default) refuses when billing.used + the running backups + the backups this checkpoint
   * would add exceed billing.size; 'used' refuses only once billing.used has reached billing.size.
   * Vaults with auto_expand never refuse (they grow).
   */
  capacityCheck: z.enum(['used+need', 'used']).default('used+need'),
  /**
   * DeleteBackup of a backup another project has accepted (a share member `accepted`). 'allow' (default;
   * OTC's user guide, umn/source/backup_management/sharing_a_backup.rst: "When a sharer deletes a shared
   * backup, the backup will also be deleted from the recipient's account") or 'refuse' (400
   * BackupService.6216 "in use", as issue 14 reads CBR; no source found for it).
   */
  deleteAcceptedShare: z.enum(['allow', 'refuse']).default('allow'),
  /** Unknown body fields -> 400 BackupService.9900 "invalid key ..." (default true). */
  rejectUnknownFields: z.boolean().default(true),
});
export type Quirks = z.output<typeof QuirksInput>;

export const EmulatorConfig = z.strictObject({
  /** Port of the CBR + IAM listener on 127.0.0.1 (0 = any free port). */
  port: z.int().min(0).max(65535).default(0),
  /** Enable the admin API on a separate listener. */
  admin: z.boolean().default(false),
  adminPort: z.int().min(0).max(65535).default(0),
  /**
   * The home region: requests without a region prefix (`/v3/...`) and with `/{region}/v3/...` of this
   * region use its state.
   */
  region: RegionId.default('ap-southeast-1'),
  /**
   * Further regions served by the same listener, each with its own state (vaults, backups, op logs):
   * a client reaches one with the path prefix `/{region}` (CBR_ENDPOINT `http://127.0.0.1:<port>/{region}`).
   * A project lives in the region its IAM project name names (`ap-southeast-3` or `ap-southeast-3_sub`);
   * its resources are in that region's catalogue. Empty (default): one region, as before.
   */
  regions: z.array(RegionId).max(16).default([]),
  /** Seed of every pseudo-random choice (ids, durations, faults). */
  seed: z.int().default(1),
  /** Start of the emulated time (epoch ms); default: now. */
  startTime: z.number().optional(),
  projects: z.array(ProjectInput).min(1).optional(),
  credentials: z.array(CredentialInput).optional(),
  users: z.array(UserInput).optional(),
  resources: z.array(ResourceInput).optional(),
  timing: TimingInput.default(TimingInput.parse({})),
  limits: LimitsInput.default(LimitsInput.parse({})),
  capacity: CapacityInput.default(CapacityInput.parse({})),
  quirks: QuirksInput.default(QuirksInput.parse({})),
  faults: z.array(FaultRuleInput).default([]),
  scripts: z.array(CheckpointScriptInput).default([]),
});
export type EmulatorConfigInput = z.input<typeof EmulatorConfig>;
export type EmulatorConfig = z.output<typeof EmulatorConfig>;
export type Timing = EmulatorConfig['timing'];
export type Limits = EmulatorConfig['limits'];
export type ProjectInput = z.output<typeof ProjectInput>;
export type CredentialInput = z.output<typeof CredentialInput>;
export type UserInput = z.output<typeof UserInput>;
export type ResourceInput = z.output<typeof ResourceInput>;

export interface RequestLogEntry {
  requestId: string;
  method: string;
  path: string;
  operation: string;
  status: number;
  durationMs: number;
  fault?: string;
}

export type EmulatorOptions = EmulatorConfigInput & {
  /** 'system' (default: wall clock, advance() adds an offset), 'manual' (frozen until advance()), or a source. */
  clock?: ClockOption;
  /** One entry per answered request (never contains credentials, tokens or bodies). */
  log?: (entry: RequestLogEntry) => void;
  /**
   * Keeps the state (vaults, checkpoints, backups, members, op logs, tokens, the id stream's position) in
   * this JSON file: loaded at start when it exists, rewritten after every change (emulator/persist.ts).
   */
  stateFile?: string;
};
