/**
 * check-status (every minute; checkStatusWindow sweeps again every CHECK_SWEEP_INTERVAL_SECONDS for the
 * runs due within CHECK_SWEEP_WINDOW_SECONDS): advance the runs that are due in the store's sparse `due` index.
 *
 * - Runs whose checkpoints are protecting are grouped by (project, region, vault) and each group costs
 *   ONE paged ListBackups (vault_id, status=available&status=error[&status=protecting with the progress
 *   schedule], start_time just before the oldest
 *   pending checkpoint), stopping early once every pending checkpoint is accounted for — not one call
 *   per run. Groups run with at most CHECK_CONCURRENCY in flight.
 * - A checkpoint whose top-level backups all reached available/error is final; when every checkpoint
 *   of a run is final and no skipped resource awaits a retry, the run moves to share-backup and
 *   checkpoint.finished is published (after the record, so a crash leaves the run due again via the
 *   watchdog rather than lost). Others are rescheduled by lib/pipeline/check-schedule.ts (CBR's progress
 *   of the backups still protecting, read from the same ListBackups, else exponential backoff), never past
 *   their deadline.
 * - Runs past their completion window become EXPIRED (run.finished published).
 * - A finished run whose run.finished was never confirmed published (`announcePending`: its announcer
 *   died between the record and the publish) is still in the due index: it is announced again (same
 *   message id) and taken out of the index.
 * - Watchdog: a run in any other step that has been due for a full step timeout lost its message (or
 *   its handler kept crashing); the step's input message is re-published (attempt + 1). Steps are
 *   idempotent, so a re-drive of a step that was merely slow is harmless.
 * Idempotency: the sweep only reads CBR; every write is an optimistic-version save, so two overlapping
 * sweeps cannot both move a run (the loser re-reads and finds nothing to do).
 */
import { buildMessage, type MessageOf } from '../contracts';
import type { BackupQuery, CbrApi, QueueName } from '../ports';
import { cbrTimestampMs } from '../cbr/time';
import { mutateRun } from '../store/mutate';
import { addEvent, isTerminal, type BackupRef, type CheckpointRecord, type RunRecord } from '../store/run';
import { resourcesBoundMessage } from './add-resources';
import { endRun, publishFinished, scheduleAt, watchdog } from './common';
import { findVaultsByName, vaultReadyMessage } from './create-vault';
import type { PipelineDeps } from '../wiring/deps';
import { forEachLimited } from './limit';
import { errorFields, jsonLogger } from '../wiring/log';
import type { Logger } from '../ports';
import { nextCheckAt } from './check-schedule';
import { runRequestedMessage } from './start-run';
import type { Message } from '../contracts';
import { backoffCeilingMs } from '../retry';
import { checkRestores, type RestoreSweepResult } from '../restore/track';
import { trackCopies } from './replicate';
import { outcomeOf } from './share-backup';

export interface SweepResult {
  due: number;
  /** Vault groups queried (one paged ListBackups each). */
  vaults: number;
  /** ListBackups pages requested in this sweep. */
  listCalls: number;
  checked: number;
  finished: number;
  rescheduled: number;
  expired: number;
  redriven: number;
  errors: number;
  /** Finished runs whose run.finished was published again (their announcer had died). */
  announced?: number;
  /** True when another sweep held the sweep lease, so this one did nothing. */
  skipped?: boolean;
  /** Sweeps made (checkStatusWindow: one invocation sweeps several times). */
  sweeps?: number;
  /** The earliest look after this sweep within its look-ahead (`until`), read or written by it, if any. */
  nextDueAt?: number;
  /** Restores looked at this sweep (lib/restore/track.ts), when the deployment tracks restores. */
  restores?: RestoreSweepResult;
  /** The share sweep after it (lib/pipeline/share-sweep.ts): watches looked at, members revoked, pending alerts. */
  shares?: { watches: number; revoked: number; alerted: number; errors: number };
}

