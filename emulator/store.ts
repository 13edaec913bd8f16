/**
 * In-memory state of the emulated CBR service: records, indexes and the lazy status derivation.
 *
 * Nothing runs in the background. Every record stores when things started and when they end (on the
 * emulated clock) and its scripted outcome; a status is computed on each read:
 *   backup:     protecting (now < doneAt) -> available | error;  deleting (deleteAt) -> gone (deleteDoneAt)
 *   vault:      available | lock | frozen | error;  deleting -> gone
 *   checkpoint: derived from its backups; gone when all its backups are gone
 * Gone records are purged from the indexes when a read meets them, so lookups stay O(1) and lists
 * only walk the relevant index (per project, per vault, per checkpoint).
 */
import type { EmulatorClock } from './clock';
import type { EmulatorConfig, ProjectInput } from './options';
import { Rng } from './random';

export type ResourceType = 'OS::Nova::Server' | 'OS::Cinder::Volume';
export type BackupStatus = 'protecting' | 'available' | 'restoring' | 'error' | 'deleting';
export type VaultStatus = 'available' | 'lock' | 'frozen' | 'error' | 'deleting';
export type CheckpointStatus = 'protecting' | 'available' | 'error' | 'deleting';
export type MemberStatus = 'pending' | 'accepted' | 'rejected';

export const PROVIDER_SERVER = '0daac4c5-6707-4851-97ba-169e36266b66';
export const PROVIDER_DISK = 'd1603440-187d-4516-af25-121250c7cc97';
export const PROVIDER_TURBO = '3f3c3220-245c-4805-b811-758870015881';
export const PROVIDER_WORKSPACE = '86a80900-71bf-4961-956a-d52df944f84a';

export interface ProjectRec {
  id: string;
  name: string;
  domainName: string;
  domainId: string;
}

export interface DiskEntry {
  id: string;
  name: string;
  sizeGb: number;
  /** What a full backup of the disk stores (GB); default sizeGb x capacity.fullBackupRatio. */
  usedGb?: number;
  bootable: boolean;
}

export interface CatalogueEntry {
  id: string;
  projectId: string;
  type: ResourceType;
  name: string;
  sizeGb: number;
  /** What a full backup of the resource stores (GB); default sizeGb x capacity.fullBackupRatio. */
  usedGb?: number;
  az: string;
  disks: DiskEntry[];
  /** Volumes that are a server's disk. */
  attachedTo?: string;
  /** Tags (key -> value), as the protectable listing shows them in `detail.tags`. */
  tags?: Record<string, string>;
}

export interface VaultResourceRec {
  id: string;
  type: string;
  name: string;
  extraInfo: Record<string, unknown>;
  addedAt: number;
  /** Most recent backup of this resource in this vault (drives protect_status). */
  lastBackup?: BackupRec;
}

export interface VaultRec {
  id: string;
  projectId: string;
  userId: string;
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
  billing: {
    cloudType: string;
    consistentLevel: string;
    objectType: string;
    protectType: string;
    sizeGb: number;
    chargingMode: 'post_paid' | 'pre_paid';
    periodType: string | null;
    periodNum: number | null;
    isAutoRenew: boolean;
    isAutoPay: boolean;
    isMultiAz: boolean;
    orderId: string | null;
    productId: string | null;
  };
  /** Set through the admin API to exercise 6113 etc.; undefined = available. */
  statusOverride?: Exclude<VaultStatus, 'available' | 'deleting'>;
  tags: Array<{ key: string; value: string | null }>;
  enterpriseProjectId: string;
  autoBind: boolean;
  bindRules: Record<string, unknown>;
  autoExpand: boolean;
  smnNotify: boolean;
  threshold: number;
  locked: boolean;
  backupPolicyId: string | null;
  backupNamePrefix: string | null;
  sysLockSourceService: string | null;
  availabilityZone: string | null;
  resources: Map<string, VaultResourceRec>;
  /** Top-level backups (insertion order = creation order). */
  backups: Map<string, BackupRec>;
  deleteAt?: number;
  deleteDoneAt?: number;
  /**
   * A yearly/monthly vault created as an order: it exists (is listed and found) only from this time on,
   * when its order is paid (auto-pay after timing.orderPayMs, otherwise POST /admin/orders/{id}/pay).
   * Infinity = unpaid. Absent = exists since creation.
   */
  paidAt?: number;
}

export interface Failure {
  code: string;
  message: string;
}

export interface MemberRec {
  id: string;
  backupId: string;
  destProjectId: string;
  status: MemberStatus;
  vaultId: string | null;
  createdAt: number;
  updatedAt: number | null;
}

