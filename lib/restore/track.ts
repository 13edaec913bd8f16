/**
 * The checker's part for restores (called by lib/pipeline/check-status.ts each sweep): every restore due
 * in the store is looked up in CBR's operation logs, ONE ListOpLogs per restore (operation_type=restore,
 * resource_id=<target>, start_time just before the intent), and moved on:
 *   - no intent yet (the request died before RestoreBackup): carried on now (executeRestore), which is
 *     safe because the intent is always written before the call;
 *   - op log `running`/`waiting` -> RUNNING (progress kept; next look from it, lib/pipeline/check-schedule.ts);
 *   - `success` -> COMPLETED; `failed`/`timeout` -> FAILED with CBR's error_info as the reason;
 *   - no op log: looked for again until RESTORE_CONFIRM_GRACE after the intent, then FAILED (the call's
 *     outcome is unknown and it is not repeated: a second restore would overwrite the target again);
 *   - past the completion window -> EXPIRED.
 */
import { cbrTimestampMs } from '../cbr/time';
import type { CbrRestoreOpLog, Logger } from '../ports';
import { nextCheckAt } from '../pipeline/check-schedule';
import { errorFields } from '../wiring/log';
import { drillSummary, evaluateDrill } from './drill';
import { addRestoreEvent, type RestoreRecord } from './record';
import { executeRestore, finishRestore, mutateRestore, type RestoreDeps } from './restore';

export interface RestoreSweepResult {
  due: number;
  checked: number;
  completed: number;
  failed: number;
  expired: number;
  errors: number;
}

const START_SLACK_MS = 15 * 60_000;
const cbrTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function checkRestores(deps: RestoreDeps, log: Logger, limit = 200): Promise<RestoreSweepResult> {
  const now = deps.clock.now();
  const result: RestoreSweepResult = { due: 0, checked: 0, completed: 0, failed: 0, expired: 0, errors: 0 };
  const due = await deps.store.listDueRestores(now, limit);
  result.due = due.length;
  for (const r of due) {
    try {
      const after = await checkOne(deps, r, now);
      result.checked++;
      if (after.state === 'COMPLETED') result.completed++;
      else if (after.state === 'FAILED') result.failed++;
      else if (after.state === 'EXPIRED') result.expired++;
    } catch (error) {
      result.errors++; // stays due: the next sweep tries again
      log('error', 'check-status: restore not advanced this sweep', { restoreId: r.restoreId, ...errorFields(error) });
    }
  }
  return result;
}

