/**
 * The restore record: one RestoreBackup cbr-flow asked for (or is about to), kept in the runs table as a
 * sibling of the runs (pk RESTORE#<id>, sk RESTORE; lib/store/dynamodb/store.ts), tracked by the checker.
 *
 * States (like a run's): PENDING (recorded, RestoreBackup not yet known accepted) -> RUNNING (CBR's
 * `restore` operation log found) -> COMPLETED | FAILED | EXPIRED (terminal, never overwritten).
 * `intent` is written BEFORE RestoreBackup is called: a record with an intent and no operation log is a
 * call whose outcome is unknown (crash, lost answer); it is never called again, only looked for in the
 * operation logs (lib/restore/track.ts), so no duplicate delivery or crash makes a second restore.
 */
import * as z from 'zod';

export const RestoreState = z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'EXPIRED']);
export type RestoreState = z.infer<typeof RestoreState>;
export const RESTORE_TERMINAL: ReadonlyArray<RestoreState> = ['COMPLETED', 'FAILED', 'EXPIRED'];
export const isRestoreTerminal = (s: RestoreState): boolean => RESTORE_TERMINAL.includes(s);

export const RestoreMapping = z.object({
  /** The disk backup (a child of the server backup). */
  backupId: z.string(),
  /** The disk of the target server it overwrites. */
  volumeId: z.string(),
  sizeGb: z.number().optional(),
  targetSizeGb: z.number().optional(),
  systemDisk: z.boolean().optional(),
});
export type RestoreMapping = z.infer<typeof RestoreMapping>;

export const RestoreEvent = z.object({ at: z.number(), event: z.string(), detail: z.string().optional() });
export type RestoreEvent = z.infer<typeof RestoreEvent>;

/** The restore record's part for a drill: what to check after the restore, and (at the end) what was found. */
export const DrillInfo = z.object({
  plan: z.string(),
  name: z.string(),
  scheduledTime: z.string(),
  resourceId: z.string(),
  verifyUrl: z.string().optional(),
  notifyUrl: z.string().optional(),
  rpoTargetSeconds: z.number().optional(),
  rtoTargetSeconds: z.number().optional(),
  result: z
    .object({
      ok: z.boolean(),
      /** Age of the restored backup when the restore started (CBR's clock), seconds. */
      rpoSeconds: z.number().optional(),
      /** The restore's duration from CBR's op log, seconds. */
      rtoSeconds: z.number().optional(),
      verification: z.enum(['healthy', 'unhealthy', 'not-configured', 'not-run']),
      verificationDetail: z.string().optional(),
      /** Why the drill is not ok: failed restore, unhealthy, RPO or RTO target missed. */
      problems: z.array(z.string()).default([]),
      notified: z.string().optional(),
    })
    .optional(),
});
export type DrillInfo = z.infer<typeof DrillInfo>;

export const RestoreRecord = z.object({
  restoreId: z.string(),
  kind: z.literal('restore'),
  version: z.number().int().min(1),
  state: RestoreState,
  projectId: z.string(),
  region: z.string(),
  /** The (server) backup restored. */
  backupId: z.string(),
  backupName: z.string().optional(),
  /** When CBR finished the backup (its age at restore time is the drill's RPO). */
  backupAt: z.number().optional(),
  /** Given by run and resource: the run whose backup this is. */
  runId: z.string().optional(),
  resourceId: z.string().optional(),
  /** The server whose disks are overwritten. Fixed at creation: a restore never moves to another target. */
  targetServerId: z.string(),
  powerOn: z.boolean(),
  /** Declared drill target (DRILL_TARGETS) or confirmed by the caller (`confirm`). */
  safety: z.enum(['drill-target', 'confirmed']),
  requestedBy: z.string().optional(),
  source: z.object({ kind: z.enum(['http', 'invoke', 'cli', 'drill']) }),
  /** A plan's recovery drill (lib/restore/drill.ts): its targets, and at the end its result. */
  drill: DrillInfo.optional(),
  /** The backup's created_at (CBR): the drill's RPO is the restore's start minus this. */
  backupCreatedAt: z.number().optional(),
  mappings: z.array(RestoreMapping).default([]),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** createdAt + completion window: past it a restore not finished is EXPIRED. */
  deadlineAt: z.number(),
  /** Written just before RestoreBackup is called (see the module comment). */
  intent: z.object({ at: z.number(), token: z.string() }).optional(),
  /** RestoreBackup answered 202 at. */
  acceptedAt: z.number().optional(),
  /** CBR's `restore` operation log, once found. */
  opLogId: z.string().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  progress: z.number().optional(),
  /** When the checker looks next (non-terminal restores only). */
  due: z.object({ at: z.number() }).optional(),
  checks: z.number().int().min(0).default(0),
  timeline: z.array(RestoreEvent).default([]),
  lastError: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional(), at: z.number() }).optional(),
  /** Why it ended (terminal states), CBR's reason included. */
  reason: z.string().optional(),
  expiresAt: z.number().optional(),
});
export type RestoreRecord = z.infer<typeof RestoreRecord>;

export function addRestoreEvent(r: RestoreRecord, at: number, event: string, detail?: string): void {
  r.timeline.push(detail === undefined ? { at, event } : { at, event, detail });
  if (r.timeline.length > 100) r.timeline.splice(1, 1);
}

export type RestoreSaveResult = { ok: true; restore: RestoreRecord } | { ok: false; reason: 'stale' | 'terminal' | 'missing' };