export interface BackupRec {
  id: string;
  projectId: string;
  checkpointId: string;
  vaultId: string;
  resourceId: string;
  resourceName: string;
  resourceType: ResourceType;
  resourceSizeGb: number;
  az: string;
  name: string;
  description: string;
  autoTrigger: boolean;
  incremental: boolean;
  bootable: boolean;
  /**
   * Space the backup takes in its vault (billing.used, MB): a full backup the resource's used size, an
   * incremental one capacity.incrementalRatio of that. Deleting an older backup of a chain merges it into
   * the next one (see mergeOnDelete).
   */
  sizeMb: number;
  /** Set through the admin API / state.restoreBackup: `restoring` until then (DeleteBackup refuses). */
  restoringUntil?: number;
  createdAt: number;
  /** When protecting ends (Infinity = never). */
  doneAt: number;
  /** Nominal duration, for op-log progress. */
  nominalMs: number;
  failure: Failure | null;
  parent: BackupRec | null;
  children: BackupRec[];
  members: Map<string, MemberRec>;
  deleteAt?: number;
  deleteDoneAt?: number;
  /** A replica made by ReplicateBackup in this (destination) region: `image_type: replication`. */
  replicaOf?: { backupId: string; region: string; projectId: string };
  /** Replications of this (source) backup, one per destination region (its `replication_records`). */
  replications?: ReplicationRec[];
}

/** One ReplicateBackup of a source backup (kept on the source backup; the replica lives in the destination region). */
export interface ReplicationRec {
  id: string;
  destinationRegion: string;
  destinationProjectId: string;
  destinationVaultId: string;
  /** The replica in the destination region (its status is the replication's). */
  replica: BackupRec;
  opLogId: string;
  createdAt: number;
}

export interface SkippedResource {
  id: string;
  type: string;
  name: string;
  code: string;
  reason: string;
}

export interface CheckpointRec {
  id: string;
  projectId: string;
  vaultId: string;
  vaultName: string;
  createdAt: number;
  name: string;
  description: string;
  incremental: boolean;
  autoTrigger: boolean;
  backups: BackupRec[];
  skipped: SkippedResource[];
}

export type OpLogType = 'backup' | 'delete' | 'vault_delete' | 'remove_resource' | 'restore' | 'replication';

export interface OpLogRec {
  id: string;
  projectId: string;
  type: OpLogType;
  createdAt: number;
  /** For type 'backup' the end comes from the live backup record (scripts may resolve it early). */
  backup?: BackupRec;
  endAt: number;
  nominalMs: number;
  providerId: string;
  vaultId: string;
  vaultName: string;
  checkpointId: string | null;
  requestId: string;
  resource: { id: string; name: string; type: string } | null;
  extra: Record<string, unknown>;
  /**
   * A restore (type 'restore'): the server and disks it overwrites (busy until endAt: 2010 for a second
   * restore, CreateCheckpoint) and its scripted outcome (admin `resolveRestore`).
   */
  restore?: { backupId: string; targets: string[]; failure: Failure | null };
}

export interface TokenRec {
  userName: string;
  userId: string;
  domainName: string;
  projectId: string | null;
  issuedAt: number;
  expiresAt: number;
}

export function backupState(b: BackupRec, now: number): BackupStatus | 'gone' {
  if (b.deleteDoneAt !== undefined && now >= b.deleteDoneAt) return 'gone';
  if (b.deleteAt !== undefined) return 'deleting';
  if (now < b.doneAt) return 'protecting';
  if (b.failure) return 'error';
  return b.restoringUntil !== undefined && now < b.restoringUntil ? 'restoring' : 'available';
}

/** A backup whose data is in the vault (counted in billing.used, usable as an incremental base). */
export function holdsData(state: BackupStatus | 'gone'): boolean {
  return state === 'available' || state === 'restoring' || state === 'deleting';
}

export function vaultState(v: VaultRec, now: number): VaultStatus | 'gone' {
  if (v.deleteDoneAt !== undefined && now >= v.deleteDoneAt) return 'gone';
  if (v.deleteAt !== undefined) return 'deleting';
  return v.statusOverride ?? 'available';
}

export function checkpointState(c: CheckpointRec, now: number): CheckpointStatus | 'gone' {
  let live = 0;
  let protecting = 0;
  let deleting = 0;
  let errors = 0;
  for (const b of c.backups) {
    const s = backupState(b, now);
    if (s === 'gone') continue;
    live++;
    if (s === 'protecting') protecting++;
    else if (s === 'deleting') deleting++;
    else if (s === 'error') errors++;
  }
  if (live === 0) return 'gone';
  if (protecting > 0) return 'protecting';
  if (deleting === live) return 'deleting';
  // Documented choice: a checkpoint is `error` only when every remaining backup failed; a partial failure
  // leaves it `available` with the failed resources' protect_status `error`.
  return errors === live - deleting ? 'error' : 'available';
}

