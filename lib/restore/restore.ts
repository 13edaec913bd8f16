/**
 * Restore one backup onto a server (issue 18 items 1 and 2): POST /restores and `cbr-flow restore`.
 *
 * 1. The request names the backup (`backupId`, with `projectId`), or a run and one of its resources
 *    (`runId` + `resourceId`: that run's available backup of it), the target server (`target`) and
 *    `powerOn` (default false: a restored server is started only when asked).
 * 2. Safety: a restore overwrites every disk of the target. A target not declared a drill target
 *    (DRILL_TARGETS) is refused unless the request carries `confirm` equal to the target's id.
 * 3. The record (PENDING) is created with a conditional put under the restore id (an Idempotency-Key
 *    gives a stable one), so a duplicate request finds it instead of starting another restore; a
 *    duplicate naming another target or backup is refused: a restore never moves to another target.
 * 4. Reads through CBR: ShowBackup (the disk backups in `children`), ShowProtectable(server) and
 *    ListProtectable(disk, server_id) (the target's disks): the mappings (./mappings.ts) are derived and
 *    checked before anything is written to CBR.
 * 5. `intent` is saved, then RestoreBackup is called once. A definite refusal (HTTP 4xx with CBR's code)
 *    ends the restore FAILED with CBR's reason and is answered as a clear error. A lost answer (timeout,
 *    5xx, network) or a crash after the call leaves the intent: the checker (./track.ts) finds CBR's
 *    `restore` operation log and follows it, or ends the restore FAILED after RESTORE_CONFIRM_GRACE
 *    without calling RestoreBackup again. So no duplicate delivery, crash or API fault makes a second
 *    restore.
 */
import * as z from 'zod';
import { newUuid, stableUuid } from '../contracts/ids';
import { parseWith } from '../contracts/parse';
import { CbrId, ProjectId, Region } from '../contracts/ids';
import { ValidationError } from '../errors';
import { cbrErrorOf, type CbrBackupDetail, type CbrRestoreFactory, type Clock, type Logger, type RestoreStore, type RunStore } from '../ports';
import { cbrTimestampMs } from '../cbr/time';
import type { PipelineSettings } from '../wiring/deps';
import { RestoreNotFoundError, RestoreRefusedError } from './errors';
import { mapDisks, type DiskBackup, type TargetDisk } from './mappings';
import { addRestoreEvent, isRestoreTerminal, RestoreRecord, type DrillInfo, type RestoreState } from './record';

export interface RestoreSettings {
  /** Servers a restore may overwrite without `confirm` (DRILL_TARGETS). */
  drillTargets: ReadonlySet<string>;
  /** A restore not finished this long after it was asked for is EXPIRED (RESTORE_WINDOW_MINUTES). */
  windowMs: number;
  /** How long the checker looks for the operation log of a RestoreBackup whose answer was lost (RESTORE_CONFIRM_GRACE_SECONDS). */
  graceMs: number;
  /** Finished restores are kept this long (DynamoDB TTL). */
  ttlDays: number;
}

export const DEFAULT_RESTORE_SETTINGS: RestoreSettings = { drillTargets: new Set(), windowMs: 6 * 3600_000, graceMs: 120_000, ttlDays: 30 };

export const RESTORE_CRASH_POINTS = ['restore:after-intent', 'restore:after-cbr'] as const;
export type RestoreCrashPoint = (typeof RESTORE_CRASH_POINTS)[number];

export interface RestoreDeps {
  store: RestoreStore & Pick<RunStore, 'get'>;
  cbr: CbrRestoreFactory;
  clock: Clock;
  newToken: () => string;
  settings: Pick<PipelineSettings, 'defaultRegion' | 'firstCheckDelayMs' | 'checkBaseDelayMs' | 'checkMaxDelayMs' | 'sweepIntervalMs' | 'estimateMaxDelayMs' | 'checkSchedule'>;
  restore: RestoreSettings;
  /** A drill's verification webhook, outcome notification and metric (./drill.ts); unset: none. */
  drillHooks?: import('./drill').DrillHooks | undefined;
  /** Test seam (crash windows); unset in production. */
  crashPoint?: ((point: RestoreCrashPoint, restoreId: string) => void | Promise<void>) | undefined;
  log?: Logger | undefined;
}

