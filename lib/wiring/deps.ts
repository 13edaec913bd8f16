import type { CheckScheduleMode } from '../pipeline/check-schedule';
import type { CbrFactory, CbrReplicationFactory, CbrRestoreFactory, Clock, MessageBus, RestoreStore, RunStore } from '../ports';
import type { RestoreSettings } from '../restore/restore';
import type { DrillHooks } from '../restore/drill';
import type { RunMetrics } from './metrics';

/** Tunables of the pipeline (lib/config.ts maps the environment onto these). */
export interface PipelineSettings {
  /** Region used when a run request omits one (CBR_REGION). */
  defaultRegion?: string | undefined;
  /** Number of partitions of the due index the checker sweeps. */
  dueShards: number;
  /** How long a run may hold a vault-name lease; must exceed the create-vault function timeout. */
  vaultLeaseMs: number;
  /** How long a start-checkpoint invocation owns a checkpoint intent; must exceed its function timeout. */
  checkpointClaimMs: number;
  /** Delay and budget for re-queued messages waiting for a lease or claim held by another invocation. */
  busyRetryDelaySeconds: number;
  busyRetryMax: number;
  /** Resources CBR skipped (still protecting): delay before another checkpoint, and how many tries. */
  skipRetryDelaySeconds: number;
  skipRetryMax: number;
  /** A non-check step that makes no progress for this long is re-driven by the checker. */
  stepTimeoutMs: number;
  /** Checker: first look after a checkpoint starts, backoff, concurrency, sweep bounds, page size. */
  firstCheckDelayMs: number;
  checkBaseDelayMs: number;
  checkMaxDelayMs: number;
  /** How the next look at a protecting checkpoint is timed (lib/pipeline/check-schedule.ts). */
  checkSchedule: CheckScheduleMode;
  /** Progress schedule: the longest gap between two looks. */
  estimateMaxDelayMs: number;
  /** One checker invocation keeps sweeping, every sweepIntervalMs, the runs due within sweepWindowMs (0: one sweep). */
  sweepWindowMs: number;
  sweepIntervalMs: number;
  checkConcurrency: number;
  maxRunsPerSweep: number;
  backupPageSize: number;
  /** The sweep lease: one checker sweep at a time; must exceed the check-status function timeout. */
  sweepLeaseMs: number;
  /** Finished runs are kept this long (DynamoDB TTL). */
  runTtlDays: number;
  /** SQS maxReceiveCount of the step queues: the last failed receive fails the run (DLQ). */
  maxReceiveCount: number;
  /** A share member still pending this long after it was added raises SharePendingTooLong (once). */
  sharePendingAlertMs: number;
  /**
   * What the end of a time-boxed share does to a member the receiver ACCEPTED: 'revoke' (DeleteMember
   * like a pending one) or 'keep' (left shared; only pending/rejected members are revoked). The CBR
   * reference does not say what DeleteMember does to an accepted share (README "Time-boxed shares").
   */
  shareExpiryAccepted: 'revoke' | 'keep';
  /** Share sweep: at most this many DeleteMember calls per sweep (the rest wait for the next minute). */
  shareRevokesPerSweep: number;
  /** A cross-region copy not available this long after it was set up is EXPIRED (REPLICATION_WINDOW_MINUTES). */
  replicationWindowMs: number;
}

export const DEFAULT_SETTINGS: PipelineSettings = {
  dueShards: 4,
  vaultLeaseMs: 120_000,
  checkpointClaimMs: 120_000,
  busyRetryDelaySeconds: 30,
  busyRetryMax: 20,
  skipRetryDelaySeconds: 120,
  skipRetryMax: 5,
  stepTimeoutMs: 15 * 60_000,
  firstCheckDelayMs: 30_000,
  checkBaseDelayMs: 30_000,
  checkMaxDelayMs: 5 * 60_000,
  checkSchedule: 'progress',
  estimateMaxDelayMs: 15 * 60_000,
  sweepWindowMs: 0,
  sweepIntervalMs: 10_000,
  checkConcurrency: 8,
  maxRunsPerSweep: 20_000,
  backupPageSize: 500,
  sweepLeaseMs: 60_000,
  runTtlDays: 30,
  maxReceiveCount: 5,
  sharePendingAlertMs: 24 * 3600_000,
  shareExpiryAccepted: 'revoke',
  shareRevokesPerSweep: 50,
  replicationWindowMs: 6 * 3600_000,
};