async function checkOne(deps: RestoreDeps, r: RestoreRecord, now: number): Promise<RestoreRecord> {
  const s = deps.restore;
  if (now >= r.deadlineAt) {
    return (await mutateRestore(deps.store, r.restoreId, now, (d) => {
      finishRestore(d, 'EXPIRED', `not finished within its completion window of ${Math.round(s.windowMs / 60_000)} minutes (${d.opLogId ? `CBR operation log ${d.opLogId} still ${d.state === 'RUNNING' ? 'running' : 'not found'}` : 'RestoreBackup not confirmed'})`, now, s);
      return d;
    }, r)).restore;
  }
  if (!r.intent) {
    // Never called (no intent): carry the request on; a refusal ends it FAILED inside.
    try {
      return await executeRestore(deps, r);
    } catch (error) {
      const current = await deps.store.getRestore(r.restoreId);
      if (current && current.state === 'FAILED') return current;
      throw error;
    }
  }
  const cbr = await deps.cbr({ projectId: r.projectId, region: r.region });
  const { operation_logs: logs } = await cbr.listOpLogs({ operation_type: 'restore', resource_id: r.targetServerId, start_time: cbrTime(r.intent.at - START_SLACK_MS), limit: 100 });
  const log = findOpLog(logs, r);
  // A drill's end is measured and verified before it is recorded (the webhooks are I/O; the record is
  // then written once, terminal, with the result). A second sweep racing here finds the restore terminal.
  let drillResult: NonNullable<RestoreRecord['drill']>['result'];
  if (r.drill && !r.drill.result && log && (log.status === 'success' || log.status === 'failed' || log.status === 'timeout')) {
    const startedAt = cbrTimestampMs(log.started_at ?? log.created_at ?? '') ?? r.startedAt;
    const finishedAt = cbrTimestampMs(log.ended_at ?? '') ?? now;
    drillResult = await evaluateDrill(r, { state: log.status === 'success' ? 'COMPLETED' : 'FAILED', startedAt, finishedAt, reason: log.error_info?.message || `the restore operation log ended '${log.status}'` }, deps.drillHooks);
  }
  return (await mutateRestore(deps.store, r.restoreId, now, (d) => {
    d.checks += 1;
    if (!log) {
      if (d.acceptedAt === undefined && now - d.intent!.at >= s.graceMs) {
        finishRestore(
          d,
          'FAILED',
          `RestoreBackup's answer was lost${d.lastError ? ` (${d.lastError.message.slice(0, 200)})` : ''} and no restore operation log of backup ${d.backupId} onto server ${d.targetServerId} appeared within ${Math.round(s.graceMs / 1000)} s; cbr-flow does not call RestoreBackup again (a second restore would overwrite the target again): check the server, then start a new restore`,
          now,
          s,
          { code: 'RESTORE_OUTCOME_UNKNOWN', message: 'no restore operation log found' },
        );
        return d;
      }
      d.due = { at: Math.min(d.deadlineAt, now + deps.settings.checkBaseDelayMs) };
      return d;
    }
    const id = log.id ?? undefined;
    if (id && d.opLogId !== id) {
      d.opLogId = id;
      addRestoreEvent(d, now, 'operation-log-found', `CBR restore operation log ${id}`);
    }
    const started = cbrTimestampMs(log.started_at ?? log.created_at ?? '');
    if (started !== undefined) d.startedAt = started;
    const progress = typeof log.extra_info?.common?.progress === 'number' ? log.extra_info.common.progress : undefined;
    if (progress !== undefined) d.progress = progress;
    switch (log.status) {
      case 'success': {
        if (d.drill && drillResult) d.drill.result = drillResult;
        d.progress = 100;
        d.finishedAt = cbrTimestampMs(log.ended_at ?? '') ?? now;
        finishRestore(d, 'COMPLETED', `backup ${d.backupId} restored onto server ${d.targetServerId}${d.startedAt !== undefined ? ` in ${Math.round((d.finishedAt - d.startedAt) / 1000)} s` : ''}`, now, s);
        if (d.drill?.result) addRestoreEvent(d, now, 'drill', drillSummary(d.drill.result));
        return d;
      }
      case 'failed':
      case 'timeout': {
        if (d.drill && drillResult) d.drill.result = drillResult;
        const code = log.error_info?.code !== undefined && log.error_info?.code !== null && log.error_info.code !== '' ? String(log.error_info.code) : `OPLOG_${log.status.toUpperCase()}`;
        const message = log.error_info?.message || `the restore operation log ended '${log.status}'`;
        d.finishedAt = cbrTimestampMs(log.ended_at ?? '') ?? now;
        finishRestore(d, 'FAILED', `CBR's restore of backup ${d.backupId} onto server ${d.targetServerId} ${log.status}: ${code}: ${message}`, now, s, { code, message });
        if (d.drill?.result) addRestoreEvent(d, now, 'drill', drillSummary(d.drill.result));
        return d;
      }
      default: {
        if (d.state === 'PENDING') {
          d.state = 'RUNNING';
          addRestoreEvent(d, now, 'running', `CBR is restoring (${progress ?? 0} %)`);
        } else if (progress !== undefined) {
          addRestoreEvent(d, now, 'progress', `${progress} %`);
        }
        const next = nextCheckAt({ now, createdAt: d.startedAt ?? d.intent!.at, checks: d.checks, progress: [progress] }, deps.settings);
        d.due = { at: Math.min(d.deadlineAt, next.at) };
        return d;
      }
    }
  }, r)).restore;
}

/** The operation log of this restore: the known id, else the one of this backup onto this target begun at/after the intent. */
function findOpLog(logs: ReadonlyArray<CbrRestoreOpLog>, r: RestoreRecord): CbrRestoreOpLog | undefined {
  if (r.opLogId) return logs.find((l) => l.id === r.opLogId);
  const candidates = logs.filter((l) => {
    const x = l.extra_info?.restore;
    if (x?.backup_id && x.backup_id !== r.backupId) return false;
    const target = x?.target_resource_id ?? l.extra_info?.resource?.id;
    if (target && target !== r.targetServerId) return false;
    // Begun (give or take a minute of clock skew) after the intent, and not finished before it.
    const at = cbrTimestampMs(l.created_at ?? l.started_at ?? '');
    const ended = cbrTimestampMs(l.ended_at ?? '');
    return (at === undefined || at >= r.intent!.at - 60_000) && (ended === undefined || ended >= r.intent!.at);
  });
  // The earliest after the intent: CBR lists newest first.
  return candidates[candidates.length - 1];
}