export const RestoreRequest = z
  .strictObject({
    backupId: CbrId.optional(),
    runId: CbrId.optional(),
    resourceId: CbrId.optional(),
    target: CbrId,
    powerOn: z.boolean().default(false),
    confirm: z.string().max(64).optional(),
    projectId: ProjectId.optional(),
    region: Region.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.backupId === undefined && r.runId === undefined) ctx.addIssue({ code: 'custom', path: ['backupId'], message: 'is required (or runId with resourceId): the backup to restore' });
    if (r.backupId !== undefined && r.runId !== undefined) ctx.addIssue({ code: 'custom', path: ['runId'], message: 'give either backupId or runId with resourceId, not both' });
    if (r.runId !== undefined && r.resourceId === undefined) ctx.addIssue({ code: 'custom', path: ['resourceId'], message: 'is required with runId: the resource of the run whose backup is restored' });
    if (r.backupId !== undefined && r.projectId === undefined) ctx.addIssue({ code: 'custom', path: ['projectId'], message: 'is required with backupId: the project owning the backup' });
  });
export type RestoreRequest = z.input<typeof RestoreRequest>;

export interface StartRestoreInput {
  request: unknown;
  /** An Idempotency-Key: the same key (per project) always names the same restore. */
  idempotencyKey?: string | undefined;
  source: RestoreRecord['source'];
  requestedBy?: string | undefined;
  /** Read/write scope of the caller: a project outside it is answered like an unknown one. */
  allowed?: (projectId: string) => boolean;
  /** Set by a plan's drill firing (./drill.ts): what the checker verifies and measures at the end. */
  drill?: DrillInfo | undefined;
}

export function restoreIdForKey(projectOrRun: string, key: string): string {
  return stableUuid('restore-idempotency-key', projectOrRun, key);
}

const DAY_MS = 86_400_000;

/** Read-modify-write of a restore with optimistic versions (like mutateRun); terminal ones are left alone. */
export async function mutateRestore(
  store: RestoreStore,
  restoreId: string,
  now: number,
  change: (draft: RestoreRecord) => RestoreRecord | undefined,
  initial?: RestoreRecord,
): Promise<{ restore: RestoreRecord; changed: boolean }> {
  for (let i = 0; i < 8; i++) {
    const current = i === 0 && initial ? initial : await store.getRestore(restoreId);
    if (!current) throw new RestoreNotFoundError(restoreId);
    if (isRestoreTerminal(current.state)) return { restore: current, changed: false };
    const next = change(structuredClone(current));
    if (!next) return { restore: current, changed: false };
    next.version = current.version + 1;
    next.updatedAt = now;
    const saved = await store.saveRestore(next);
    if (saved.ok) return { restore: saved.restore, changed: true };
    if (saved.reason === 'missing') throw new RestoreNotFoundError(restoreId);
  }
  throw new RestoreRefusedError('conflict', 'restoreId', 'CONFLICT', `restore ${restoreId}: still conflicting after 8 optimistic retries; try again`);
}

/** End a restore (terminal state, reason, TTL, out of the due index). */
export function finishRestore(r: RestoreRecord, state: Exclude<RestoreState, 'PENDING' | 'RUNNING'>, reason: string, now: number, s: RestoreSettings, error?: { code: string; message: string; requestId?: string | undefined }): void {
  r.state = state;
  r.reason = reason;
  r.finishedAt ??= now;
  delete r.due;
  r.expiresAt = Math.ceil((now + s.ttlDays * DAY_MS) / 1000);
  if (error) r.lastError = { code: error.code, message: error.message, ...(error.requestId ? { requestId: error.requestId } : {}), at: now };
  addRestoreEvent(r, now, state.toLowerCase(), reason);
}