/** The sweep lease's key in the store's lease space (vault-name leases start with a 32-hex project id). */
export const SWEEP_LEASE_KEY = 'sweep#check-status';

/**
 * One sweep at a time without reserved concurrency: a sweep first takes the sweep lease (a conditional
 * write with an expiry, the same lease the vault names use) and gives it back when done; a sweep that
 * finds it held does nothing. A sweep killed by its timeout holds it for at most `sweepLeaseMs`.
 */
export async function checkStatusExclusive(deps: PipelineDeps, log: Logger = jsonLogger, sweep: () => Promise<SweepResult> = () => checkStatus(deps, log)): Promise<SweepResult> {
  const holder = deps.newToken();
  const { acquired, lease } = await deps.store.acquireLease(SWEEP_LEASE_KEY, holder, deps.clock.now(), deps.settings.sweepLeaseMs);
  if (!acquired) {
    log('warn', 'check-status: another sweep holds the sweep lease; this one skipped', { leaseUntil: new Date(lease.leaseUntil).toISOString() });
    return { due: 0, vaults: 0, listCalls: 0, checked: 0, finished: 0, rescheduled: 0, expired: 0, redriven: 0, errors: 0, skipped: true };
  }
  try {
    return await sweep();
  } finally {
    await deps.store.releaseLease(SWEEP_LEASE_KEY, holder, deps.clock.now()).catch((error: unknown) => {
      log('error', 'check-status: releasing the sweep lease failed (it expires by itself)', errorFields(error));
    });
  }
}

/** Finished backups per checkpoint (by resource), and statuses no CBR reference lists, per checkpoint. */
class Found extends Map<string, Map<string, BackupRef>> {
  readonly unknown = new Map<string, Set<string>>();
}
const KNOWN_BACKUP_STATUSES: ReadonlySet<string> = new Set(['available', 'protecting', 'deleting', 'restoring', 'error', 'waiting_protect', 'waiting_delete', 'waiting_restore']);
/** checkpoint id -> resource id -> the progress CBR reported for its backup still protecting. */
type Progress = Map<string, Map<string, number | undefined>>;
interface Seen {
  found: Found;
  progress: Progress;
}

export function checkpointFinishedMessage(run: RunRecord, now: number, attempt = 1): MessageOf<'checkpoint.finished'> {
  const checkpoints = run.checkpoints
    .filter((c): c is CheckpointRecord & { id: string } => c.id !== undefined && c.status !== 'intent' && c.status !== 'protecting')
    .map((c) => ({ id: c.id, seq: c.seq, status: c.status as 'available' | 'error' | 'partial' | 'empty', backups: c.backups.map(({ id, resourceId, resourceType, status }) => ({ id, resourceId, resourceType, status })) }));
  return buildMessage('checkpoint.finished', { runId: run.runId, occurredAt: now, attempt, key: 'finished', data: { checkpoints } });
}

/** CBR's ListBackups time filter format: YYYY-MM-DDTHH:MM:SSZ. */
function cbrTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const START_TIME_SLACK_MS = 15 * 60_000;

