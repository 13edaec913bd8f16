/**
 * share-backup: share every available server backup of the run with each target project
 * (AddMember), then finish the run: COMPLETED, PARTIAL (some resources or members failed) or FAILED
 * (no backup succeeded, with CBR's reason).
 *
 * Idempotency: the members already on a backup are read first (ShowMembersDetail) and only the
 * missing projects are added; "already shared" (BackupService.6703 / 6714) counts as success, so a
 * duplicate delivery or a crash after AddMember never adds a member twice. A backup type CBR will not
 * share (6700, e.g. disk backups) is reported on the run (notShareable), not thrown. A finished run
 * only re-publishes run.finished (stable id). Failed backups are explained with CBR's reason from the
 * task log (ListOpLogs, one call, only when a backup failed).
 */
import type { MessageOf } from '../contracts';
import { cbrErrorOf, hasCbrCode, type CbrApi } from '../ports';
import { RunNotFoundError } from '../store/errors';
import { mutateRun } from '../store/mutate';
import { isTerminal, type BackupRef, type RunRecord, type ShareRecord } from '../store/run';
import { publishFinished, SAFE_TO_REPEAT, terminate, type StepOutcome } from './common';
import type { PipelineDeps } from '../wiring/deps';

const ALREADY_SHARED = ['6703', '6714'];
const NOT_SHAREABLE = ['6700'];

interface ShareOutcome {
  shares: ShareRecord[];
  notShareable: RunRecord['notShareable'];
}

async function existingMembers(cbr: CbrApi, backupId: string): Promise<Map<string, string>> {
  const members = new Map<string, string>();
  const limit = 100;
  for (let offset = 0; ; offset += limit) {
    const page = await cbr.showMembersDetail(backupId, { limit, offset });
    for (const m of page.members) if (m.dest_project_id) members.set(m.dest_project_id, m.status ?? 'pending');
    if (page.members.length < limit || (typeof page.count === 'number' && offset + limit >= page.count)) break;
  }
  return members;
}

async function shareBackup(cbr: CbrApi, backup: BackupRef, targets: string[]): Promise<ShareOutcome> {
  const out: ShareOutcome = { shares: [], notShareable: [] };
  const record = (projectId: string, status: ShareRecord['status'], code?: string, message?: string) =>
    out.shares.push({ backupId: backup.id, resourceId: backup.resourceId, projectId, status, ...(code ? { code } : {}), ...(message ? { message } : {}) });

  const existing = await existingMembers(cbr, backup.id);
  const missing = targets.filter((p) => !existing.has(p));
  for (const p of targets) if (existing.has(p)) record(p, memberStatus(existing.get(p)));
  if (missing.length === 0) return out;

  const addOne = async (projects: string[]): Promise<'ok' | 'one-by-one' | 'not-shareable'> => {
    try {
      // Repeating is safe: if a lost answer hid a success, CBR says 6703 (already shared), handled below.
      await cbr.addMember(backup.id, { members: projects }, SAFE_TO_REPEAT);
      for (const p of projects) record(p, 'pending');
      return 'ok';
    } catch (error) {
      const e = cbrErrorOf(error);
      if (!e || e.retryable) throw error;
      if (hasCbrCode(error, ...ALREADY_SHARED)) {
        if (projects.length > 1) return 'one-by-one';
        record(projects[0]!, 'pending');
        return 'ok';
      }
      if (hasCbrCode(error, ...NOT_SHAREABLE)) {
        out.notShareable.push({ backupId: backup.id, resourceId: backup.resourceId, resourceType: backup.resourceType, reason: `${e.errorCode}: ${e.message}` });
        return 'not-shareable';
      }
      if (projects.length > 1) return 'one-by-one';
      record(projects[0]!, 'failed', e.errorCode, e.message);
      return 'ok';
    }
  };

  const batch = await addOne(missing);
  if (batch === 'one-by-one') {
    for (const p of missing) if ((await addOne([p])) === 'not-shareable') break;
  }
  return out;
}

function memberStatus(status: string | undefined): ShareRecord['status'] {
  return status === 'accepted' || status === 'rejected' ? status : 'pending';
}