export async function startRestore(deps: RestoreDeps, input: StartRestoreInput): Promise<{ restore: RestoreRecord; created: boolean }> {
  const req = parseWith(RestoreRequest, input.request);
  const now = deps.clock.now();
  const drill = deps.restore.drillTargets.has(req.target);
  if (!drill && req.confirm !== req.target) {
    throw new ValidationError(
      'confirm',
      req.confirm === undefined
        ? `a restore overwrites every disk of server ${req.target}, which is not a declared drill target (DRILL_TARGETS); to restore onto it anyway, send "confirm": "${req.target}"`
        : `must be the target server's id ${req.target} (got '${req.confirm.slice(0, 64)}'): a restore overwrites every disk of the target`,
    );
  }

  let projectId: string;
  let region: string;
  let backupId: string;
  if (req.runId !== undefined) {
    const run = await deps.store.get(req.runId);
    if (!run || (input.allowed && !input.allowed(run.request.projectId))) throw new RestoreRefusedError('not-found', 'runId', 'RUN_NOT_FOUND', `run ${req.runId} not found`);
    if (req.projectId !== undefined && req.projectId !== run.request.projectId) {
      throw new ValidationError('projectId', `run ${req.runId} belongs to project ${run.request.projectId}, not ${req.projectId}; leave projectId out with runId`);
    }
    const found = run.checkpoints
      .slice()
      .sort((a, b) => b.seq - a.seq)
      .flatMap((c) => c.backups)
      .find((b) => b.resourceId === req.resourceId && b.status === 'available');
    if (!found) {
      throw new RestoreRefusedError('invalid', 'resourceId', 'NO_BACKUP', `run ${req.runId} has no available backup of resource ${req.resourceId} (run state ${run.state}); restore a backup by its id instead`);
    }
    projectId = run.request.projectId;
    region = run.request.region;
    backupId = found.id;
  } else {
    projectId = req.projectId!;
    const r = req.region ?? deps.settings.defaultRegion;
    if (!r) throw new ValidationError('region', 'is required (this deployment has no default CBR_REGION)');
    region = r;
    backupId = req.backupId!;
    if (input.allowed && !input.allowed(projectId)) throw new RestoreRefusedError('not-found', 'projectId', 'PROJECT_NOT_ALLOWED', `project ${projectId} is not one this caller may restore in`);
  }

  const restoreId = input.idempotencyKey ? restoreIdForKey(projectId, input.idempotencyKey) : newUuid();
  const record = RestoreRecord.parse({
    restoreId,
    kind: 'restore',
    version: 1,
    state: 'PENDING',
    projectId,
    region,
    backupId,
    ...(req.runId !== undefined ? { runId: req.runId, resourceId: req.resourceId } : {}),
    targetServerId: req.target,
    powerOn: req.powerOn ?? false,
    safety: drill ? 'drill-target' : 'confirmed',
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    source: input.source,
    ...(input.drill ? { drill: input.drill } : {}),
    createdAt: now,
    updatedAt: now,
    deadlineAt: now + deps.restore.windowMs,
    // Due at once: if this request dies before RestoreBackup, the checker carries it on (no intent = never called).
    due: { at: now + Math.min(deps.restore.graceMs, deps.restore.windowMs) },
  });
  addRestoreEvent(record, now, 'requested', `backup ${backupId} onto server ${req.target} (${drill ? 'declared drill target' : 'confirmed by the caller'}), power_on ${record.powerOn}, via ${input.source.kind}${input.requestedBy ? ` by ${input.requestedBy}` : ''}`);
  const outcome = await deps.store.createRestore(record);
  let current = record;
  if (outcome === 'exists') {
    const existing = await deps.store.getRestore(restoreId);
    if (!existing) throw new ValidationError('idempotencyKey', `restore ${restoreId} exists but has expired; use another Idempotency-Key`);
    if (existing.targetServerId !== req.target || existing.backupId !== backupId) {
      throw new RestoreRefusedError(
        'conflict',
        'target',
        'IDEMPOTENCY_MISMATCH',
        `this Idempotency-Key already names restore ${restoreId} of backup ${existing.backupId} onto server ${existing.targetServerId}; a restore is never moved to another target or backup: use another key`,
      );
    }
    current = existing;
  }
  return { restore: await executeRestore(deps, current), created: outcome === 'created' };
}

/**
 * Reads the backup and the target, derives the mappings, records the intent and calls RestoreBackup
 * once. A restore that already has an intent (or is finished) is returned as it is: never called twice.
 */