async function fetchFinishedBackups(
  cbr: CbrApi,
  vaultId: string,
  pending: CheckpointRecord[],
  o: { pageSize: number; withProgress: boolean },
  counter: { pages: number },
): Promise<Seen> {
  const { pageSize } = o;
  const found = new Found();
  const progress: Progress = new Map();
  const expected = new Map<string, number>();
  for (const cp of pending) {
    found.set(cp.id!, new Map());
    progress.set(cp.id!, new Map());
    expected.set(cp.id!, cp.resourceIds.length - cp.skipped.length);
  }
  let unresolved = pending.length;
  const oldest = Math.min(...pending.map((c) => c.createdAt ?? 0));
  let seen = 0;
  // With the progress schedule the same call also lists the backups still protecting (their progress).
  const statuses: BackupQuery['status'] = o.withProgress ? ['available', 'error', 'protecting'] : ['available', 'error'];
  const query: BackupQuery = { vault_id: vaultId, status: statuses, start_time: cbrTime(oldest - START_TIME_SLACK_MS) };
  counter.pages++;
  for await (const b of cbr.paginateBackups(query, { pageSize })) {
    if (++seen % pageSize === 0) counter.pages++;
    if (b.parent_id || !b.checkpoint_id || !b.resource_id) continue;
    const byResource = found.get(b.checkpoint_id);
    if (!byResource) continue;
    if (!KNOWN_BACKUP_STATUSES.has(b.status)) {
      // A status CBR added after this was written: not finished; the run keeps being checked.
      const seen = found.unknown.get(b.checkpoint_id) ?? new Set<string>();
      found.unknown.set(b.checkpoint_id, seen.add(b.status));
      continue;
    }
    if (b.status === 'protecting') {
      const p = b.extend_info?.progress;
      progress.get(b.checkpoint_id)!.set(b.resource_id, typeof p === 'number' && Number.isFinite(p) ? p : undefined);
      continue;
    }
    if (b.status !== 'available' && b.status !== 'error') continue;
    const before = byResource.size;
    const availableAt = b.status === 'available' && b.updated_at ? cbrTimestampMs(b.updated_at) : undefined;
    byResource.set(b.resource_id, { id: b.id, resourceId: b.resource_id, resourceType: b.resource_type ?? 'unknown', status: b.status, ...(availableAt !== undefined ? { availableAt } : {}) });
    if (byResource.size > before && byResource.size === expected.get(b.checkpoint_id)) {
      if (--unresolved === 0) break;
    }
  }
  return { found, progress };
}

/** Apply what ListBackups showed to one run's draft; returns the messages to publish after saving. */
function applyProgress(draft: RunRecord, seen: Seen, deps: PipelineDeps, now: number, log: Logger): Array<[QueueName, Message]> {
  const out: Array<[QueueName, Message]> = [];
  const { found } = seen;
  for (const cp of draft.checkpoints) {
    if (cp.status !== 'protecting' || !cp.id) continue;
    for (const status of found.unknown.get(cp.id) ?? []) {
      // Once per run and status: on the timeline (GET /runs shows it) and in the log.
      const detail = `${cp.id}: a backup is in status '${status}', unknown to cbr-flow; still checking until the completion window`;
      if (draft.timeline.some((e) => e.event === 'unknown-status' && e.detail === detail)) continue;
      addEvent(draft, now, 'check-status', 'unknown-status', detail);
      log('warn', 'check-status: unknown backup status', { runId: draft.runId, checkpointId: cp.id, status });
    }
    const got = found.get(cp.id);
    if (!got) continue;
    const skipped = new Set(cp.skipped.map((s) => s.id));
    const expected = cp.resourceIds.filter((r) => !skipped.has(r));
    const backups = expected.map((r) => got.get(r)).filter((b): b is BackupRef => b !== undefined);
    if (backups.length === expected.length) {
      const ok = backups.filter((b) => b.status === 'available').length;
      cp.status = ok === backups.length ? 'available' : ok === 0 ? 'error' : 'partial';
      cp.backups = backups;
      cp.finishedAt = now;
      addEvent(draft, now, 'check-status', `checkpoint-${cp.status}`, `${cp.id}: ${ok}/${backups.length} backups available`);
    } else if (backups.length > cp.backups.length) {
      cp.backups = backups;
      addEvent(draft, now, 'check-status', 'progress', `${cp.id}: ${backups.length}/${expected.length} backups finished`);
    }
  }
  const openCheckpoint = draft.checkpoints.some((c) => c.status === 'protecting' || c.status === 'intent');
  if (!openCheckpoint && draft.pendingResources.length === 0) {
    draft.step = 'share-backup';
    watchdog(draft, now, deps.settings);
    addEvent(draft, now, 'check-status', 'checkpoints-finished');
    out.push(['share', checkpointFinishedMessage(draft, now)]);
    return out;
  }
  draft.checks += 1;
  // A skipped-resource retry or a checkpoint intent that made no progress for a step timeout: re-drive.
  if (now - (draft.progressAt ?? draft.createdAt) >= deps.settings.stepTimeoutMs) {
    const attempt = (draft.attempts.watchdog ?? 0) + 2; // the original delivery was attempt 1
    const intent = draft.checkpoints.find((c) => c.status === 'intent');
    const retry = draft.pendingResources.filter((p) => !draft.checkpoints.some((c) => c.seq === p.attempts + 1));
    if (intent) out.push(['checkpoint', resourcesBoundMessage(draft, now, intent.seq, intent.resourceIds, attempt)]);
    else if (retry.length > 0) out.push(['checkpoint', resourcesBoundMessage(draft, now, retry[0]!.attempts + 1, retry.map((p) => p.id), attempt)]);
    if (out.length > 0) {
      draft.attempts.watchdog = attempt - 1;
      addEvent(draft, now, 'check-status', 'redriven', 'start-checkpoint made no progress');
    }
  }
  scheduleAt(draft, nextLook(draft, seen, deps, now), deps.settings);
  return out;
}