/**
 * Named windows between a step's side effect (its CBR call, or its record) and what follows it. Tests
 * (test/reliability/crash-windows.test.ts) kill an invocation exactly there and check that redelivery
 * converges to the same result. The production wiring (lib/wiring/runtime.ts) never sets a hook.
 */
export const CRASH_POINTS = [
  'start-run:after-record',
  'create-vault:after-cbr',
  'create-vault:after-record',
  'add-resources:after-cbr',
  'add-resources:after-record',
  'start-checkpoint:after-claim',
  'start-checkpoint:after-cbr',
  'start-checkpoint:after-record',
  'check-status:after-cbr',
  'check-status:after-record',
  'share-backup:after-cbr',
  'share-backup:after-accept',
  'share-backup:after-record',
  'end-run:after-record',
  // Between a run's terminal record and its run.finished, where no SQS redelivery heals it: the
  // checker's expiry (a sweep is not redelivered) and the last failed receive (its message is in the DLQ).
  'check-status:expire-after-record',
  'record-failure:after-record',
  // The share sweep (check-status's schedule): after DeleteMember, before the run records it.
  'share-sweep:after-cbr',
  // Cross-region copies (the checker): after the intent is saved, after ReplicateBackup, before its record.
  'replicate:after-intent',
  'replicate:after-cbr',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Everything a step needs; handlers build these once per container. */
export interface PipelineDeps {
  store: RunStore;
  bus: MessageBus;
  clock: Clock;
  cbr: CbrFactory;
  settings: PipelineSettings;
  /**
   * Time a CBR call needs left in the invocation before it may start (lib/pipeline/deadline.ts); set by
   * the CBR wiring from the client's timeout and retry settings; unset = no deadline check.
   */
  cbrCallBudgetMs?: number | undefined;
  /** Run metrics (EMF, lib/wiring/metrics.ts); unset = none. */
  metrics?: RunMetrics | undefined;
  /** A fresh random token per invocation (lease/claim holder). */
  newToken: () => string;
  /**
   * Restores the checker tracks (lib/restore/track.ts) each sweep: the restore records (the same store
   * object as `store`), a CBR factory whose clients can read operation logs and restore, the settings.
   * Unset: the sweep looks at runs only.
   */
  restores?: { store: RestoreStore & Pick<RunStore, 'get'>; cbr: CbrRestoreFactory; settings: RestoreSettings; drillHooks?: DrillHooks | undefined } | undefined;
  /**
   * Cross-region copies (lib/pipeline/replicate.ts): clients per (project, region) that can replicate.
   * Unset: a run asking for replication records each copy FAILED (REPLICATION_NOT_CONFIGURED).
   */
  replication?: { cbr: CbrReplicationFactory } | undefined;
  /**
   * Test seam, unset in production: awaited at each crash point; a test hook that never settles (or
   * throws) simulates the invocation dying there.
   */
  crashPoint?: ((point: CrashPoint, runId: string) => void | Promise<void>) | undefined;
}

/** start-run and get-run never talk to CBR (and must not import its client). */
export type IntakeDeps = Omit<PipelineDeps, 'cbr'>;

/**
 * What the operator's CBR API (the `vaults` function: orphaned vaults, vault capacity) needs: the run
 * store to know which vaults cbr-flow used, and CBR with a call budget that fits API Gateway's 30 s.
 */
export interface OperatorDeps {
  store: RunStore;
  cbr: CbrFactory;
  /** Time a CBR call needs left in the invocation before it may start (OPERATOR_CALL_LIMITS). */
  cbrCallBudgetMs: number;
}
