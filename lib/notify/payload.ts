/**
 * The run-finished notification: what cbr-flow POSTs to a run's notifyUrl when the run ends, in the
 * Standard Webhooks payload shape `{ type, timestamp, data }`. Everything in it is derived from the
 * run record only, so a retried or duplicated notification carries the identical body and the same
 * webhook-id (deterministic per run and final state): receivers de-duplicate on webhook-id.
 */
import * as z from 'zod';
import type { RunRecord } from '../store/run';
import { NotifyError } from './errors';

const iso = z.iso.datetime({ offset: true });

export const FinalState = z.enum(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']);
export type FinalState = z.infer<typeof FinalState>;

export const RunFinishedNotification = z.strictObject({
  type: z.literal('run.finished'),
  /** When the run finished (not when this attempt was sent: the body is identical across retries). */
  timestamp: iso,
  data: z.strictObject({
    runId: z.string(),
    state: FinalState,
    reason: z.string().optional(),
    error: z.strictObject({ code: z.string(), message: z.string(), requestId: z.string().optional(), step: z.string().optional() }).optional(),
    projectId: z.string(),
    region: z.string(),
    timings: z.strictObject({ createdAt: iso, finishedAt: iso, deadlineAt: iso, durationMs: z.number().int().min(0) }),
    vault: z.strictObject({ id: z.string(), name: z.string(), created: z.boolean() }).optional(),
    checkpointIds: z.array(z.string()),
    backups: z.array(z.strictObject({ id: z.string(), resourceId: z.string(), resourceType: z.string(), status: z.string() })),
    members: z.array(
      z.strictObject({ backupId: z.string(), resourceId: z.string(), projectId: z.string(), status: z.string(), code: z.string().optional() }),
    ),
    failedResources: z.array(z.strictObject({ id: z.string(), reason: z.string() })),
    notShareable: z.array(z.strictObject({ backupId: z.string(), resourceId: z.string(), reason: z.string() })),
  }),
});
export type RunFinishedNotification = z.infer<typeof RunFinishedNotification>;

/** The webhook-id of a run's final notification: the same for every attempt and duplicate. */
export function notificationMessageId(runId: string, state: FinalState): string {
  return `run-finished_${runId}_${state.toLowerCase()}`;
}

const isoOf = (ms: number) => new Date(ms).toISOString();

export function notificationFromRun(run: RunRecord): RunFinishedNotification {
  const state = FinalState.safeParse(run.state);
  if (!state.success) {
    throw new NotifyError('not_finished', `run ${run.runId} is ${run.state}, not finished`, { origin: '', attempts: 0 });
  }
  const finishedAt = run.finishedAt ?? run.updatedAt;
  const lastError = run.lastError && state.data !== 'COMPLETED' ? run.lastError : undefined;
  return {
    type: 'run.finished',
    timestamp: isoOf(finishedAt),
    data: {
      runId: run.runId,
      state: state.data,
      ...(run.reason !== undefined ? { reason: run.reason } : {}),
      ...(lastError
        ? {
            error: {
              code: lastError.code,
              message: lastError.message,
              ...(lastError.requestId !== undefined ? { requestId: lastError.requestId } : {}),
              ...(lastError.step !== undefined ? { step: lastError.step } : {}),
            },
          }
        : {}),
      projectId: run.request.projectId,
      region: run.request.region,
      timings: {
        createdAt: isoOf(run.createdAt),
        finishedAt: isoOf(finishedAt),
        deadlineAt: isoOf(run.deadlineAt),
        durationMs: Math.max(0, finishedAt - run.createdAt),
      },
      ...(run.vault ? { vault: { id: run.vault.id, name: run.vault.name, created: run.vault.created } } : {}),
      checkpointIds: run.checkpoints.flatMap((c) => (c.id ? [c.id] : [])),
      backups: run.checkpoints.flatMap((c) => c.backups.map((b) => ({ id: b.id, resourceId: b.resourceId, resourceType: b.resourceType, status: b.status }))),
      members: run.shares.map((s) => ({
        backupId: s.backupId,
        resourceId: s.resourceId,
        projectId: s.projectId,
        status: s.status,
        ...(s.code !== undefined ? { code: s.code } : {}),
      })),
      failedResources: run.failedResources.map((r) => ({ id: r.id, reason: r.reason })),
      notShareable: run.notShareable.map((n) => ({ backupId: n.backupId, resourceId: n.resourceId, reason: n.reason })),
    },
  };
}

/**
 * The share-pending notification (issue 15): a member of one of the run's shares is still `pending`
 * SHARE_PENDING_ALERT_HOURS after it was shared (nobody accepted it on the receiving side). Sent once per
 * member, when the share sweep first finds it so; its webhook-id is deterministic per run and member.
 */
export const SharePendingNotification = z.strictObject({
  type: z.literal('share.pending'),
  /** When the share sweep found the member still pending. */
  timestamp: iso,
  data: z.strictObject({
    runId: z.string(),
    /** The run's (sharing) project. */
    projectId: z.string(),
    region: z.string(),
    /** The receiving project, the member that has not accepted. */
    memberProjectId: z.string(),
    backupId: z.string(),
    resourceId: z.string().optional(),
    pendingSince: iso,
    /** Hours pending when found, one decimal. */
    hours: z.number().min(0),
  }),
});
export type SharePendingNotification = z.infer<typeof SharePendingNotification>;

export function sharePendingMessageId(runId: string, backupId: string, memberProjectId: string): string {
  return `share-pending_${runId}_${backupId}_${memberProjectId}`;
}

export function sharePendingNotification(run: RunRecord, member: { backupId: string; projectId: string; sharedAt: string }, foundAt: string): SharePendingNotification {
  const share = run.shares.find((s) => s.backupId === member.backupId && s.projectId === member.projectId);
  const hours = Math.max(0, Date.parse(foundAt) - Date.parse(member.sharedAt)) / 3_600_000;
  return {
    type: 'share.pending',
    timestamp: foundAt,
    data: {
      runId: run.runId,
      projectId: run.request.projectId,
      region: run.request.region,
      memberProjectId: member.projectId,
      backupId: member.backupId,
      ...(share ? { resourceId: share.resourceId } : {}),
      pendingSince: member.sharedAt,
      hours: Math.round(hours * 10) / 10,
    },
  };
}