/**
 * The next look at a run still in check-status: from the progress of every backup its open checkpoints
 * still wait for (lib/pipeline/check-schedule.ts), or the backoff when one of them has none.
 */
function nextLook(draft: RunRecord, seen: Seen, deps: PipelineDeps, now: number): number {
  const open = draft.checkpoints.filter((c) => c.status === 'protecting' && c.id);
  const progress: Array<number | undefined> = [];
  let createdAt = Number.POSITIVE_INFINITY;
  for (const cp of open) {
    const byResource = seen.progress.get(cp.id!);
    const done = new Set(cp.backups.map((b) => b.resourceId));
    const skipped = new Set(cp.skipped.map((s) => s.id));
    for (const r of cp.resourceIds) if (!skipped.has(r) && !done.has(r)) progress.push(byResource?.get(r));
    createdAt = Math.min(createdAt, cp.createdAt ?? Number.POSITIVE_INFINITY);
  }
  // A retry of skipped resources or a checkpoint intent still to start: the backoff, as before.
  const waitsOnOthers = draft.pendingResources.length > 0 || draft.checkpoints.some((c) => c.status === 'intent');
  const input = { now, createdAt, checks: draft.checks, progress: waitsOnOthers || !Number.isFinite(createdAt) ? [] : progress };
  return nextCheckAt(input, deps.settings).at;
}

/** The message that (re)starts the step a run is in. */
function stepInput(run: RunRecord, now: number, attempt: number): [QueueName, Message] | undefined {
  switch (run.step) {
    case 'create-vault':
      return ['vault', runRequestedMessage(run, now, attempt)];
    case 'add-resources':
      return run.vault ? ['resources', vaultReadyMessage(run, now, attempt)] : ['vault', runRequestedMessage(run, now, attempt)];
    case 'start-checkpoint':
      return ['checkpoint', resourcesBoundMessage(run, now, 1, run.request.resources.map((r) => r.id), attempt)];
    case 'share-backup':
      return ['share', checkpointFinishedMessage(run, now, attempt)];
    default:
      return undefined;
  }
}

/**
 * One sweep at the clock's now. `until` (> now): also read the runs due up to then, without handling
 * them, to report the earliest as `nextDueAt` (checkStatusWindow's next sweep).
 */
