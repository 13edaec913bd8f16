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
 *
 * Two-sided shares (issue 15): for a target with `vaultName`, the run then acts as the RECEIVING
 * project, with that project's credentials (CBR_CREDENTIALS_MAP): it finds the vault of that exact name
 * in the receiving project or creates it (under the vault-name lease, so two runs never create two),
 * accepts each member into it (UpdateMemberStatus `accepted` + vault_id, cbr-api.md §5.1: the
 * recipient calls with its own project id as {project_id} and {member_id}), and verifies the member as
 * the owner sees it (ShowMemberDetail). A member CBR already shows accepted or rejected is never
 * answered again (the members are read first), and the PUT is never repeated by the client, so a
 * duplicate delivery or a crash after UpdateMemberStatus never accepts twice. A receiver without
 * credentials (CREDENTIALS_NOT_MAPPED) stays `pending`, as before. COMPLETED needs every required member
 * accepted; otherwise the run is PARTIAL, with each such member's reason. Time-boxed and pending
 * members get a share watch (lib/pipeline/share-sweep.ts) before the run ends.
 */
import type { MessageOf } from '../contracts';
import { shareTargetsOf, type ResolvedShareTarget } from '../contracts/run-request';
import { cbrErrorOf, hasCbrCode, type CbrApi, type CbrVaultView } from '../ports';
import { RunNotFoundError } from '../store/errors';
import { mutateRun } from '../store/mutate';
import { addEvent, isTerminal, type BackupRef, type RunRecord, type ShareRecord } from '../store/run';
import { publishFinished, requeueLater, SAFE_TO_REPEAT, scheduleAt, terminate, type StepOutcome } from './common';
import { planCopies, unfinishedCopies } from './replicate';
import { findOrCreateVaultUnderLease, type VaultBusy } from './create-vault';
import { nextShareWatch } from './share-sweep';
import type { PipelineDeps } from '../wiring/deps';

const ALREADY_SHARED = ['6703', '6714'];
const NOT_SHAREABLE = ['6700'];

interface ShareOutcome {
  shares: ShareRecord[];
  notShareable: RunRecord['notShareable'];
}

async function existingMembers(cbr: CbrApi, backupId: string): Promise<Map<string, { status: string; vaultId?: string }>> {
  const members = new Map<string, { status: string; vaultId?: string }>();
  const limit = 100;
  for (let offset = 0; ; offset += limit) {
    const page = await cbr.showMembersDetail(backupId, { limit, offset });
    for (const m of page.members) if (m.dest_project_id) members.set(m.dest_project_id, { status: m.status ?? 'pending', ...(m.vault_id ? { vaultId: m.vault_id } : {}) });
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
  for (const p of targets) {
    const m = existing.get(p);
    if (!m) continue;
    record(p, memberStatus(m.status));
    if (m.vaultId) out.shares[out.shares.length - 1]!.vaultId = m.vaultId;
  }
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

function memberStatus(status: string | null | undefined): 'pending' | 'accepted' | 'rejected' {
  return status === 'accepted' || status === 'rejected' ? status : 'pending';
}

/** Code on a member whose receiving project has no credentials (it stays pending, as before issue 15). */
export const NO_RECEIVER_CREDENTIALS = 'NO_RECEIVER_CREDENTIALS';

/**
 * The receiving vault: the oldest vault of exactly `vaultName` in the receiving project, else one created
 * there (pay-per-use, server backups) under the vault-name lease of (project, region, name), which the
 * create-vault step uses too; the name is read again once the lease is held. VaultBusy: another invocation
 * holds the lease (the message comes back when it lapses).
 */
function receivingVault(deps: PipelineDeps, receiver: CbrApi, target: ResolvedShareTarget & { vaultName: string }, region: string): Promise<CbrVaultView | VaultBusy> {
  return findOrCreateVaultUnderLease(deps, receiver, { projectId: target.projectId, region, what: 'receiving vault' }, {
    name: target.vaultName,
    description: 'cbr-flow receiving vault (accepted shares)',
    billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: target.vaultSizeGb, cloud_type: 'public', charging_mode: 'post_paid' },
    resources: [],
  });
}

/**
 * Accept this target's members (the receiving side), then read each back as the owner sees it.
 * Updates `shares` in place. Retryable CBR errors are thrown (the message is delivered again; every
 * member already accepted is then skipped).
 */
async function acceptShares(
  deps: PipelineDeps,
  owner: CbrApi,
  run: RunRecord,
  target: ResolvedShareTarget & { vaultName: string },
  shares: ShareRecord[],
): Promise<VaultBusy | undefined> {
  const mine = shares.filter((s) => s.projectId === target.projectId && s.status === 'pending');
  if (mine.length === 0) return undefined;
  let receiver: CbrApi;
  try {
    receiver = await deps.cbr({ projectId: target.projectId, region: run.request.region });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'CREDENTIALS_NOT_MAPPED') throw error;
    for (const s of mine) Object.assign(s, { code: NO_RECEIVER_CREDENTIALS, message: `no CBR credentials for receiving project ${target.projectId} (CBR_CREDENTIALS_MAP): the share stays pending until that project accepts it` });
    return undefined;
  }
  let vault: CbrVaultView | VaultBusy;
  try {
    vault = await receivingVault(deps, receiver, target, run.request.region);
  } catch (error) {
    const e = cbrErrorOf(error);
    if (!e || e.retryable) throw error;
    for (const s of mine) Object.assign(s, { status: 'failed', code: e.errorCode ?? `HTTP_${e.httpStatus ?? 'ERROR'}`, message: `receiving vault ${target.vaultName}: ${e.message}` });
    return undefined;
  }
  if ('busyUntil' in vault) return vault;
  for (const s of mine) {
    try {
      await receiver.updateMemberStatus(s.backupId, target.projectId, { status: 'accepted', vault_id: vault.id });
    } catch (error) {
      const e = cbrErrorOf(error);
      if (!e || e.retryable) throw error;
      Object.assign(s, { status: 'failed', code: e.errorCode ?? `HTTP_${e.httpStatus ?? 'ERROR'}`, message: `accepting into ${target.vaultName}: ${e.message}` });
      continue;
    }
    await deps.crashPoint?.('share-backup:after-accept', run.runId);
    // Verify as the owner sees it (the recipient's own answer is not the record of truth).
    const { member } = await owner.showMemberDetail(s.backupId, target.projectId);
    s.status = memberStatus(member.status);
    if (member.vault_id) s.vaultId = member.vault_id;
    if (s.status !== 'accepted') Object.assign(s, { code: 'NOT_ACCEPTED', message: `CBR shows the member ${s.status} after UpdateMemberStatus accepted` });
  }
  return undefined;
}

