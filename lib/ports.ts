/**
 * The ports the use-cases depend on. Adapters: lib/store (memory, DynamoDB), lib/queue (memory, SQS),
 * lib/cbr (the real CBR client satisfies CbrApi structurally), and plain functions for the clock.
 */
import type { Message } from './contracts';
import type { NotificationRecord } from './store/run';
import type { RunRecord, ShareRecord, TimelineEvent, VaultLease } from './store/run';
import type { Hold, LedgerEntry, RetentionScope } from './retention/records';
import type { RestoreRecord, RestoreSaveResult } from './restore/record';

// ---------------------------------------------------------------------------------------------
// Logging: one structured line per event. Callers pass ids, types, outcomes and error names/messages
// only; the adapter (lib/wiring/log.ts) redacts secrets and adds the Lambda invocation's fields.

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

// ---------------------------------------------------------------------------------------------
// CBR: the subset of lib/cbr's CbrClient the pipeline uses, with the same method names and wire
// (snake_case) shapes, typed loosely enough that the real client's zod-inferred types fit.

export interface CbrResourceRef {
  id: string;
  type?: string | null | undefined;
  name?: string | null | undefined;
  protect_status?: string | null | undefined;
  /** The resource's size, GB. */
  size?: number | null | undefined;
  /** Total size of the resource's backups in this vault, MB (recorded ListVault answers). */
  backup_size?: number | null | undefined;
  backup_count?: number | null | undefined;
}
export interface CbrVaultView {
  id: string;
  name: string;
  billing?: {
    object_type?: string | null | undefined;
    status?: string | null | undefined;
    /** `post_paid` (pay-per-use) or `pre_paid` (yearly/monthly). */
    charging_mode?: string | null | undefined;
    /** GB. */
    size?: number | null | undefined;
    /** MB (while `size` is GB: cbr-api.md §2.4, recorded ListVault answers). */
    used?: number | null | undefined;
    /** `backup` or `replication` (a replication vault holds replicas from other regions). */
    protect_type?: string | null | undefined;
  } | null | undefined;
  /** CBR grows the vault itself (pay-per-use vaults). */
  auto_expand?: boolean | null | undefined;
  resources?: ReadonlyArray<CbrResourceRef> | null | undefined;
  created_at?: string | null | undefined;
}
export interface CbrBackupView {
  id: string;
  name?: string | null | undefined;
  checkpoint_id?: string | null | undefined;
  vault_id?: string | null | undefined;
  resource_id?: string | null | undefined;
  resource_type?: string | null | undefined;
  status: string;
  parent_id?: string | null | undefined;
  /** When the backup was taken (retention's age, the freshness gate's, the vaults forecast). */
  created_at?: string | null | undefined;
  updated_at?: string | null | undefined;
  /** GB of the resource (a string in the spec, a number in OTC's examples; the client reads both); `backup_size` (MB) where CBR (or the emulator) reports the backup's own size. */
  resource_size?: number | null | undefined;
  backup_size?: number | null | undefined;
  /** `progress` 0..100 while protecting (the checker's schedule, lib/pipeline/check-schedule.ts). */
  extend_info?: { progress?: number | null | undefined } | null | undefined;
}
export interface CbrVaultOrder { orderId?: string | null | undefined; resourceId?: string | null | undefined }
export interface CbrMemberView { id?: string | null | undefined; status?: string | null | undefined; dest_project_id?: string | null | undefined; vault_id?: string | null | undefined }
export interface CbrSkippedResource { id?: string | null | undefined; type?: string | null | undefined; name?: string | null | undefined; code?: string | null | undefined; reason?: string | null | undefined }
export interface CbrCheckpointView {
  id: string;
  status: string;
  vault?: { skipped_resources?: ReadonlyArray<CbrSkippedResource> | null | undefined } | null | undefined;
}

