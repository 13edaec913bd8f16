/**
 * The run record: one backup run's state, the ids CBR gave us, a timeline and the last error. The
 * states are AWS Backup's job vocabulary. A terminal state (COMPLETED, PARTIAL, FAILED, EXPIRED) is
 * final: stores refuse to overwrite it.
 */
import * as z from 'zod';
import { Selection } from '../contracts/selection';
import { RunRequest } from '../contracts/run-request';

/**
 * What the caller records on the run after trying to notify (so GET /runs/{id} shows whether the
 * receiver got it, and why not).
 */
export const NotificationRecord = z.strictObject({
  messageId: z.string(),
  ok: z.boolean(),
  attempts: z.number().int().min(0),
  status: z.number().int().optional(),
  reason: z.string().optional(),
  message: z.string().max(512).optional(),
  at: z.number(),
});
export type NotificationRecord = z.infer<typeof NotificationRecord>;

export const RunState = z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']);
export type RunState = z.infer<typeof RunState>;
export const TERMINAL_STATES: ReadonlyArray<RunState> = ['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED'];
export function isTerminal(state: RunState): boolean {
  return TERMINAL_STATES.includes(state);
}

export const Step = z.enum(['create-vault', 'await-payment', 'add-resources', 'start-checkpoint', 'check-status', 'share-backup', 'replicate', 'done']);
export type Step = z.infer<typeof Step>;

/** One resource a run's pre-flight refused (lib/pipeline/preflight.ts), before any vault was created. */
export const PreflightProblem = z.object({
  resourceId: z.string(),
  declaredType: z.string(),
  problem: z.enum(['not-found', 'wrong-type', 'deleted', 'bound-elsewhere', 'not-protectable']),
  message: z.string(),
  /** The vault holding the resource (bound-elsewhere). */
  vault: z.object({ id: z.string(), name: z.string().optional() }).optional(),
});
export type PreflightProblem = z.infer<typeof PreflightProblem>;

export const RunError = z.object({
  code: z.string(),
  message: z.string(),
  requestId: z.string().optional(),
  step: Step.optional(),
  at: z.number(),
  /** PREFLIGHT_FAILED: every resource that cannot be backed up, and why. */
  details: z.array(PreflightProblem).optional(),
});
export type RunError = z.infer<typeof RunError>;

export const BackupRef = z.object({
  id: z.string(),
  resourceId: z.string(),
  resourceType: z.string(),
  status: z.enum(['available', 'error']),
  /** When CBR last updated the backup (its available time), epoch ms; for the AvailableToDetected metric. */
  availableAt: z.number().optional(),
});
export type BackupRef = z.infer<typeof BackupRef>;

export const CheckpointRecord = z.object({
  /** 1 for the run's checkpoint; 2.. for retries of resources CBR skipped. */
  seq: z.number().int().min(1),
  /** Name given to CBR, derived from the run id and seq (the recovery key after a crash). */
  name: z.string(),
  id: z.string().optional(),
  status: z.enum(['intent', 'protecting', 'available', 'error', 'partial', 'empty']),
  resourceIds: z.array(z.string()),
  /** While a start-checkpoint invocation is between intent and record, no other may call CBR. */
  claim: z.object({ token: z.string(), until: z.number() }).optional(),
  createdAt: z.number().optional(),
  finishedAt: z.number().optional(),
  backups: z.array(BackupRef).default([]),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })).default([]),
});
export type CheckpointRecord = z.infer<typeof CheckpointRecord>;

/**
 * One member (backup x receiving project). `pending`: added, not (yet) accepted; `accepted`/`rejected`:
 * the receiving side answered (`vaultId`: the receiving vault); `failed`: AddMember or the acceptance
 * failed (`code`/`message`: CBR's reason); `revoked`: the member was deleted when its lifetime ended.
 */