/** Lifetime and requirement of each member, from its target. */
function annotate(shares: ShareRecord[], targets: ResolvedShareTarget[], now: number): void {
  for (const s of shares) {
    const t = targets.find((x) => x.projectId === s.projectId);
    if (!t) continue;
    s.sharedAt ??= now;
    if (t.required) s.required = true;
    if (t.ttlHours !== undefined && s.status !== 'failed') s.expiresAt = s.sharedAt + t.ttlHours * 3600_000;
  }
}

/** Why each required member is not accepted ('' when all are). */
function unacceptedRequired(shares: ShareRecord[]): string[] {
  return shares
    .filter((s) => s.required && s.status !== 'accepted')
    .map((s) => `member ${s.projectId} of backup ${s.backupId} ${s.status}${s.code ? ` (${s.code}${s.message ? `: ${s.message}` : ''})` : ''}`);
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

/** The run's end: its backups, shares and (step `replicate`) cross-region copies. */
export function outcomeOf(run: RunRecord, reasons: Map<string, { code: string; message: string }> = new Map()): { state: 'COMPLETED' | 'PARTIAL' | 'FAILED'; reason: string } {
  const cbrReasons = [...reasons.entries()].map(([id, r]) => `${id}: ${r.code} ${r.message}`).join('; ');
  const backups = run.checkpoints.flatMap((c) => c.backups);
  const ok = backups.filter((b) => b.status === 'available').length;
  const failedBackups = backups.length - ok;
  const failedResources = run.failedResources.length;
  const failedMembers = run.shares.filter((s) => s.status === 'failed').length;
  const unaccepted = unacceptedRequired(run.shares);
  const accepted = run.shares.filter((s) => s.status === 'accepted').length;
  const sharedTo = new Set(run.shares.filter((s) => s.status !== 'failed').map((s) => s.projectId)).size;
  if (ok === 0) {
    const why = run.checkpoints.map((c) => `checkpoint ${c.id ?? c.name} ${c.status}`).join('; ');
    const skipped = run.failedResources.map((f) => `${f.id}: ${f.reason}`).join('; ');
    return { state: 'FAILED', reason: `no backup succeeded (${why}${cbrReasons ? `; CBR: ${cbrReasons}` : ''}${skipped ? `; ${skipped}` : ''})` };
  }
  const notes: string[] = [`${ok} backup(s) available`];
  if (run.request.shareWith.length) notes.push(`shared with ${sharedTo} project(s)${accepted ? `, ${accepted} member(s) accepted` : ''}`);
  if (failedBackups) notes.push(`${failedBackups} backup(s) in error${cbrReasons ? ` (CBR: ${cbrReasons})` : ''}`);
  if (failedResources) notes.push(`${failedResources} resource(s) never backed up: ${run.failedResources.map((f) => f.id).join(', ')}`);
  if (failedMembers) notes.push(`${failedMembers} share(s) failed`);
  if (run.notShareable.length) notes.push(`${run.notShareable.length} backup(s) not shareable`);
  if (unaccepted.length) notes.push(`required member(s) not accepted: ${unaccepted.join('; ')}`);
  const badCopies = unfinishedCopies(run.copies);
  if (run.copies.length) {
    const byRegion = new Map<string, number>();
    for (const c of run.copies) if (c.state === 'COMPLETED') byRegion.set(c.region, (byRegion.get(c.region) ?? 0) + 1);
    notes.push(`${run.copies.length - badCopies.length} of ${run.copies.length} cross-region copies available${byRegion.size ? ` (${[...byRegion].map(([r, n]) => `${n} in ${r}`).join(', ')})` : ''}`);
  }
  if (badCopies.length) notes.push(`copies not made: ${badCopies.join('; ')}`);
  return { state: failedBackups || failedResources || failedMembers || unaccepted.length || badCopies.length ? 'PARTIAL' : 'COMPLETED', reason: notes.join('; ') };
}

export async function shareBackups(deps: PipelineDeps, message: MessageOf<'checkpoint.finished'>): Promise<StepOutcome> {
  const run = await deps.store.get(message.runId);
  if (!run) throw new RunNotFoundError(message.runId);
  if (isTerminal(run.state)) {
    await publishFinished(deps, run);
    return 'duplicate';
  }
  if (run.step !== 'share-backup') return 'ignored'; // stale message; the checker owns the run's progress
  const targets = shareTargetsOf(run.request);
  if (!targets.some((t) => t.vaultName !== undefined)) return shareRun(deps, message, run);

  // Accepting shares: one invocation of the run at a time, reading the members only once it holds the
  // claim (two copies of the message in flight would both see a member pending and both accept it).
  // A copy that finds the claim held comes back when it lapses; by then the run has usually ended.
  const claimKey = `share#${run.runId}`;
  const claim = deps.newToken();
  const { acquired, lease } = await deps.store.acquireLease(claimKey, claim, deps.clock.now(), deps.settings.checkpointClaimMs);
  if (!acquired) return requeueLater(deps, 'share', message, 'SHARE_ACCEPT_BUSY', "another invocation is accepting this run's shares", 'share-backup', lease.leaseUntil);
  try {
    const fresh = await deps.store.get(run.runId);
    if (!fresh) throw new RunNotFoundError(run.runId);
    if (isTerminal(fresh.state)) {
      await publishFinished(deps, fresh);
      return 'duplicate';
    }
    if (fresh.step !== 'share-backup') return 'ignored';
    return await shareRun(deps, message, fresh);
  } finally {
    await deps.store.releaseLease(claimKey, claim, deps.clock.now()).catch(() => undefined);
  }
}

async function shareRun(deps: PipelineDeps, message: MessageOf<'checkpoint.finished'>, run: RunRecord): Promise<StepOutcome> {
  const targets = shareTargetsOf(run.request);
  const projects = targets.map((t) => t.projectId);
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
      const r = await shareBackup(cbr, b, projects);
      results.shares.push(...r.shares);
      results.notShareable.push(...r.notShareable);
    }
  }

  await deps.crashPoint?.('share-backup:after-cbr', run.runId);
  for (const t of targets) {
    if (t.vaultName === undefined) continue;
    const busy = await acceptShares(deps, cbr, run, { ...t, vaultName: t.vaultName }, results.shares);
    if (busy) {
      const why = `the receiving vault ${t.vaultName} of project ${t.projectId} is being created by another invocation`;
      return requeueLater(deps, 'share', message, 'RECEIVING_VAULT_BUSY', why, 'share-backup', busy.busyUntil);
    }
  }
  return finish(deps, run, results, reasons);
}