export interface VaultCreateBody {
  vault: {
    name: string;
    description?: string;
    billing: {
      consistent_level: string;
      object_type: string;
      protect_type: string;
      size: number;
      cloud_type?: string;
      charging_mode?: string;
      period_type?: string;
      period_num?: number;
      is_auto_renew?: boolean;
      is_auto_pay?: boolean;
    };
    resources: Array<{ id: string; type: string; name?: string }>;
    auto_expand?: boolean;
  };
}
export interface CheckpointCreateBody {
  checkpoint: {
    vault_id: string;
    parameters?: { auto_trigger?: boolean; description?: string; incremental?: boolean; name?: string; resources?: string[] };
  };
}
export type CbrBackupStatus = 'available' | 'protecting' | 'deleting' | 'restoring' | 'error' | 'waiting_protect' | 'waiting_delete' | 'waiting_restore';
export interface BackupQuery {
  vault_id?: string;
  checkpoint_id?: string;
  name?: string;
  status?: CbrBackupStatus | CbrBackupStatus[];
  start_time?: string;
  resource_id?: string;
  /** `key[:asc|desc],...` (cbr-api.md ListBackups `sort`), e.g. `created_at:desc`. */
  sort?: string;
}
export interface CallOptions { idempotent?: boolean; signal?: AbortSignal }
export interface CbrOpLogView {
  status: string;
  checkpoint_id?: string | null | undefined;
  error_info?: { code?: string | number | null | undefined; message?: string | null | undefined } | null | undefined;
  extra_info?: { resource?: { id?: string | null | undefined } | null | undefined } | null | undefined;
}

/** A protectable instance (ListProtectable/ShowProtectable): `protectable.vault` is the vault holding it. */
export interface CbrProtectableView {
  id: string;
  name?: string | null | undefined;
  type?: string | null | undefined;
  /** `active`, `deleted`, `error` (recorded answers send `ACTIVE`). */
  status?: string | null | undefined;
  /** The raw ECS server / EVS volume; its `tags` (lib/coverage/tags.ts) select resources and show in coverage. */
  detail?: unknown;
  protectable?: {
    result?: boolean | null | undefined;
    code?: string | null | undefined;
    reason?: string | null | undefined;
    message?: string | null | undefined;
    vault?: { id?: string | null | undefined; name?: string | null | undefined } | null | undefined;
  } | null | undefined;
}
export type CbrProtectableType = 'server' | 'disk';