export async function executeRestore(deps: RestoreDeps, r: RestoreRecord): Promise<RestoreRecord> {
  if (isRestoreTerminal(r.state) || r.intent) return r;
  const now = deps.clock.now();
  const s = deps.restore;
  const cbr = await deps.cbr({ projectId: r.projectId, region: r.region });
  const fail = async (kind: RestoreRefusedError['kind'], field: string, code: string, message: string, cause?: unknown): Promise<never> => {
    const e = cbrErrorOf(cause);
    await mutateRestore(deps.store, r.restoreId, now, (d) => {
      finishRestore(d, 'FAILED', message, now, s, { code, message, requestId: e?.requestId });
      return d;
    });
    throw new RestoreRefusedError(kind, field, code, message, { cause });
  };

  // ---- read (nothing written to CBR yet) ----
  let backup: CbrBackupDetail;
  try {
    backup = (await cbr.showBackup(r.backupId)).backup;
  } catch (error) {
    if (cbrErrorOf(error)?.notFound || cbrErrorOf(error)?.httpStatus === 404) return fail('not-found', 'backupId', 'BACKUP_NOT_FOUND', `backup ${r.backupId} does not exist in project ${r.projectId} (CBR ShowBackup 404)`, error);
    throw error;
  }
  if (backup.status !== 'available') return fail('conflict', 'backupId', 'BACKUP_NOT_AVAILABLE', `backup ${r.backupId} is '${backup.status}', not 'available': only an available backup can be restored`);
  if (backup.resource_type !== 'OS::Nova::Server') {
    return fail('invalid', 'backupId', 'NOT_A_SERVER_BACKUP', `backup ${r.backupId} is a backup of a ${backup.resource_type ?? 'unknown'} resource; cbr-flow restores cloud-server backups onto a server`);
  }
  const children = backup.children ?? [];
  if (children.length === 0) return fail('invalid', 'backupId', 'NO_DISK_BACKUPS', `backup ${r.backupId} lists no disk backups (children) to map onto the target's disks`);
  const diskBackups: DiskBackup[] = children.map((c) => ({
    id: c.id,
    name: c.resource_name ?? undefined,
    sizeGb: typeof c.resource_size === 'number' ? c.resource_size : 0,
    system: c.extend_info?.system_disk === true || c.extend_info?.bootable === true,
  }));

  let server;
  try {
    server = (await cbr.showProtectable('server', r.targetServerId)).instance;
  } catch (error) {
    if (cbrErrorOf(error)?.httpStatus === 404) return fail('not-found', 'target', 'TARGET_NOT_FOUND', `server ${r.targetServerId} does not exist in project ${r.projectId} (CBR ShowProtectable 404)`, error);
    throw error;
  }
  if ((server.status ?? '').toLowerCase() === 'deleted') return fail('conflict', 'target', 'TARGET_DELETED', `server ${r.targetServerId} has been deleted`);
  const attached = volumesAttached(server.detail);
  const disks: TargetDisk[] = (await cbr.listProtectable('disk', { server_id: r.targetServerId, limit: 50 })).instances.map((d) => {
    const detailBootable = typeof d.detail === 'object' && d.detail !== null ? String((d.detail as Record<string, unknown>).bootable) === 'true' : false;
    return { id: d.id, name: d.name ?? undefined, sizeGb: typeof d.size === 'number' ? d.size : 0, system: attached.has(d.id) ? attached.get(d.id) === '0' : detailBootable };
  });
  const mapped = mapDisks(diskBackups, disks, r.targetServerId);
  if (!mapped.ok) return fail('invalid', 'target', mapped.code, `cannot restore backup ${r.backupId} onto server ${r.targetServerId}: ${mapped.message}`);

  // ---- intent, then the one RestoreBackup ----
  const token = deps.newToken();
  const backupAt = cbrTimestampMs(backup.updated_at ?? '') ?? undefined;
  const backupCreatedAt = cbrTimestampMs(backup.created_at ?? '') ?? undefined;
  const { restore: withIntent, changed } = await mutateRestore(deps.store, r.restoreId, now, (d) => {
    if (d.intent || isRestoreTerminal(d.state)) return undefined; // another delivery got there first
    d.intent = { at: now, token };
    d.mappings = mapped.mappings;
    if (backup.name) d.backupName = backup.name;
    if (backupAt !== undefined) d.backupAt = backupAt;
    if (backupCreatedAt !== undefined) d.backupCreatedAt = backupCreatedAt;
    d.due = { at: Math.min(d.deadlineAt, now + deps.settings.firstCheckDelayMs) };
    addRestoreEvent(d, now, 'restore-called', mapped.mappings.map((m) => `${m.backupId} -> ${m.volumeId}${m.systemDisk ? ' (system disk)' : ''}`).join(', '));
    return d;
  }, r);
  if (!changed || withIntent.intent?.token !== token) return withIntent;
  await deps.crashPoint?.('restore:after-intent', r.restoreId);
  try {
    await cbr.restoreBackup(r.backupId, {
      restore: { server_id: r.targetServerId, power_on: r.powerOn, mappings: mapped.mappings.map((m) => ({ backup_id: m.backupId, volume_id: m.volumeId })) },
    });
  } catch (error) {
    const e = cbrErrorOf(error);
    const status = e?.httpStatus;
    if (e && status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 401 && status !== 403 && !e.retryable) {
      const { kind, what } = describeRefusal(e.errorCode);
      return fail(kind, kind === 'conflict' ? 'target' : 'body', e.errorCode ?? `HTTP_${status}`, `CBR refused the restore of backup ${r.backupId} onto server ${r.targetServerId}: ${what} (${e.errorCode ?? status}: ${e.message})`, error);
    }
    // Outcome unknown (lost answer, 5xx, timeout, throttled): keep the intent, let the checker find the op log.
    const { restore: after } = await mutateRestore(deps.store, r.restoreId, now, (d) => {
      d.lastError = { code: e?.errorCode ?? (status !== undefined ? `HTTP_${status}` : 'NETWORK'), message: (error as Error).message.slice(0, 512), ...(e?.requestId ? { requestId: e.requestId } : {}), at: now };
      addRestoreEvent(d, now, 'restore-answer-lost', `${(error as Error).message.slice(0, 200)}; looking for CBR's restore operation log instead of calling again`);
      return d;
    });
    deps.log?.('warn', 'restore: RestoreBackup answer lost; the checker looks for its operation log', { restoreId: r.restoreId, error: (error as Error).name });
    return after;
  }
  await deps.crashPoint?.('restore:after-cbr', r.restoreId);
  const { restore: accepted } = await mutateRestore(deps.store, r.restoreId, now, (d) => {
    if (d.acceptedAt !== undefined) return undefined;
    d.acceptedAt = now;
    addRestoreEvent(d, now, 'restore-accepted', 'RestoreBackup answered 202');
    return d;
  });
  return accepted;
}