async function finish(deps: PipelineDeps, run: RunRecord, results: ShareOutcome, reasons: Map<string, { code: string; message: string }>): Promise<StepOutcome> {
  const targets = shareTargetsOf(run.request);
  const now = deps.clock.now();
  annotate(results.shares, targets, now);
  const watchAt = nextShareWatch(results.shares, deps.settings);
  // The watch first: a crash before the run's record leaves a watch of a run not yet finished (the sweep waits).
  if (watchAt !== undefined) await deps.store.putShareWatch(run.runId, watchAt);
  const { run: finished } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (draft.step !== 'share-backup') return undefined;
      draft.shares = results.shares;
      draft.notShareable = results.notShareable;
      if (watchAt !== undefined) draft.shareWatchAt = watchAt;
      if (draft.request.replication.length > 0) {
        // Cross-region copies next (lib/pipeline/replicate.ts): the checker drives them and ends the run.
        const copies = planCopies(draft, now, deps.settings.replicationWindowMs);
        if (copies.length > 0) {
          draft.copies = copies;
          draft.step = 'replicate';
          draft.checks = 0;
          draft.deadlineAt = Math.max(draft.deadlineAt, now + deps.settings.replicationWindowMs + 60_000);
          scheduleAt(draft, now, deps.settings);
          const first = [...reasons.values()][0];
          if (first) draft.lastError = { code: first.code, message: first.message, step: 'check-status', at: now };
          addEvent(draft, now, 'share-backup', 'replicating', `${copies.length} cross-region cop${copies.length === 1 ? 'y' : 'ies'} to ${draft.request.replication.map((t) => t.region).join(', ')}`);
          return draft;
        }
        addEvent(draft, now, 'share-backup', 'replication-skipped', 'no available cloud server backup to replicate');
      }
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
              : unacceptedRequired(draft.shares).length
                ? { code: 'SHARE_NOT_ACCEPTED', message: unacceptedRequired(draft.shares).join('; ').slice(0, 2000), step: 'share-backup' as const, at: now }
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