export async function checkStatus(deps: PipelineDeps, log: Logger = jsonLogger, o: { until?: number } = {}): Promise<SweepResult> {
  const now = deps.clock.now();
  const s = deps.settings;
  const until = Math.max(now, o.until ?? now);
  const result: SweepResult = { due: 0, vaults: 0, listCalls: 0, checked: 0, finished: 0, rescheduled: 0, expired: 0, redriven: 0, errors: 0, announced: 0, sweeps: 1 };
  // Through the injected (redacting) logger, never straight to the console.
  const logSweepError = (error: unknown, runIds: string): void => log('error', 'check-status: run not advanced this sweep', { runIds, ...errorFields(error) });

  const due: RunRecord[] = [];
  for (let shard = 0; shard < s.dueShards && due.length < s.maxRunsPerSweep; shard++) {
    let cursor: string | undefined;
    do {
      const page = await deps.store.listDue(shard, until, Math.min(1000, s.maxRunsPerSweep - due.length), cursor);
      for (const run of page.runs) {
        if (run.due && run.due.at > now) result.nextDueAt = Math.min(result.nextDueAt ?? Infinity, run.due.at);
        else due.push(run);
      }
      cursor = page.cursor;
    } while (cursor && due.length < s.maxRunsPerSweep);
  }
  result.due = due.length;

  const groups = new Map<string, RunRecord[]>();
  const direct: RunRecord[] = [];
  const unannounced: RunRecord[] = [];
  for (const run of due) {
    if (isTerminal(run.state)) {
      if (run.announcePending) unannounced.push(run);
      continue;
    }
    const protecting = run.step === 'check-status' && now < run.deadlineAt && run.checkpoints.some((c) => c.status === 'protecting' && c.id);
    if (!protecting) {
      direct.push(run);
      continue;
    }
    const key = `${run.request.projectId}|${run.request.region}|${run.vault!.id}`;
    const group = groups.get(key);
    if (group) group.push(run);
    else groups.set(key, [run]);
  }

  const evaluate = async (run: RunRecord, seen: Seen): Promise<void> => {
    await deps.crashPoint?.('check-status:after-cbr', run.runId);
    let publish: Array<[QueueName, Message]> = [];
    const { run: saved, changed } = await mutateRun(
      deps.store,
      run.runId,
      (draft) => {
        if (draft.step !== 'check-status' || !draft.due || draft.due.at > now) return undefined; // another sweep got it
        publish = applyProgress(draft, seen, deps, now, log);
        return draft;
      },
      { now, initial: run },
    );
    if (!changed || isTerminal(saved.state)) return;
    // A look this sweep put inside the look-ahead counts too (checkStatusWindow sweeps again for it).
    if (saved.due && saved.due.at > now && saved.due.at <= until) result.nextDueAt = Math.min(result.nextDueAt ?? Infinity, saved.due.at);
    await deps.crashPoint?.('check-status:after-record', run.runId);
    result.checked++;
    if (saved.step === 'share-backup') result.finished++;
    else result.rescheduled++;
    for (const [queue, message] of publish) {
      await deps.bus.send(queue, message);
      if (message.type === 'resources.bound') result.redriven++;
    }
  };

  const handleDirect = async (run: RunRecord): Promise<void> => {
    if (run.step === 'replicate') {
      // Each copy has its own window (EXPIRED per copy); the run ends when every copy has.
      const r = await trackCopies(deps, run, (draft) => outcomeOf(draft));
      result.checked++;
      if (r.finished) result.finished++;
      else result.rescheduled++;
      return;
    }
    if (now >= run.deadlineAt) {
      const pending = run.checkpoints.filter((c) => c.status === 'protecting').map((c) => c.id);
      const unpaid = run.step === 'await-payment' && run.order ? run.order.id : undefined;
      const what =
        unpaid !== undefined
          ? `order ${unpaid} was not paid (vault '${run.request.vault.name}' never appeared)`
          : run.step === 'check-status' && pending.length > 0
            ? `checkpoint ${pending.join(', ')} still protecting`
            : `stuck in step ${run.step}`;
      const ended = await endRun(
        deps,
        run.runId,
        'EXPIRED',
        `not finished within its completion window of ${run.request.completionWindowMinutes} minutes: ${what}`,
        unpaid !== undefined ? { code: 'ORDER_NOT_PAID', message: `order ${unpaid} was not paid`, step: 'await-payment', at: now } : undefined,
        'check-status:expire-after-record',
      );
      if (ended.state === 'EXPIRED') result.expired++;
      return;
    }
    if (run.step === 'check-status') return evaluate(run, { found: new Found(), progress: new Map() });
    if (run.step === 'await-payment') return awaitPayment(run);
    let message: [QueueName, Message] | undefined;
    const { changed } = await mutateRun(
      deps.store,
      run.runId,
      (draft) => {
        if (!draft.due || draft.due.at > now || draft.step === 'check-status' || draft.step === 'done') return undefined;
        const attempt = (draft.attempts.watchdog ?? 0) + 2; // the original delivery was attempt 1
        message = stepInput(draft, now, attempt);
        draft.attempts.watchdog = attempt - 1;
        watchdog(draft, now, s);
        addEvent(draft, now, draft.step, 'redriven', `no progress for ${Math.round(s.stepTimeoutMs / 1000)} s; re-published the step's input`);
        return draft;
      },
      { now, initial: run },
    );
    if (changed && message) {
      await deps.bus.send(message[0], message[1]);
      result.redriven++;
    }
  };

  /** A run waiting for its vault order to be paid: is the vault there now (exact name)? */
  const awaitPayment = async (run: RunRecord): Promise<void> => {
    const cbr = await deps.cbr({ projectId: run.request.projectId, region: run.request.region });
    const vault = (await findVaultsByName(cbr, run.request.vault.name))[0];
    const { run: saved, changed } = await mutateRun(
      deps.store,
      run.runId,
      (draft) => {
        if (draft.step !== 'await-payment' || draft.vault || !draft.due || draft.due.at > now) return undefined;
        if (!vault) {
          draft.checks += 1;
          scheduleAt(draft, now + backoffCeilingMs(draft.checks, { baseDelayMs: s.checkBaseDelayMs, maxDelayMs: s.checkMaxDelayMs }), s);
          return draft;
        }
        draft.vault = { id: vault.id, name: vault.name, created: true };
        draft.step = 'add-resources';
        draft.checks = 0;
        watchdog(draft, now, s);
        addEvent(draft, now, 'await-payment', 'vault-created', `order ${draft.order?.id ?? '?'} paid: vault ${vault.id}`);
        return draft;
      },
      { now, initial: run },
    );
    if (!changed || isTerminal(saved.state)) return;
    result.checked++;
    if (saved.vault) await deps.bus.send('resources', vaultReadyMessage(saved, now));
    else result.rescheduled++;
  };

  type Task = { kind: 'group'; runs: RunRecord[] } | { kind: 'direct'; run: RunRecord };
  const tasks: Task[] = [...[...groups.values()].map((runs) => ({ kind: 'group' as const, runs })), ...direct.map((run) => ({ kind: 'direct' as const, run }))];
  // From here on only `tasks` holds the due records, and each task lets go of its own once handled, so a
  // large sweep's heap shrinks as it goes instead of keeping every record until the end (bench P1).
  due.length = 0;
  groups.clear();
  direct.length = 0;
  await forEachLimited(unannounced.splice(0), s.checkConcurrency, async (run) => {
    try {
      await publishFinished(deps, run);
      result.announced!++;
      log('warn', 'check-status: re-announced a finished run', { runId: run.runId, state: run.state });
    } catch (error) {
      result.errors++; // still pending: the next sweep tries again
      logSweepError(error, run.runId);
    }
  });
  // Pipelined: a group's store writes run after its CBR slot is handed to the next vault, so the
  // ListBackups in flight stay at checkConcurrency however slow the writes are (bench P1). At most
  // checkConcurrency groups are being written at once; past that the CBR side waits (bounded memory).
  const writing = new Set<Promise<void>>();
  const writeGroup = async (runs: RunRecord[], seen: Seen): Promise<void> => {
    for (const run of runs) {
      try {
        await evaluate(run, seen);
      } catch (error) {
        result.errors++;
        logSweepError(error, run.runId);
      }
    }
  };
  await forEachLimited(tasks, s.checkConcurrency, async (task) => {
    try {
      if (task.kind === 'direct') return await handleDirect(task.run);
      const first = task.runs[0]!;
      const cbr = await deps.cbr({ projectId: first.request.projectId, region: first.request.region });
      const pending = task.runs.flatMap((r) => r.checkpoints.filter((c) => c.status === 'protecting' && c.id));
      result.vaults++;
      const counter = { pages: 0 };
      const seen = await fetchFinishedBackups(cbr, first.vault!.id, pending, { pageSize: s.backupPageSize, withProgress: s.checkSchedule === 'progress' }, counter);
      result.listCalls += counter.pages;
      while (writing.size >= s.checkConcurrency) await Promise.race(writing);
      const done: Promise<void> = writeGroup(task.runs, seen).finally(() => writing.delete(done));
      writing.add(done);
    } catch (error) {
      // CBR or the store failed for this group: its runs stay due and are tried again next sweep.
      result.errors++;
      logSweepError(error, task.kind === 'direct' ? task.run.runId : task.runs.map((r) => r.runId).join(','));
    } finally {
      if (task.kind === 'group') task.runs = [];
    }
  });
  await Promise.all(writing);
  if (deps.restores) {
    // One ListOpLogs per restore due; a failure leaves it due for the next sweep (counted in errors).
    const r = deps.restores;
    result.restores = await checkRestores({ store: r.store, cbr: r.cbr, clock: deps.clock, newToken: deps.newToken, settings: s, restore: r.settings, drillHooks: r.drillHooks, log }, log);
    result.errors += result.restores.errors;
  }
  return result;
}