/** CBR's reasons for failed backups, from the task log (one call per vault, only when something failed). */
async function failureReasons(cbr: CbrApi, run: RunRecord): Promise<Map<string, { code: string; message: string }>> {
  const reasons = new Map<string, { code: string; message: string }>();
  const failed = run.checkpoints.filter((c) => c.backups.some((b) => b.status === 'error') || c.status === 'error');
  if (failed.length === 0 || !run.vault) return reasons;
  const ids = new Set(failed.map((c) => c.id));
  const oldest = Math.min(...failed.map((c) => c.createdAt ?? run.createdAt));
  const start = new Date(oldest - 15 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { operation_logs } = await cbr.listOpLogs({ operation_type: 'backup', status: 'failed', vault_id: run.vault.id, start_time: start, limit: 100 });
  for (const log of operation_logs) {
    const resourceId = log.extra_info?.resource?.id;
    if (!log.checkpoint_id || !ids.has(log.checkpoint_id) || !resourceId) continue;
    reasons.set(resourceId, { code: String(log.error_info?.code ?? 'unknown'), message: log.error_info?.message ?? 'no reason given' });
  }
  return reasons;
}

function outcomeOf(run: RunRecord, reasons: Map<string, { code: string; message: string }>): { state: 'COMPLETED' | 'PARTIAL' | 'FAILED'; reason: string } {
  const cbrReasons = [...reasons.entries()].map(([id, r]) => `${id}: ${r.code} ${r.message}`).join('; ');
  const backups = run.checkpoints.flatMap((c) => c.backups);
  const ok = backups.filter((b) => b.status === 'available').length;
  const failedBackups = backups.length - ok;
  const failedResources = run.failedResources.length;
  const failedMembers = run.shares.filter((s) => s.status === 'failed').length;
  const sharedTo = new Set(run.shares.filter((s) => s.status !== 'failed').map((s) => s.projectId)).size;
  if (ok === 0) {
    const why = run.checkpoints.map((c) => `checkpoint ${c.id ?? c.name} ${c.status}`).join('; ');
    const skipped = run.failedResources.map((f) => `${f.id}: ${f.reason}`).join('; ');
    return { state: 'FAILED', reason: `no backup succeeded (${why}${cbrReasons ? `; CBR: ${cbrReasons}` : ''}${skipped ? `; ${skipped}` : ''})` };
  }
  const notes: string[] = [`${ok} backup(s) available`];
  if (run.request.shareWith.length) notes.push(`shared with ${sharedTo} project(s)`);
  if (failedBackups) notes.push(`${failedBackups} backup(s) in error${cbrReasons ? ` (CBR: ${cbrReasons})` : ''}`);
  if (failedResources) notes.push(`${failedResources} resource(s) never backed up: ${run.failedResources.map((f) => f.id).join(', ')}`);
  if (failedMembers) notes.push(`${failedMembers} share(s) failed`);
  if (run.notShareable.length) notes.push(`${run.notShareable.length} backup(s) not shareable`);
  return { state: failedBackups || failedResources || failedMembers ? 'PARTIAL' : 'COMPLETED', reason: notes.join('; ') };
}

export async function shareBackups(deps: PipelineDeps, message: MessageOf<'checkpoint.finished'>): Promise<StepOutcome> {
  const run = await deps.store.get(message.runId);
  if (!run) throw new RunNotFoundError(message.runId);
  if (isTerminal(run.state)) {
    await publishFinished(deps, run);
    return 'duplicate';
  }
  if (run.step !== 'share-backup') return 'ignored'; // stale message; the checker owns the run's progress

  const targets = run.request.shareWith;
  const results: ShareOutcome = { shares: [], notShareable: [] };
  const cbr = await deps.cbr({ projectId: run.request.projectId, region: run.request.region });
  let reasons = new Map<string, { code: string; message: string }>();
  try {
    reasons = await failureReasons(cbr, run);
  } catch {
    // Only an explanation: a run is not held back because the task log could not be read.
  }
  if (targets.length > 0) {
    const backups = run.checkpoints.flatMap((c) => c.backups).filter((b) => b.status === 'available');
    for (const b of backups) {
      if (b.resourceType !== 'OS::Nova::Server') {
        results.notShareable.push({ backupId: b.id, resourceId: b.resourceId, resourceType: b.resourceType, reason: 'only cloud server backups can be shared' });
        continue;
      }
      const r = await shareBackup(cbr, b, targets);
      results.shares.push(...r.shares);
      results.notShareable.push(...r.notShareable);
    }
  }

  await deps.crashPoint?.('share-backup:after-cbr', run.runId);
  const now = deps.clock.now();
  const { run: finished } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (draft.step !== 'share-backup') return undefined;
      draft.shares = results.shares;
      draft.notShareable = results.notShareable;
      const { state, reason } = outcomeOf(draft, reasons);
      const failedShare = draft.shares.find((s) => s.status === 'failed');
      const cbrReason = [...reasons.values()][0];
      const error =
        state === 'COMPLETED'
          ? undefined
          : cbrReason
            ? { code: cbrReason.code, message: cbrReason.message, step: 'check-status' as const, at: now }
            : failedShare
              ? { code: failedShare.code ?? 'SHARE_FAILED', message: failedShare.message ?? 'share failed', step: 'share-backup' as const, at: now }
              : undefined;
      terminate(draft, state, reason, now, deps.settings, error);
      return draft;
    },
    { now, initial: run },
  );
  await deps.crashPoint?.('share-backup:after-record', run.runId);
  if (isTerminal(finished.state)) await publishFinished(deps, finished);
  return 'done';
}
