/**
 * The retention sweep (issue 14 items 3-4): sweep = planSweep(); executeSweep(plan). The preview
 * (`GET /retention/preview`, `cbr-flow retention preview`) is planSweep alone, so what it lists is what
 * the sweep then deletes.
 *
 * planSweep
 *   1. scopes: the vaults cbr-flow's runs used, learnt from the run records (created since the last
 *      read, a day of overlap) into the store, so they outlive the runs' TTL; each carries the rules of
 *      the newest run of that vault (the plan's or the run request's `retention`, with `adopt`);
 *   2. per scope with rules: ListBackups of the vault (paged); the top-level backups (a server backup's
 *      disk backups go with it) that cbr-flow created, recognisable by name (`<checkpoint name>_<run id
 *      hex>[-sN]`, lib/pipeline/common.ts checkpointName, with the checkpoint names of the vault's runs),
 *      or every backup with `adopt`; the others are foreign and never touched;
 *   3. decide(...) (./engine.ts) with the active holds (a backup hold, or a run hold: its recorded
 *      backups and every backup named after the run).
 * executeSweep, per backup to delete, at the client's rate limit (the CBR client's token bucket):
 *   intent in the ledger, DeleteBackup, result in the ledger. Idempotent: a sweep that dies after
 *   DeleteBackup leaves the intent; CBR then shows the backup `deleting` (decide keeps it, unsettled)
 *   or no longer lists it, and the next sweep completes the entry without a second DeleteBackup. A
 *   refusal (4xx other than not-found) is recorded with CBR's code and message, retried by the next
 *   sweep, and counted as persisting (metric RetentionRefusedPersisting, alarm) once refused that many
 *   sweeps in a row. One sweep at a time (a lease in the runs table).
 */
import { cbrErrorOf, hasCbrCode, type Clock, type Logger, type RetentionCbrApi, type RetentionCbrFactory, type RetentionStore, type RunStore, type CbrBackupView } from '../ports';
import { decide, type RetentionDecision, type RetentionReason, type ExpireRule, type KeepRule } from './engine';
import { scopeKeyOf, type Hold, type LedgerEntry, type RetentionScope } from './records';

const DAY_MS = 86_400_000;
const SWEEP_LEASE_KEY = 'retention-sweep';

export interface RetentionSettings {
  /** Ledger entries are kept this long (DynamoDB TTL). */
  ledgerTtlDays: number;
  /** A backup refused this many sweeps in a row counts as persisting (metric + alarm). */
  refusedAlertSweeps: number;
  /** ListBackups page size (1..1000). */
  pageSize: number;
  /** How far back the first sweep reads run records (the runs' own TTL). */
  runTtlDays: number;
  /** One sweep at a time: the lease, longer than the function's timeout. */
  leaseMs: number;
}

export const DEFAULT_RETENTION_SETTINGS: RetentionSettings = { ledgerTtlDays: 400, refusedAlertSweeps: 3, pageSize: 500, runTtlDays: 30, leaseMs: 900_000 };

/** Where a test may kill a sweep: after the ledger intent, after DeleteBackup (before its result). */
export type SweepCrashPoint = 'retention-sweep:after-intent' | 'retention-sweep:after-cbr';

export interface RetentionDeps {
  runs: Pick<RunStore, 'listRuns' | 'acquireLease' | 'releaseLease'>;
  retention: RetentionStore;
  cbr: RetentionCbrFactory;
  clock: Clock;
  log: Logger;
  settings: RetentionSettings;
  newToken: () => string;
  /** Test seam, unset in production: awaited at each crash point. */
  crashPoint?: ((point: SweepCrashPoint, backupId: string) => void | Promise<void>) | undefined;
}

export interface PlannedDelete {
  backupId: string;
  name: string | null;
  resourceId: string;
  createdAt: string | null;
  status: string | null;
  /** GB: CBR's backup_size (MB) when it reports one, else the resource's size (an upper bound). */
  sizeGb: number;
  reasons: ReadonlyArray<RetentionReason<ExpireRule>>;
}
export interface PlannedKeep {
  backupId: string;
  name: string | null;
  resourceId: string | null;
  createdAt: string | null;
  status: string | null;
  reasons: ReadonlyArray<RetentionReason<KeepRule>>;
}