/** CBR's restore refusals (OTC error_codes.rst), in words, and how the edge answers them. */
export function describeRefusal(code: string | undefined): { kind: RestoreRefusedError['kind']; what: string } {
  const bare = (code ?? '').replace(/^[A-Za-z]+\./, '');
  const table: Record<string, [RestoreRefusedError['kind'], string]> = {
    '2001': ['invalid', 'a disk of the target is smaller than its disk backup'],
    '2002': ['conflict', 'the target is being backed up; restore after that backup completes'],
    '2003': ['invalid', 'restoring to a different server is not allowed'],
    '2005': ['conflict', 'the backup is not in a state that allows restoration'],
    '2007': ['conflict', 'the target server is terminated'],
    '2008': ['conflict', "the target server's status does not allow restoration"],
    '2010': ['conflict', 'the target is already being restored'],
    '2011': ['conflict', "a target disk's status does not allow restoration"],
    '2013': ['invalid', 'a data-disk backup cannot be restored onto a system disk'],
    '6200': ['not-found', 'the backup does not exist'],
    '6202': ['conflict', 'the vault is not available'],
    '6302': ['not-found', 'the target does not exist'],
    '9900': ['invalid', 'CBR rejected the request parameters (mappings that do not match the backup or the target)'],
  };
  const hit = table[bare];
  return hit ? { kind: hit[0], what: hit[1] } : { kind: 'invalid', what: 'CBR refused it' };
}

/** bootIndex per disk id from the raw ECS detail of ShowProtectable(server). */
function volumesAttached(detail: unknown): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (typeof detail !== 'object' || detail === null) return out;
  const list = (detail as Record<string, unknown>)['os-extended-volumes:volumes_attached'];
  if (!Array.isArray(list)) return out;
  for (const v of list) {
    if (typeof v !== 'object' || v === null || typeof (v as { id?: unknown }).id !== 'string') continue;
    const bi = (v as { bootIndex?: unknown }).bootIndex;
    out.set((v as { id: string }).id, bi === null || bi === undefined ? undefined : String(bi));
  }
  return out;
}