export const ShareStatus = z.enum(['pending', 'accepted', 'rejected', 'failed', 'revoked']);
export type ShareStatus = z.infer<typeof ShareStatus>;
export const ShareRecord = z.object({
  backupId: z.string(),
  resourceId: z.string(),
  projectId: z.string(),
  status: ShareStatus,
  code: z.string().optional(),
  message: z.string().optional(),
  /** The run's COMPLETED needs this member accepted. */
  required: z.boolean().optional(),
  /** The receiving vault the share was accepted into. */
  vaultId: z.string().optional(),
  /** When the member was added (or first seen), epoch ms. */
  sharedAt: z.number().optional(),
  /** End of a time-boxed share (sharedAt + ttlHours), epoch ms: the sweep revokes it then. */
  expiresAt: z.number().optional(),
  revokedAt: z.number().optional(),
  /** When the still-pending alert was raised (once per member). */
  alertedAt: z.number().optional(),
});
export type ShareRecord = z.infer<typeof ShareRecord>;

/**
 * A copy of one backup into another region (issue 15), with its own states like an AWS Backup copy job:
 * PENDING (to start), RUNNING (CBR replicates), COMPLETED (the replica is available in the destination
 * region), FAILED (CBR refused or the replica ended in error; `code`/`message`), EXPIRED (not available
 * within the replication window). `intentAt` is saved before ReplicateBackup is called: a copy with an
 * intent is looked for (replica by name, the source's replication op log) before any second call.
 */
export const CopyState = z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'EXPIRED']);
export type CopyState = z.infer<typeof CopyState>;
export const CopyRecord = z.object({
  backupId: z.string(),
  resourceId: z.string(),
  region: z.string(),
  projectId: z.string(),
  vaultName: z.string(),
  /** The replica's name (deterministic from run, backup and region): how it is found again. */
  name: z.string(),
  state: CopyState,
  vaultId: z.string().optional(),
  /** The replica's backup id in the destination region. */
  replicaId: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  createdAt: z.number(),
  intentAt: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** createdAt + the replication window: past it a copy not yet available is EXPIRED. */
  deadlineAt: z.number(),
});
export type CopyRecord = z.infer<typeof CopyRecord>;

export const TimelineEvent = z.object({
  at: z.number(),
  step: Step,
  event: z.string(),
  detail: z.string().optional(),
});
export type TimelineEvent = z.infer<typeof TimelineEvent>;

export const RunSource = z.object({
  kind: z.enum(['http', 'invoke', 'queue', 'schedule']),
  plan: z.string().optional(),
  scheduledTime: z.string().optional(),
});
export type RunSource = z.infer<typeof RunSource>;