export interface ScopePlan {
  scope: RetentionScope;
  deletes: PlannedDelete[];
  keeps: PlannedKeep[];
  /** Backups in the vault cbr-flow did not create (not adopted): never decided, never deleted. */
  foreign: number;
  freedGb: number;
  /** Status of every backup listed (top level), for the ledger's reconciliation. */
  listed: ReadonlyMap<string, string>;
  ledger: LedgerEntry[];
}

export interface SweepPlan {
  at: number;
  scopes: ScopePlan[];
  /** Scopes not swept and why (no rules, listing failed). */
  skipped: Array<{ key: string; plan?: string | undefined; vaultName: string; why: string }>;
}

export interface SweepResult {
  scopes: number;
  considered: number;
  kept: number;
  held: number;
  foreign: number;
  deleted: number;
  refused: number;
  refusedPersisting: number;
  /** Deletes left for the next sweep (throttled, 5xx, network: the intent stays in the ledger). */
  errors: number;
  freedGb: number;
  /** Ledger entries of an earlier sweep completed now (it died after DeleteBackup). */
  reconciled: number;
}

// ------------------------------------------------------------------------------------------ scopes

/**
 * Read the run records created since the last read (a day of overlap, the first read goes back the
 * runs' TTL) into scopes, and return every scope. Rules and plan come from the newest run of a vault;
 * checkpoint names accumulate.
 */
