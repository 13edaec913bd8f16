/**
 * Cross-region copies (issue 15): after share-backup, a run with `replication` targets moves to step
 * `replicate` with one copy per (available server backup x target region), each PENDING; the checker
 * (check-status, step `replicate`) drives them:
 *
 *   PENDING  -> the destination's replication vault by exact name (created, pay-per-use, under the
 *               vault-name lease when missing, so never two) -> the replica looked for by its name in that
 *               vault -> none: the intent is saved on the run, then ReplicateBackup (POST
 *               /v3/{project}/backups/{id}/replicate, never repeated by the client) -> RUNNING.
 *   RUNNING  -> the replica (destination ListBackups, vault + name): `available` COMPLETED, `error` FAILED
 *               (CBR's reason from the source's `replication` op log when it has one).
 *   past the copy's window (REPLICATION_WINDOW_MINUTES) -> EXPIRED.
 *
 * When every copy has ended the run ends: COMPLETED only when every copy COMPLETED (and the shares
 * allow it), otherwise PARTIAL naming each failed or expired copy with its reason.
 *
 * Idempotency: the checker is one sweep at a time (the sweep lease). A copy whose intent is saved is
 * never replicated again before its replica (by name) and the source's replication op log (by source
 * backup and region) were looked for; CBR itself keeps one replica per destination region, and a
 * refusal of a second call keeps the copy RUNNING (looked for until its window ends), so a crash after
 * the call, a lost answer or an injected fault never makes a second copy.
 */
import { createHash } from 'node:crypto';
import { cbrErrorOf, type CbrBackupView, type CbrReplicationApi, type CbrReplicationOpLog, type CbrVaultView } from '../ports';
import { mutateRun } from '../store/mutate';
import { addEvent, isTerminal, type CopyRecord, type RunRecord } from '../store/run';
import { backoffCeilingMs } from '../retry';
import { publishFinished, scheduleAt, terminate } from './common';
import { findOrCreateVaultUnderLease, type VaultBusy } from './create-vault';
import type { PipelineDeps } from '../wiring/deps';

export const COPY_TERMINAL: ReadonlyArray<CopyRecord['state']> = ['COMPLETED', 'FAILED', 'EXPIRED'];

/** The replica's name: deterministic from run, backup and region (1..64 of [a-zA-Z0-9_-], CopyBackup `name`). */
export function replicaName(runId: string, backupId: string, region: string): string {
  return `cbrflow_rep_${createHash('sha256').update(`${runId}|${backupId}|${region}`).digest('hex').slice(0, 24)}`;
}

/** The copies a run makes once its backups are available: one per server backup and target region. */
export function planCopies(run: RunRecord, now: number, windowMs: number): CopyRecord[] {
  const backups = run.checkpoints.flatMap((c) => c.backups).filter((b) => b.status === 'available' && b.resourceType === 'OS::Nova::Server');
  return run.request.replication.flatMap((t) =>
    backups.map((b) => ({
      backupId: b.id,
      resourceId: b.resourceId,
      region: t.region,
      projectId: t.projectId ?? run.request.projectId,
      vaultName: t.vaultName,
      name: replicaName(run.runId, b.id, t.region),
      state: 'PENDING' as const,
      createdAt: now,
      deadlineAt: now + windowMs,
    })),
  );
}

/** Why each failed or expired copy did not make it (for the run's reason). */
export function unfinishedCopies(copies: CopyRecord[]): string[] {
  return copies
    .filter((c) => c.state === 'FAILED' || c.state === 'EXPIRED')
    .map((c) => `copy of backup ${c.backupId} to ${c.region} ${c.state}${c.code ? ` (${c.code}${c.message ? `: ${c.message}` : ''})` : c.message ? ` (${c.message})` : ''}`);
}

const key = (c: Pick<CopyRecord, 'backupId' | 'region'>) => `${c.backupId}|${c.region}`;
const cbrTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');


/** The destination's replication vault by exact name, else created under the vault-name lease of (project, region, name). */
function replicationVault(deps: PipelineDeps, dest: CbrReplicationApi, copy: CopyRecord, sizeGb: number): Promise<CbrVaultView | VaultBusy> {
  return findOrCreateVaultUnderLease(deps, dest, { projectId: copy.projectId, region: copy.region, what: 'replication vault' }, {
    name: copy.vaultName,
    description: 'cbr-flow replication vault (cross-region copies)',
    billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'replication', size: sizeGb, cloud_type: 'public', charging_mode: 'post_paid' },
    resources: [],
  });
}

/** The replica in the destination vault, by its exact name (top-level backups only). */
async function findReplica(dest: CbrReplicationApi, vaultId: string, name: string): Promise<CbrBackupView | undefined> {
  for await (const b of dest.paginateBackups({ vault_id: vaultId, name }, { pageSize: 100 })) {
    if (b.name === name && !b.parent_id) return b;
  }
  return undefined;
}