export interface CbrApi {
  /** `count` (total matches) is absent from some answers: page until a short page then. */
  listVault(query: { name?: string; limit?: number; offset?: number }): Promise<{ vaults: ReadonlyArray<CbrVaultView>; count?: number | null | undefined }>;
  /** A vault, or for a yearly/monthly vault an order to pay (no `vault` until it is paid). */
  createVault(body: VaultCreateBody, opts?: CallOptions): Promise<{ vault?: CbrVaultView | null | undefined; orders?: ReadonlyArray<CbrVaultOrder> | null | undefined }>;
  showVault(vaultId: string): Promise<{ vault: CbrVaultView }>;
  /** Capacity (start-checkpoint, lib/pipeline/vault-capacity.ts): a new `billing.size` (GB) for a pay-per-use vault. */
  updateVault(vaultId: string, body: { vault: { billing: { size: number } } }, opts?: CallOptions): Promise<{ vault: CbrVaultView }>;
  /** Only for an orphaned vault cbr-flow created (lib/pipeline/orphaned-vaults.ts), after the caller confirmed. */
  deleteVault(vaultId: string): Promise<void>;
  /** Pre-flight (lib/pipeline/preflight.ts): one page of the project's protectables of a type (limit <= 50). */
  listProtectable(type: CbrProtectableType, query: { limit?: number; offset?: number; status?: string }): Promise<{ instances: ReadonlyArray<CbrProtectableView>; count?: number | null | undefined }>;
  /** Pre-flight: one instance; a 404 (`6302`) when the project has no such instance of that type. */
  showProtectable(type: CbrProtectableType, instanceId: string): Promise<{ instance: CbrProtectableView }>;
  /** A POST: the client repeats it on 429/5xx/network errors only with `{ idempotent: true }`. */
  addVaultResource(vaultId: string, body: { resources: Array<{ id: string; type: string; name?: string }> }, opts?: CallOptions): Promise<{ add_resource_ids?: ReadonlyArray<string> | null | undefined }>;
  createCheckpoint(body: CheckpointCreateBody, opts?: CallOptions): Promise<{ checkpoint: CbrCheckpointView }>;
  paginateBackups(query: BackupQuery, opts?: { pageSize?: number }): AsyncIterable<CbrBackupView>;
  /** A POST: the client repeats it on 429/5xx/network errors only with `{ idempotent: true }`. */
  addMember(backupId: string, body: { members: string[] }, opts?: CallOptions): Promise<{ members?: ReadonlyArray<CbrMemberView> | null | undefined }>;
  showMembersDetail(backupId: string, query: { limit?: number; offset?: number }): Promise<{ members: ReadonlyArray<CbrMemberView>; count?: number | null | undefined }>;
  /** One member, read by the owner; `memberId` = the member's destination project id (cbr-api.md §5.1). */
  showMemberDetail(backupId: string, memberId: string): Promise<{ member: CbrMemberView }>;
  /**
   * The RECEIVING project answers a share (its own client: `memberId` = its own project id). A PUT:
   * never repeated by the client, the caller reads the member first (a repeat would accept twice).
   */
  updateMemberStatus(backupId: string, memberId: string, body: { status: 'accepted' | 'rejected' | 'pending'; vault_id?: string }, opts?: CallOptions): Promise<{ member: CbrMemberView }>;
  /** Revoke a member (owner; 204). An absent member answers 404 `6705`. */
  deleteMember(backupId: string, memberId: string): Promise<void>;
  /** Only to explain failed backups (CBR's reason is in the task log, not on the backup). */
  listOpLogs(query: { operation_type?: 'backup'; status?: 'failed'; vault_id?: string; start_time?: string; limit?: number; offset?: number }): Promise<{ operation_logs: ReadonlyArray<CbrOpLogView> }>;
}

/** A disk backup of a server backup, as ShowBackup lists it in `children`. */
export interface CbrDiskBackup extends CbrBackupView {
  resource_size?: number | null | undefined;
  resource_name?: string | null | undefined;
  extend_info?: { progress?: number | null | undefined; bootable?: boolean | null | undefined; system_disk?: boolean | null | undefined } | null | undefined;
}
/** ShowBackup's backup: a server backup lists one disk backup per disk in `children`. */
export interface CbrBackupDetail extends CbrDiskBackup {
  children?: ReadonlyArray<CbrDiskBackup> | null | undefined;
}
export interface CbrRestoreOpLog extends CbrOpLogView {
  id?: string | null | undefined;
  started_at?: string | null | undefined;
  ended_at?: string | null | undefined;
  created_at?: string | null | undefined;
  extra_info?: {
    resource?: { id?: string | null | undefined } | null | undefined;
    common?: { progress?: number | null | undefined } | null | undefined;
    restore?: { backup_id?: string | null | undefined; target_resource_id?: string | null | undefined } | null | undefined;
  } | null | undefined;
}
export interface CbrRestoreBody {
  restore: { mappings?: Array<{ backup_id: string; volume_id: string }>; power_on?: boolean; server_id?: string; volume_id?: string };
}
/** What a restore reads and calls (lib/restore); the real client (lib/cbr) satisfies it structurally. */
export interface CbrRestoreApi {
  showBackup(backupId: string): Promise<{ backup: CbrBackupDetail }>;
  /** RestoreBackup: 202, no body. Never repeated by the client (not idempotent). */
  restoreBackup(backupId: string, body: CbrRestoreBody): Promise<void>;
  showProtectable(type: CbrProtectableType, instanceId: string): Promise<{ instance: CbrProtectableView & { detail?: unknown } }>;
  listProtectable(type: CbrProtectableType, query: { server_id?: string; limit?: number; offset?: number }): Promise<{ instances: ReadonlyArray<CbrProtectableView & { size?: number | null | undefined; detail?: unknown }> }>;
  listOpLogs(query: { operation_type?: 'restore'; resource_id?: string; start_time?: string; limit?: number; offset?: number }): Promise<{ operation_logs: ReadonlyArray<CbrRestoreOpLog> }>;
}
export type CbrRestoreFactory = (target: { projectId: string; region: string }) => CbrRestoreApi | Promise<CbrRestoreApi>;