function hashHex32(text: string): string {
  // Deterministic 32-hex id for a domain name (FNV-1a, repeated): ids must be stable across restarts.
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i) + round;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

function rangeDraw(rng: Rng, range: number | readonly [number, number]): number {
  if (typeof range === 'number') return range;
  const [lo, hi] = range[0] <= range[1] ? range : [range[1], range[0]];
  return lo + Math.floor(rng.float() * (hi - lo + 1));
}

export class Store {
  readonly projects = new Map<string, ProjectRec>();
  readonly catalogue = new Map<string, CatalogueEntry>();
  /** Resources deleted (admin call) while a vault may still list them: shown as protect_status "deleted". */
  readonly deletedResources = new Set<string>();
  /** The catalogue entries of deleted resources: ShowProtectable answers them with status "deleted". */
  readonly deletedCatalogue = new Map<string, CatalogueEntry>();
  readonly vaults = new Map<string, VaultRec>();
  readonly vaultsByProject = new Map<string, Map<string, VaultRec>>();
  /** resource id -> the vault it is bound to (exclusive binding across vaults and projects). */
  readonly bindings = new Map<string, VaultRec>();
  readonly checkpoints = new Map<string, CheckpointRec>();
  /** Every backup, children included. */
  readonly backups = new Map<string, BackupRec>();
  /** Top-level backups per owner project, in creation order. */
  readonly backupsByProject = new Map<string, Map<string, BackupRec>>();
  /** Top-level backups with a member record for a destination project. */
  readonly sharedWith = new Map<string, Map<string, BackupRec>>();
  readonly opLogs = new Map<string, OpLogRec>();
  readonly opLogsByProject = new Map<string, Map<string, OpLogRec>>();
  readonly tokens = new Map<string, TokenRec>();
  readonly ids: Rng;
  readonly timingRng: Rng;

  constructor(
    readonly config: EmulatorConfig,
    readonly clock: EmulatorClock,
    projects: ProjectInput[],
    /** Each region's store draws its own ids (default: the configured seed, the home region's). */
    seed: number = config.seed,
  ) {
    this.ids = new Rng(seed);
    this.timingRng = new Rng(seed ^ 0x7173);
    for (const p of projects) this.projects.set(p.id, { ...p, domainId: hashHex32(p.domainName) });
  }

  domainId(domainName: string): string {
    return hashHex32(domainName);
  }

  draw(range: number | readonly [number, number]): number {
    return rangeDraw(this.timingRng, range);
  }

  /** Drops every vault, checkpoint, backup, member, op log and token; keeps projects and the catalogue. */
  reset(): void {
    this.vaults.clear();
    this.vaultsByProject.clear();
    this.bindings.clear();
    this.checkpoints.clear();
    this.backups.clear();
    this.backupsByProject.clear();
    this.sharedWith.clear();
    this.opLogs.clear();
    this.opLogsByProject.clear();
    this.tokens.clear();
  }

  // ---- lookups that purge what has become gone -------------------------------------------------

  liveVault(id: string, now: number): VaultRec | undefined {
    const v = this.vaults.get(id);
    if (!v || (v.paidAt !== undefined && now < v.paidAt)) return undefined;
    if (vaultState(v, now) === 'gone') {
      this.purgeVault(v);
      return undefined;
    }
    return v;
  }

  liveBackup(id: string, now: number): BackupRec | undefined {
    const b = this.backups.get(id);
    if (!b) return undefined;
    if (backupState(b.parent ?? b, now) === 'gone') {
      this.purgeBackup(b.parent ?? b);
      return undefined;
    }
    return b;
  }

  liveCheckpoint(id: string, now: number): CheckpointRec | undefined {
    const c = this.checkpoints.get(id);
    if (!c) return undefined;
    if (checkpointState(c, now) === 'gone') {
      for (const b of c.backups) if (backupState(b, now) === 'gone') this.purgeBackup(b);
      this.checkpoints.delete(id);
      return undefined;
    }
    return c;
  }

  /** The vault a resource is bound to, if that vault still exists. */
  boundVault(resourceId: string, now: number): VaultRec | undefined {
    const v = this.bindings.get(resourceId);
    if (!v) return undefined;
    if (!this.liveVault(v.id, now) || !v.resources.has(resourceId)) {
      if (this.bindings.get(resourceId) === v) this.bindings.delete(resourceId);
      return undefined;
    }
    return v;
  }