export async function refreshScopes(deps: Pick<RetentionDeps, 'runs' | 'retention' | 'clock' | 'settings'>): Promise<RetentionScope[]> {
  const now = deps.clock.now();
  const watermark = await deps.retention.getWatermark();
  const since = (watermark ?? now - deps.settings.runTtlDays * DAY_MS) - DAY_MS;
  const found = new Map<string, RetentionScope>();
  let cursor: string | undefined;
  do {
    const page = await deps.runs.listRuns({ limit: 200, since, ...(cursor ? { cursor } : {}) });
    for (const run of page.runs) {
      if (!run.vault) continue;
      const key = scopeKeyOf(run.request.projectId, run.request.region, run.vault.id);
      const prefix = run.request.checkpoint.name;
      const seen = found.get(key);
      const candidate: RetentionScope = {
        key,
        projectId: run.request.projectId,
        region: run.request.region,
        vaultId: run.vault.id,
        vaultName: run.vault.name,
        ...(run.source.plan ? { plan: run.source.plan } : {}),
        ...(run.request.retention ? { rules: run.request.retention } : {}),
        prefixes: [prefix],
        runId: run.runId,
        runCreatedAt: run.createdAt,
        updatedAt: now,
      };
      if (!seen) found.set(key, candidate);
      else {
        const newer = candidate.runCreatedAt > seen.runCreatedAt ? candidate : seen;
        found.set(key, { ...newer, prefixes: union(seen.prefixes, [prefix]) });
      }
    }
    cursor = page.cursor;
  } while (cursor);

  const stored = new Map((await deps.retention.listScopes()).map((s) => [s.key, s]));
  for (const candidate of found.values()) {
    const current = stored.get(candidate.key);
    const next = !current || candidate.runCreatedAt >= current.runCreatedAt ? candidate : current;
    const merged: RetentionScope = { ...next, prefixes: union(current?.prefixes ?? [], candidate.prefixes) };
    if (current && JSON.stringify(current) === JSON.stringify({ ...merged, updatedAt: current.updatedAt })) continue;
    if ((await deps.retention.putScope(merged)) === 'stored') stored.set(merged.key, merged);
  }
  await deps.retention.setWatermark(now);
  return [...stored.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function union(a: readonly string[], b: readonly string[]): string[] {
  // At most 20 checkpoint names per vault (newest last).
  return [...new Set([...a, ...b])].slice(-20);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The names cbr-flow gives its backups in this vault: `<checkpoint name>_<run id hex>[-sN]`. */
export function ownNamePattern(prefixes: readonly string[]): RegExp | undefined {
  if (prefixes.length === 0) return undefined;
  return new RegExp(`^(?:${prefixes.map(escapeRe).join('|')})_[0-9a-f]{32}(?:-s\\d+)?$`);
}

/** Backup ids the active holds of `projectId` cover among `backups`. */
export function heldBackupIds(holds: readonly Hold[], projectId: string, backups: readonly CbrBackupView[]): Set<string> {
  const held = new Set<string>();
  for (const h of holds) {
    if (h.released || h.target.projectId !== projectId) continue;
    h.backupIds.forEach((id) => held.add(id));
    if (h.target.kind === 'backup') held.add(h.target.backupId);
    else {
      const named = new RegExp(`_${h.target.runId.replace(/-/g, '').toLowerCase()}(?:-s\\d+)?$`);
      for (const b of backups) if (b.name && named.test(b.name)) held.add(b.id);
    }
  }
  return held;
}

function sizeGbOf(b: CbrBackupView): number {
  if (typeof b.backup_size === 'number' && Number.isFinite(b.backup_size)) return b.backup_size / 1024;
  return typeof b.resource_size === 'number' && Number.isFinite(b.resource_size) ? b.resource_size : 0;
}

// ------------------------------------------------------------------------------------------ plan

/** What the next sweep would do, scope by scope (optionally only the scopes of one plan). No deletion, no ledger write. */
export async function planSweep(deps: Pick<RetentionDeps, 'runs' | 'retention' | 'cbr' | 'clock' | 'settings' | 'log'>, filter: { plan?: string } = {}): Promise<SweepPlan> {
  const scopes = (await refreshScopes(deps)).filter((s) => filter.plan === undefined || s.plan === filter.plan);
  const holds = await deps.retention.listHolds();
  const at = deps.clock.now();
  const out: SweepPlan = { at, scopes: [], skipped: [] };
  for (const scope of scopes) {
    const skip = (why: string) => out.skipped.push({ key: scope.key, plan: scope.plan, vaultName: scope.vaultName, why });
    if (!scope.rules) {
      skip('no retention rules: every backup is kept');
      continue;
    }
    let cbr: RetentionCbrApi;
    const listed: CbrBackupView[] = [];
    try {
      cbr = await deps.cbr({ projectId: scope.projectId, region: scope.region });
      for await (const b of cbr.paginateBackups({ vault_id: scope.vaultId }, { pageSize: deps.settings.pageSize })) {
        if (b.parent_id) continue; // a disk backup of a server backup goes with its parent
        if (b.vault_id && b.vault_id !== scope.vaultId) continue;
        listed.push(b);
      }
    } catch (error) {
      const e = cbrErrorOf(error);
      deps.log('warn', 'retention: listing the vault failed; it is swept next time', { vaultId: scope.vaultId, projectId: scope.projectId, error: (error as Error).name, message: (error as Error).message });
      skip(`ListBackups failed: ${e?.errorCode ? `${e.errorCode} ` : ''}${(error as Error).message}`);
      continue;
    }
    const own = ownNamePattern(scope.prefixes);
    const adopt = scope.rules.adopt === true;
    const ours = listed.filter((b) => adopt || (b.name ? own?.test(b.name) === true : false));
    const byId = new Map(listed.map((b) => [b.id, b]));
    const held = heldBackupIds(holds, scope.projectId, listed);
    const decisions: RetentionDecision[] = decide(ours, scope.rules, held, at, scope.rules.timezone ?? 'UTC');
    const deletes: PlannedDelete[] = [];
    const keeps: PlannedKeep[] = [];
    for (const d of decisions) {
      const b = byId.get(d.backupId)!;
      if (d.action === 'delete') {
        deletes.push({ backupId: d.backupId, name: b.name ?? null, resourceId: d.resourceId!, createdAt: d.createdAt, status: d.status, sizeGb: sizeGbOf(b), reasons: d.reasons });
      } else {
        keeps.push({ backupId: d.backupId, name: b.name ?? null, resourceId: d.resourceId, createdAt: d.createdAt, status: d.status, reasons: d.reasons });
      }
    }
    out.scopes.push({
      scope,
      deletes,
      keeps,
      foreign: listed.length - ours.length,
      freedGb: round(deletes.reduce((sum, d) => sum + d.sizeGb, 0)),
      listed: new Map(listed.map((b) => [b.id, b.status])),
      ledger: await deps.retention.listLedger(scope.key),
    });
  }
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

// ------------------------------------------------------------------------------------------ execute

const GONE_OR_GOING = new Set(['deleting', 'waiting_delete']);

/** Carry out a plan: complete earlier intents, then delete what it lists, writing the ledger around each call. */
export async function executeSweep(deps: RetentionDeps, plan: SweepPlan): Promise<SweepResult> {
  const result: SweepResult = { scopes: plan.scopes.length, considered: 0, kept: 0, held: 0, foreign: 0, deleted: 0, refused: 0, refusedPersisting: 0, errors: 0, freedGb: 0, reconciled: 0 };
  const ttl = (now: number) => Math.ceil((now + deps.settings.ledgerTtlDays * DAY_MS) / 1000);
  for (const sp of plan.scopes) {
    const { scope } = sp;
    result.considered += sp.deletes.length + sp.keeps.length;
    result.kept += sp.keeps.length;
    result.held += sp.keeps.filter((k) => k.reasons.some((r) => r.rule === 'hold')).length;
    result.foreign += sp.foreign;
    const planned = new Set(sp.deletes.map((d) => d.backupId));
    const ledger = new Map(sp.ledger.map((e) => [e.backupId, e]));

    // An intent of an earlier sweep that died after DeleteBackup: CBR is deleting it, or it is gone.
    for (const e of sp.ledger) {
      if (e.result !== 'requested' || planned.has(e.backupId)) continue;
      const status = sp.listed.get(e.backupId);
      if (status !== undefined && !GONE_OR_GOING.has(status)) continue;
      const now = deps.clock.now();
      await deps.retention.putLedger({ ...e, result: 'deleted', reason: status === undefined ? 'no longer listed by CBR (the sweep that requested it stopped before recording the result)' : `CBR shows it ${status} (the sweep that requested it stopped before recording the result)`, updatedAt: now, expiresAt: ttl(now) });
      result.reconciled++;
    }
    if (sp.deletes.length === 0) continue;

    const cbr = await deps.cbr({ projectId: scope.projectId, region: scope.region });
    for (const d of sp.deletes) {
      const previous = ledger.get(d.backupId);
      const now = deps.clock.now();
      const intent: LedgerEntry = {
        scopeKey: scope.key,
        backupId: d.backupId,
        ...(d.name ? { backupName: d.name } : {}),
        ...(scope.plan ? { plan: scope.plan } : {}),
        projectId: scope.projectId,
        region: scope.region,
        vaultId: scope.vaultId,
        resourceId: d.resourceId,
        backupCreatedAt: d.createdAt,
        sizeGb: d.sizeGb,
        rule: d.reasons.map((r) => r.rule).join(', '),
        reasons: d.reasons.map((r) => ({ rule: r.rule, detail: r.detail })),
        requestedAt: previous?.requestedAt ?? now,
        result: 'requested',
        attempts: (previous?.attempts ?? 0) + 1,
        refusedSweeps: previous?.refusedSweeps ?? 0,
        updatedAt: now,
        expiresAt: ttl(now),
      };
      await deps.retention.putLedger(intent);
      await deps.crashPoint?.('retention-sweep:after-intent', d.backupId);
      const done = async (fields: Partial<LedgerEntry>) => {
        const at = deps.clock.now();
        const { reason: _r, requestId: _q, ...base } = intent;
        await deps.retention.putLedger({ ...base, ...fields, updatedAt: at, expiresAt: ttl(at) });
      };
      let requestId: string | undefined;
      try {
        requestId = (await cbr.deleteBackup(d.backupId)).requestId;
      } catch (error) {
        const e = cbrErrorOf(error);
        if (!e || e.retryable) {
          // Throttled, 5xx, network, or not a CBR answer: the intent stays; the next sweep tries again.
          result.errors++;
          deps.log('warn', 'retention: DeleteBackup did not complete; retried next sweep', { backupId: d.backupId, vaultId: scope.vaultId, error: (error as Error).name, message: (error as Error).message });
          continue;
        }
        if (e.notFound || hasCbrCode(error, '6200') || (await alreadyGoing(cbr, d.backupId))) {
          await done({ result: 'deleted', refusedSweeps: 0, ...(e.requestId ? { requestId: e.requestId } : {}), reason: 'already deleted or being deleted' });
          result.deleted++;
          result.freedGb += d.sizeGb;
          continue;
        }
        const refusedSweeps = (previous?.result === 'refused' ? previous.refusedSweeps : 0) + 1;
        await done({ result: 'refused', refusedSweeps, reason: `${e.errorCode ?? `HTTP ${e.httpStatus ?? '?'}`}: ${e.message}`.slice(0, 500), ...(e.requestId ? { requestId: e.requestId } : {}) });
        result.refused++;
        if (refusedSweeps >= deps.settings.refusedAlertSweeps) result.refusedPersisting++;
        deps.log(refusedSweeps >= deps.settings.refusedAlertSweeps ? 'error' : 'warn', 'retention: CBR refused to delete a backup; retried next sweep', { backupId: d.backupId, vaultId: scope.vaultId, code: e.errorCode, refusedSweeps });
        continue;
      }
      await deps.crashPoint?.('retention-sweep:after-cbr', d.backupId);
      await done({ result: 'deleted', refusedSweeps: 0, ...(requestId ? { requestId } : {}) });
      result.deleted++;
      result.freedGb += d.sizeGb;
    }
  }
  result.freedGb = round(result.freedGb);
  return result;
}

/** After a refusal: is the backup already being deleted, or gone (a DeleteBackup whose answer was lost)? */
async function alreadyGoing(cbr: RetentionCbrApi, backupId: string): Promise<boolean> {
  try {
    const { backup } = await cbr.showBackup(backupId);
    return GONE_OR_GOING.has(backup.status);
  } catch (error) {
    return cbrErrorOf(error)?.notFound === true || hasCbrCode(error, '6200');
  }
}

/** One sweep under the lease: 'busy' when another sweep holds it. */
export async function sweepRetention(deps: RetentionDeps): Promise<SweepResult | 'busy'> {
  const token = deps.newToken();
  const { acquired } = await deps.runs.acquireLease(SWEEP_LEASE_KEY, token, deps.clock.now(), deps.settings.leaseMs);
  if (!acquired) return 'busy';
  try {
    return await executeSweep(deps, await planSweep(deps));
  } finally {
    await deps.runs.releaseLease(SWEEP_LEASE_KEY, token, deps.clock.now());
  }
}

// ------------------------------------------------------------------------------------------ views

/** The preview as JSON (the API's answer, the CLI's --json). */
export function previewView(plan: SweepPlan) {
  const scopes = plan.scopes.map((sp) => ({
    plan: sp.scope.plan ?? null,
    projectId: sp.scope.projectId,
    region: sp.scope.region,
    vault: { id: sp.scope.vaultId, name: sp.scope.vaultName },
    rules: sp.scope.rules ?? null,
    delete: sp.deletes.map((d) => ({ backupId: d.backupId, name: d.name, resourceId: d.resourceId, createdAt: d.createdAt, sizeGb: round(d.sizeGb), because: d.reasons })),
    keep: sp.keeps.map((k) => ({ backupId: k.backupId, name: k.name, resourceId: k.resourceId, createdAt: k.createdAt, because: k.reasons })),
    foreign: sp.foreign,
    freedGb: sp.freedGb,
  }));
  return {
    at: new Date(plan.at).toISOString(),
    scopes,
    skipped: plan.skipped,
    totals: {
      delete: scopes.reduce((n, s) => n + s.delete.length, 0),
      keep: scopes.reduce((n, s) => n + s.keep.length, 0),
      foreign: scopes.reduce((n, s) => n + s.foreign, 0),
      freedGb: round(scopes.reduce((n, s) => n + s.freedGb, 0)),
    },
  };
}