/** A replication op log (`operation_type: replication`) as the source region lists it. */
export interface CbrReplicationOpLog extends CbrOpLogView {
  id?: string | null | undefined;
  extra_info?: {
    resource?: { id?: string | null | undefined } | null | undefined;
    replication?: {
      source_backup_id?: string | null | undefined;
      destination_backup_id?: string | null | undefined;
      destination_region?: string | null | undefined;
      destination_vault_id?: string | null | undefined;
    } | null | undefined;
  } | null | undefined;
}
export interface CbrReplicateBody {
  replicate: { destination_project_id: string; destination_region: string; destination_vault_id: string; name?: string; description?: string; enable_acceleration?: boolean };
}
/**
 * What cross-region replication (lib/pipeline/replicate.ts) calls: in the source region ReplicateBackup
 * and its op logs, in the destination region the replication vault and the replica (by name). The real
 * client (lib/cbr) satisfies it structurally.
 */
export interface CbrReplicationApi {
  listVault: CbrApi['listVault'];
  createVault: CbrApi['createVault'];
  paginateBackups: CbrApi['paginateBackups'];
  /** A POST never repeated by the client: a lost answer is found again by the replica's name. */
  replicateBackup(backupId: string, body: CbrReplicateBody, opts?: CallOptions): Promise<{ replication: { replication_record_id?: string | null | undefined } }>;
  listOpLogs(query: { operation_type?: 'replication'; resource_id?: string; start_time?: string; limit?: number; offset?: number }): Promise<{ operation_logs: ReadonlyArray<CbrReplicationOpLog> }>;
}
export type CbrReplicationFactory = (target: { projectId: string; region: string }) => CbrReplicationApi | Promise<CbrReplicationApi>;

/** One CBR client per (project, region): AK/SK works across projects, IAM tokens are project scoped. */
export type CbrFactory = (target: { projectId: string; region: string }) => CbrApi | Promise<CbrApi>;

/** What the retention sweep and preview (lib/retention/sweep.ts) call; the real client has it all. */
export interface RetentionCbrApi {
  paginateBackups: CbrApi['paginateBackups'];
  /** Only for a backup the rules expired; asynchronous (`deleting`, then gone). Resolves to CBR's request id. */
  deleteBackup(backupId: string): Promise<{ requestId?: string | undefined }>;
  /** A backup's state after CBR refused to delete it (404 `6200` once it is gone). */
  showBackup(backupId: string): Promise<{ backup: CbrBackupView }>;
}
export type RetentionCbrFactory = (target: { projectId: string; region: string }) => RetentionCbrApi | Promise<RetentionCbrApi>;

/**
 * What a CbrApi adapter's errors carry (lib/cbr's CbrApiError has these fields). The use-cases read
 * errors through `cbrErrorOf` so they never import the client (cold-start rule for start-run/get-run).
 */
export interface CbrErrorShape {
  name: string;
  message: string;
  httpStatus?: number;
  errorCode?: string;
  requestId?: string;
  retryable: boolean;
  notFound?: boolean;
}

export function cbrErrorOf(error: unknown): CbrErrorShape | undefined {
  if (!(error instanceof Error) || error.name !== 'CbrApiError') return undefined;
  const e = error as Error & Partial<CbrErrorShape>;
  return {
    name: e.name,
    message: e.message,
    httpStatus: typeof e.httpStatus === 'number' ? e.httpStatus : undefined,
    errorCode: typeof e.errorCode === 'string' ? e.errorCode : undefined,
    requestId: typeof e.requestId === 'string' ? e.requestId : undefined,
    retryable: e.retryable === true,
    notFound: e.notFound === true,
  };
}