  *vaultsOf(projectId: string, now: number): Generator<VaultRec> {
    const m = this.vaultsByProject.get(projectId);
    if (!m) return;
    for (const v of m.values()) {
      if (vaultState(v, now) === 'gone') this.purgeVault(v);
      else if (v.paidAt === undefined || now >= v.paidAt) yield v;
    }
  }

  *backupsIn(index: Map<string, BackupRec> | undefined, now: number): Generator<BackupRec> {
    if (!index) return;
    for (const b of index.values()) {
      if (backupState(b, now) === 'gone') this.purgeBackup(b);
      else yield b;
    }
  }

  // ---- mutation helpers -------------------------------------------------------------------------

  addVault(v: VaultRec): void {
    this.vaults.set(v.id, v);
    let m = this.vaultsByProject.get(v.projectId);
    if (!m) this.vaultsByProject.set(v.projectId, (m = new Map()));
    m.set(v.id, v);
  }

  addBackup(b: BackupRec): void {
    this.backups.set(b.id, b);
    for (const child of b.children) this.backups.set(child.id, child);
    let m = this.backupsByProject.get(b.projectId);
    if (!m) this.backupsByProject.set(b.projectId, (m = new Map()));
    m.set(b.id, b);
    this.vaults.get(b.vaultId)?.backups.set(b.id, b);
  }

  addOpLog(o: OpLogRec): void {
    this.opLogs.set(o.id, o);
    let m = this.opLogsByProject.get(o.projectId);
    if (!m) this.opLogsByProject.set(o.projectId, (m = new Map()));
    m.set(o.id, o);
  }

  share(b: BackupRec, destProjectId: string): void {
    let m = this.sharedWith.get(destProjectId);
    if (!m) this.sharedWith.set(destProjectId, (m = new Map()));
    m.set(b.id, b);
  }

  unshare(b: BackupRec, destProjectId: string): void {
    this.sharedWith.get(destProjectId)?.delete(b.id);
  }

  purgeBackup(b: BackupRec): void {
    this.backups.delete(b.id);
    for (const child of b.children) this.backups.delete(child.id);
    this.backupsByProject.get(b.projectId)?.delete(b.id);
    this.vaults.get(b.vaultId)?.backups.delete(b.id);
    for (const dest of b.members.keys()) this.unshare(b, dest);
    const c = this.checkpoints.get(b.checkpointId);
    if (c && c.backups.every((x) => x === b || (x.deleteDoneAt !== undefined && x.deleteDoneAt <= this.clock.now()))) {
      this.checkpoints.delete(c.id);
    }
  }

  purgeVault(v: VaultRec): void {
    for (const b of [...v.backups.values()]) this.purgeBackup(b);
    for (const id of v.resources.keys()) if (this.bindings.get(id) === v) this.bindings.delete(id);
    this.vaults.delete(v.id);
    this.vaultsByProject.get(v.projectId)?.delete(v.id);
  }

  /** billing.used in MB: completed (available, restoring or deleting) backups of the vault. */
  usedMb(v: VaultRec, now: number): number {
    let used = 0;
    for (const b of this.backupsIn(v.backups, now)) if (holdsData(backupState(b, now))) used += b.sizeMb;
    return used;
  }

  /** MB the vault's running backups will add to billing.used when they complete (reserved by CreateCheckpoint). */
  reservedMb(v: VaultRec, now: number): number {
    let reserved = 0;
    for (const b of this.backupsIn(v.backups, now)) if (backupState(b, now) === 'protecting') reserved += b.sizeMb;
    return reserved;
  }

  allocatedGb(v: VaultRec): number {
    let total = 0;
    for (const r of v.resources.values()) total += this.catalogue.get(r.id)?.sizeGb ?? 0;
    return total;
  }

  /** The restore still running onto this server or disk (its op log), if any. */
  restoringOnto(projectId: string, resourceId: string, now: number): OpLogRec | undefined {
    for (const o of this.opLogsByProject.get(projectId)?.values() ?? []) {
      if (o.restore && now < o.endAt && o.restore.targets.includes(resourceId)) return o;
    }
    return undefined;
  }

  /** Count and size (MB) of a resource's usable backups in a vault. */
  resourceBackups(v: VaultRec, resourceId: string, now: number): { count: number; sizeMb: number } {
    let count = 0;
    let sizeMb = 0;
    for (const b of this.backupsIn(v.backups, now)) {
      if (b.resourceId !== resourceId) continue;
      if (holdsData(backupState(b, now))) {
        count++;
        sizeMb += b.sizeMb;
      }
    }
    return { count, sizeMb };
  }

  newId(): string {
    return this.ids.uuid();
  }
}