export const RunRecord = z.object({
  runId: z.string(),
  /** Optimistic-concurrency version; every save increments it by one. */
  version: z.number().int().min(1),
  state: RunState,
  step: Step,
  request: RunRequest.and(z.object({ region: z.string() })),
  source: RunSource,
  createdAt: z.number(),
  updatedAt: z.number(),
  /** createdAt + completion window: past it a non-terminal run becomes EXPIRED. */
  deadlineAt: z.number(),
  finishedAt: z.number().optional(),
  /** Last time a step made progress (any timeline event but 'progress'/'waiting'/'redriven'). */
  progressAt: z.number().optional(),
  /**
   * Present while the run is in the due index: when the checker looks next. Every non-terminal run is
   * there, and a finished run stays there until its run.finished is published (`announcePending`).
   */
  due: z.object({ shard: z.number().int().min(0), at: z.number() }).optional(),
  /**
   * Set when the run ends, in the same write; cleared (with `due`) by RunStore.markAnnounced once
   * run.finished is on the events queue. A run whose announcer died in between is re-announced by the
   * checker, so no finished run goes unannounced.
   */
  announcePending: z.boolean().optional(),
  checks: z.number().int().min(0).default(0),
  vault: z.object({ id: z.string(), name: z.string(), created: z.boolean() }).optional(),
  /**
   * A yearly/monthly CreateVault answered with an order instead of a vault: the run waits in step
   * `await-payment` until the checker finds the vault by exact name (the order was paid).
   */
  order: z.object({ id: z.string(), at: z.number() }).optional(),
  boundResourceIds: z.array(z.string()).default([]),
  /** The request's `select`, and what it resolved to when the run started (create-vault); absent for listed resources. */
  selection: z.object({ select: Selection, resolvedAt: z.number(), ids: z.array(z.string()), listed: z.number().int() }).optional(),
  checkpoints: z.array(CheckpointRecord).default([]),
  /** Resources CBR skipped (still being backed up): retried later by another checkpoint, never dropped. */
  pendingResources: z.array(z.object({ id: z.string(), reason: z.string(), attempts: z.number().int(), retryAt: z.number() })).default([]),
  failedResources: z.array(z.object({ id: z.string(), reason: z.string() })).default([]),
  shares: z.array(ShareRecord).default([]),
  /** Cross-region copies of the run's backups (step `replicate`, tracked by the checker). */
  copies: z.array(CopyRecord).default([]),
  /**
   * Set while a member needs the share sweep (a lifetime to end, or a pending member to watch): when it
   * looks next. The store keeps a watch item for it (RunStore.recordShares), as finished runs are never saved.
   */
  shareWatchAt: z.number().optional(),
  notShareable: z.array(z.object({ backupId: z.string(), resourceId: z.string(), resourceType: z.string(), reason: z.string() })).default([]),
  timeline: z.array(TimelineEvent).default([]),
  /** Failed processing attempts per step (each failed delivery counts once). */
  attempts: z.record(z.string(), z.number().int()).default({}),
  lastError: RunError.optional(),
  /** Why the run ended (terminal states). */
  reason: z.string().optional(),
  /** DynamoDB TTL (epoch seconds), set when the run ends. */
  expiresAt: z.number().optional(),
  /** The run-finished notification to the request's notifyUrl: delivered or why not (never the URL). */
  notification: NotificationRecord.optional(),
  /** This run retries that (finished, not COMPLETED) run: POST /runs/{id}/retry. */
  retryOf: z.string().optional(),
  /** The run that retries this one (set once, on the finished run, by RunStore.linkRetry). */
  retriedBy: z.string().optional(),
});
export type RunRecord = z.infer<typeof RunRecord>;

export const VaultLease = z.object({
  key: z.string(),
  holder: z.string().optional(),
  leaseUntil: z.number(),
  vaultId: z.string().optional(),
  updatedAt: z.number(),
});
export type VaultLease = z.infer<typeof VaultLease>;

/** Lease key: one per (project, region, vault name). */
export function vaultLeaseKey(projectId: string, region: string, vaultName: string): string {
  return `${projectId}#${region}#${vaultName}`;
}

/** Stable shard of the due index for a run (spreads the checker's queries over partitions). */
export function dueShardOf(runId: string, shards: number): number {
  let h = 0;
  for (let i = 0; i < runId.length; i++) h = (h * 31 + runId.charCodeAt(i)) >>> 0;
  return h % Math.max(1, shards);
}

const TIMELINE_LIMIT = 200;
const NOT_PROGRESS = new Set(['progress', 'waiting', 'redriven', 'message-refused', 'message-dead-lettered', 'unknown-status']);

/** Append a timeline event (the oldest progress events are dropped past 200 entries). */
export function addEvent(run: RunRecord, at: number, step: Step, event: string, detail?: string): void {
  run.timeline.push(detail === undefined ? { at, step, event } : { at, step, event, detail });
  if (!NOT_PROGRESS.has(event)) run.progressAt = at;
  if (run.timeline.length > TIMELINE_LIMIT) {
    const idx = run.timeline.findIndex((e) => e.event === 'progress');
    run.timeline.splice(idx >= 0 ? idx : 1, 1);
  }
}