/** `BackupService.6103` and a bare `6103` both match code '6103'. */
export function hasCbrCode(error: unknown, ...codes: string[]): boolean {
  const code = cbrErrorOf(error)?.errorCode;
  if (!code) return false;
  const bare = code.replace(/^[A-Za-z]+\./, '');
  return codes.includes(bare);
}

// ---------------------------------------------------------------------------------------------
// Queues

/** Logical destinations; each is one SQS queue (with its own DLQ) in serverless.yml. */
export type QueueName = 'intake' | 'vault' | 'resources' | 'checkpoint' | 'share' | 'events';
export const QUEUE_NAMES: ReadonlyArray<QueueName> = ['intake', 'vault', 'resources', 'checkpoint', 'share', 'events'];

export interface MessageBus {
  /** Sends one message; `delaySeconds` (0..900) postpones its first delivery. */
  send(queue: QueueName, message: Message, options?: { delaySeconds?: number }): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Store

export type SaveResult = { ok: true; run: RunRecord } | { ok: false; reason: 'stale' | 'terminal' | 'missing' };

export interface RecentFilter {
  projectIds?: ReadonlySet<string>;
}

/** GET /runs: newest first, filtered, one page at a time (`cursor` from the previous page). */
export interface RunQuery extends RecentFilter {
  /** At most this many runs in the page. */
  limit: number;
  states?: ReadonlySet<string>;
  /** Runs a schedule plan of this name started (source.plan). */
  plan?: string;
  /** Runs created at or after this instant (epoch ms). */
  since?: number;
  /** The opaque `cursor` of the previous page. */
  cursor?: string;
}

/**
 * One page of runs. `cursor` is set when there may be more (a page can be short, even empty, when
 * the store's per-page read bound was reached before `limit` runs matched).
 */
export interface RunPage {
  runs: RunRecord[];
  cursor?: string;
}

export interface RunStore {
  /** Conditional create: 'exists' when a run with this id is already there (duplicate start). */
  create(run: RunRecord): Promise<'created' | 'exists'>;
  /** The run, or undefined when unknown or expired (TTL passed even if not yet deleted). */
  get(runId: string): Promise<RunRecord | undefined>;
  /**
   * Replace the run if its stored version is still `run.version - 1` and it is not terminal.
   * Callers use `mutateRun` (lib/store/mutate.ts) rather than this directly.
   */
  save(run: RunRecord): Promise<SaveResult>;
  /** Runs whose nextCheckAt <= now in one due shard, oldest first. */
  listDue(shard: number, now: number, limit: number, cursor?: string): Promise<{ runs: RunRecord[]; cursor?: string }>;
  /**
   * run.finished of this finished run has been published: drop it from the due index (and clear
   * `announcePending`). Allowed on terminal runs only; a no-op when already announced or unknown.
   */
  markAnnounced(runId: string): Promise<void>;
  /** Most recent runs first (for the CLI's `list`); with `projectIds`, only runs of those projects (still up to `limit`). */
  listRecent(limit: number, filter?: RecentFilter): Promise<RunRecord[]>;
  /**
   * Record on a finished run that `retryRunId` retries it (one UpdateItem, terminal runs only, like
   * markAnnounced). 'linked' also when it already names `retryRunId`; 'other' when another run was
   * recorded first (its id returned); 'missing'/'not_terminal' otherwise.
   */
  linkRetry(runId: string, retryRunId: string): Promise<{ result: 'linked' | 'missing' | 'not_terminal' } | { result: 'other'; retriedBy: string }>;
  /** One page of runs, newest first, matching every filter given (see RunQuery); bounded reads per page. */
  listRuns(query: RunQuery): Promise<RunPage>;

  /** The vault-name lease record, if any. */
  getLease(key: string): Promise<VaultLease | undefined>;
  /**
   * Take the lease for `holder` unless another holder's lease is still live at `now`.
   * Returns the lease as stored after the attempt and whether `holder` now holds it.
   */
  acquireLease(key: string, holder: string, now: number, leaseMs: number): Promise<{ acquired: boolean; lease: VaultLease }>;
  /** Record the vault id on the lease and release it (only the current holder may). */
  resolveLease(key: string, holder: string, vaultId: string, now: number): Promise<void>;
  /** Give the lease up without a vault (CBR refused to create it); only the current holder may. */
  releaseLease(key: string, holder: string, now: number): Promise<void>;