/** The source region's replication op log of this copy (source backup + destination region), newest first. */
async function findReplicationLog(src: CbrReplicationApi, copy: CopyRecord): Promise<CbrReplicationOpLog | undefined> {
  const since = (copy.intentAt ?? copy.createdAt) - 15 * 60_000;
  const { operation_logs } = await src.listOpLogs({ operation_type: 'replication', resource_id: copy.resourceId, start_time: cbrTime(since), limit: 100 });
  return operation_logs.find((o) => o.extra_info?.replication?.source_backup_id === copy.backupId && o.extra_info.replication.destination_region === copy.region);
}

/** What a found replica means for the copy. */
function fromReplica(replica: CbrBackupView, log: CbrReplicationOpLog | undefined, now: number): Partial<CopyRecord> {
  if (replica.status === 'available') return { state: 'COMPLETED', replicaId: replica.id, finishedAt: now };
  if (replica.status === 'error') {
    const code = log?.error_info?.code ? String(log.error_info.code) : 'REPLICA_ERROR';
    return { state: 'FAILED', replicaId: replica.id, finishedAt: now, code, message: log?.error_info?.message ?? `replica ${replica.id} ended in error` };
  }
  return { state: 'RUNNING', replicaId: replica.id };
}

type Change = Partial<CopyRecord>;

/** One look at one copy; returns what changed (undefined: nothing this sweep). */
async function stepCopy(deps: PipelineDeps, run: RunRecord, copy: CopyRecord, factory: NonNullable<PipelineDeps['replication']>['cbr'], now: number): Promise<Change | undefined> {
  if (now >= copy.deadlineAt) {
    return { state: 'EXPIRED', finishedAt: now, code: 'COPY_WINDOW_ENDED', message: `not available in ${copy.region} within the replication window of ${Math.round(deps.settings.replicationWindowMs / 60_000)} minutes (was ${copy.state})` };
  }
  let dest: CbrReplicationApi;
  try {
    dest = await factory({ projectId: copy.projectId, region: copy.region });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'CREDENTIALS_NOT_MAPPED') throw error;
    return { state: 'FAILED', finishedAt: now, code: 'NO_DESTINATION_CREDENTIALS', message: `no CBR credentials for project ${copy.projectId} in ${copy.region} (CBR_CREDENTIALS_MAP)` };
  }
  const src = await factory({ projectId: run.request.projectId, region: run.request.region });
  const failed = (error: unknown, what: string): Change => {
    const e = cbrErrorOf(error)!;
    return { state: 'FAILED', finishedAt: now, code: e.errorCode ?? `HTTP_${e.httpStatus ?? 'ERROR'}`, message: `${what}: ${e.message}` };
  };
  const nonRetryable = (error: unknown) => {
    const e = cbrErrorOf(error);
    return e !== undefined && !e.retryable;
  };

  let vaultId = copy.vaultId;
  if (vaultId === undefined) {
    const target = run.request.replication.find((t) => t.region === copy.region);
    let vault: CbrVaultView | VaultBusy;
    try {
      vault = await replicationVault(deps, dest, copy, target?.vaultSizeGb ?? 100);
    } catch (error) {
      if (nonRetryable(error)) return failed(error, `replication vault ${copy.vaultName} in ${copy.region}`);
      throw error;
    }
    if ('busyUntil' in vault) return undefined; // another invocation creates it; next sweep
    if (vault.billing?.protect_type && vault.billing.protect_type !== 'replication') {
      return { state: 'FAILED', finishedAt: now, code: 'VAULT_NOT_REPLICATION', message: `vault ${copy.vaultName} (${vault.id}) in ${copy.region} is a ${vault.billing.protect_type} vault; replicas need a replication vault: name another vault` };
    }
    vaultId = vault.id;
  }

  const replica = await findReplica(dest, vaultId, copy.name);
  if (copy.state === 'RUNNING' || copy.intentAt !== undefined) {
    if (replica) {
      const log = replica.status === 'error' ? await findReplicationLog(src, copy) : undefined;
      return { vaultId, ...fromReplica(replica, log, now), ...(copy.startedAt ? {} : { startedAt: now }) };
    }
    const log = await findReplicationLog(src, copy);
    if (log) {
      if (log.status === 'failed') {
        return { vaultId, state: 'FAILED', finishedAt: now, code: String(log.error_info?.code || 'REPLICATION_FAILED'), message: log.error_info?.message ?? 'the replication failed' };
      }
      // Called and under way (the replica not listed yet): keep looking.
      return { vaultId, state: 'RUNNING', ...(copy.startedAt ? {} : { startedAt: now }), ...(log.extra_info?.replication?.destination_backup_id ? { replicaId: log.extra_info.replication.destination_backup_id } : {}) };
    }
    if (copy.state === 'RUNNING') return vaultId === copy.vaultId ? undefined : { vaultId };
    // An intent without a replica or an op log: the call never happened (or is not visible yet; CBR then refuses a second one).
  } else if (replica) {
    return { vaultId, startedAt: now, ...fromReplica(replica, undefined, now) };
  }

  // Intent first: a crash after the call is found again by name/op log, never replicated twice.
  if (copy.intentAt === undefined) {
    await saveCopies(deps, run.runId, new Map([[key(copy), { intentAt: now, vaultId }]]), now);
    await deps.crashPoint?.('replicate:after-intent', run.runId);
  }
  const target = run.request.replication.find((t) => t.region === copy.region);
  try {
    await src.replicateBackup(copy.backupId, {
      replicate: {
        destination_project_id: copy.projectId,
        destination_region: copy.region,
        destination_vault_id: vaultId,
        name: copy.name,
        description: `cbr-flow run ${run.runId}`.slice(0, 255),
        ...(target?.enableAcceleration ? { enable_acceleration: true } : {}),
      },
    });
  } catch (error) {
    if (!nonRetryable(error)) throw error; // the intent stays: the next sweep looks before calling again
    if (copy.intentAt !== undefined) {
      // A refusal after an earlier intent may be CBR's "already replicating to that region": keep looking.
      const e = cbrErrorOf(error)!;
      return { vaultId, state: 'RUNNING', startedAt: copy.startedAt ?? now, code: e.errorCode ?? 'REFUSED', message: `ReplicateBackup refused after an earlier attempt (${e.message}); looking for the replica` };
    }
    return { vaultId, ...failed(error, 'ReplicateBackup') };
  }
  await deps.crashPoint?.('replicate:after-cbr', run.runId);
  const made = await findReplica(dest, vaultId, copy.name);
  return { vaultId, state: 'RUNNING', startedAt: now, ...(made ? fromReplica(made, undefined, now) : {}), ...(copy.intentAt === undefined ? { intentAt: now } : {}) };
}

/** Applies changes to the run's copies (optimistic save; a finished run is left alone). */
async function saveCopies(deps: PipelineDeps, runId: string, changes: Map<string, Change>, now: number): Promise<RunRecord> {
  const { run } = await mutateRun(
    deps.store,
    runId,
    (draft) => {
      if (draft.step !== 'replicate') return undefined;
      for (const c of draft.copies) {
        const ch = changes.get(key(c));
        if (!ch || COPY_TERMINAL.includes(c.state)) continue;
        if (ch.state && ch.state !== c.state) addEvent(draft, now, 'replicate', `copy-${ch.state.toLowerCase()}`, `${c.backupId} -> ${c.region}${ch.message ? `: ${ch.message}` : ''}`.slice(0, 500));
        Object.assign(c, ch);
      }
      return draft;
    },
    { now },
  );
  return run;
}

export interface CopySweepResult {
  finished: boolean;
  changed: number;
}

/**
 * The checker's look at a run in step `replicate`: each copy not yet ended one step further; then the
 * run ends (all copies ended) or is due again (backoff like the vault-order wait).
 */
export async function trackCopies(
  deps: PipelineDeps,
  run: RunRecord,
  outcome: (run: RunRecord) => { state: 'COMPLETED' | 'PARTIAL' | 'FAILED'; reason: string },
): Promise<CopySweepResult> {
  const now = deps.clock.now();
  const s = deps.settings;
  const changes = new Map<string, Change>();
  for (const copy of run.copies) {
    if (COPY_TERMINAL.includes(copy.state)) continue;
    if (!deps.replication) {
      changes.set(key(copy), { state: 'FAILED', finishedAt: now, code: 'REPLICATION_NOT_CONFIGURED', message: 'this deployment has no CBR clients for replication' });
      continue;
    }
    const ch = await stepCopy(deps, run, copy, deps.replication.cbr, now);
    if (ch) changes.set(key(copy), ch);
  }
  const { run: saved, changed } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (draft.step !== 'replicate' || !draft.due || draft.due.at > now) return undefined;
      for (const c of draft.copies) {
        const ch = changes.get(key(c));
        if (!ch || COPY_TERMINAL.includes(c.state)) continue;
        if (ch.state && ch.state !== c.state) addEvent(draft, now, 'replicate', `copy-${ch.state.toLowerCase()}`, `${c.backupId} -> ${c.region}${ch.message ? `: ${ch.message}` : ''}`.slice(0, 500));
        Object.assign(c, ch);
        if (c.state === 'COMPLETED') {
          delete c.code;
          delete c.message;
        }
      }
      if (draft.copies.every((c) => COPY_TERMINAL.includes(c.state))) {
        const { state, reason } = outcome(draft);
        const bad = unfinishedCopies(draft.copies);
        const error = bad.length ? { code: draft.copies.some((c) => c.state === 'FAILED') ? 'COPY_FAILED' : 'COPY_EXPIRED', message: bad.join('; ').slice(0, 2000), step: 'replicate' as const, at: now } : draft.lastError;
        terminate(draft, state, reason, now, s, error);
        return draft;
      }
      draft.checks += 1;
      scheduleAt(draft, now + backoffCeilingMs(draft.checks, { baseDelayMs: s.checkBaseDelayMs, maxDelayMs: s.checkMaxDelayMs }), s);
      return draft;
    },
    { now },
  );
  if (changed && isTerminal(saved.state)) await publishFinished(deps, saved);
  return { finished: changed && isTerminal(saved.state), changed: changes.size };
}