/**
 * One checker invocation (edge/check-status.ts): a sweep now, then, while runs fall due within
 * `settings.sweepWindowMs` of the start, another sweep on the grid start + k·sweepIntervalMs for the
 * runs due by then (so looks due close together still share one ListBackups per vault). With the
 * minute schedule and a 50 s window a run due at any moment is looked at within one interval.
 * `sleep` waits (setTimeout in Lambda; the benchmark's manual clock advances instead);
 * `remainingMs` is the invocation's time left: no later sweep starts with less than 5 s or twice the
 * longest later sweep so far.
 */
export async function checkStatusWindow(
  deps: PipelineDeps,
  log: Logger = jsonLogger,
  o: { sleep: (ms: number) => Promise<void>; remainingMs?: () => number },
): Promise<SweepResult> {
  const s = deps.settings;
  const start = deps.clock.now();
  const end = start + s.sweepWindowMs;
  const interval = Math.max(1, s.sweepIntervalMs);
  const total = await checkStatus(deps, log, s.sweepWindowMs > 0 ? { until: end } : {});
  let longest = 0; // of the later sweeps (the first one carries the minute's bulk)
  let next = total.nextDueAt;
  delete total.nextDueAt;
  while (next !== undefined) {
    const at = start + Math.ceil((next - start) / interval) * interval;
    if (at > end) break;
    const wait = Math.max(0, at - deps.clock.now());
    if (o.remainingMs && o.remainingMs() - wait < Math.max(5_000, 2 * longest)) break;
    await o.sleep(wait);
    const t0 = performance.now();
    const r = await checkStatus(deps, log, { until: end });
    longest = Math.max(longest, performance.now() - t0);
    next = r.nextDueAt;
    for (const k of ['due', 'vaults', 'listCalls', 'checked', 'finished', 'rescheduled', 'expired', 'redriven', 'errors', 'announced', 'sweeps'] as const) {
      total[k] = (total[k] ?? 0) + (r[k] ?? 0);
    }
  }
  return total;
}