  /**
   * Share watches (time-boxed and pending members of finished runs, lib/pipeline/share-sweep.ts): one
   * per run, due at `at`. Put replaces the run's watch; delete is a no-op when there is none.
   */
  putShareWatch(runId: string, at: number): Promise<void>;
  deleteShareWatch(runId: string): Promise<void>;
  /** Watches due at or before `now`, oldest first, at most `limit`. */
  listShareWatches(now: number, limit: number): Promise<Array<{ runId: string; at: number }>>;
  /**
   * Replace the members of a FINISHED run and its `shareWatchAt`, appending `event` to its timeline (one update, terminal runs only, like
   * recordNotification; the optimistic version is left alone, so a stale step copy cannot overwrite it).
   */
  recordShares(runId: string, shares: ShareRecord[], shareWatchAt: number | undefined, event?: TimelineEvent): Promise<RecordNotificationResult>;
}

/**
 * Restore records, in the runs table beside the runs (one store driver; lib/restore/record.ts). Both
 * adapters (memory, DynamoDB) implement it next to RunStore.
 */
export interface RestoreStore {
  /** Conditional create: 'exists' when a restore with this id is already there (duplicate request). */
  createRestore(restore: RestoreRecord): Promise<'created' | 'exists'>;
  getRestore(restoreId: string): Promise<RestoreRecord | undefined>;
  /** Replace if the stored version is `restore.version - 1` and it is not terminal. */
  saveRestore(restore: RestoreRecord): Promise<RestoreSaveResult>;
  /** Non-terminal restores whose due.at <= now, oldest first. */
  listDueRestores(now: number, limit: number): Promise<RestoreRecord[]>;
}

/** What recordNotification did: stored, no such run (or expired), or the run is not finished. */
export type RecordNotificationResult = 'recorded' | 'missing' | 'not_terminal';

/** The part of the store the notifier uses (both adapters implement it). */
export interface NotificationStore {
  get(runId: string): Promise<RunRecord | undefined>;
  /** Set `notification` on a finished run (allowed on terminal runs only, which nothing else writes). */
  recordNotification(runId: string, record: NotificationRecord): Promise<RecordNotificationResult>;
}

// ---------------------------------------------------------------------------------------------
// Retention (issue 14): holds, the vaults the sweep looks after, its ledger (lib/retention/records.ts).
// Adapters: lib/store/memory-retention.ts, lib/store/dynamodb/retention.ts (items in the runs table).

export interface RetentionStore {
  /** Conditional create: 'exists' when a hold with this id is already there. */
  createHold(hold: Hold): Promise<'created' | 'exists'>;
  getHold(holdId: string): Promise<Hold | undefined>;
  /** Mark a hold released (once): 'released', 'missing', or 'already' (with the stored hold). */
  releaseHold(holdId: string, released: NonNullable<Hold['released']>): Promise<{ result: 'released' | 'already'; hold: Hold } | { result: 'missing' }>;
  /** Every hold, oldest first; released ones only with `includeReleased`. */
  listHolds(options?: { includeReleased?: boolean }): Promise<Hold[]>;

  listScopes(): Promise<RetentionScope[]>;
  /** Store the scope unless a scope of the same key learnt from a NEWER run is there ('stale'). */
  putScope(scope: RetentionScope): Promise<'stored' | 'stale'>;
  /** Epoch ms up to which the run records have been read into scopes (the next read starts a day earlier). */
  getWatermark(): Promise<number | undefined>;
  setWatermark(at: number): Promise<void>;

  getLedger(scopeKey: string, backupId: string): Promise<LedgerEntry | undefined>;
  putLedger(entry: LedgerEntry): Promise<void>;
  /** The ledger of one scope (unexpired entries), any order. */
  listLedger(scopeKey: string): Promise<LedgerEntry[]>;
}

// ---------------------------------------------------------------------------------------------

export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };
