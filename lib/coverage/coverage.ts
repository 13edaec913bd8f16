/**
 * Coverage (issue 16 item 1): for one project and region, CBR's protectable listing (ListProtectable,
 * servers and disks, 50 a page) joined with the backup plans and the run records. Each listed resource
 * gets one status, the worst that applies:
 *
 *   deleted        CBR answers it with status "deleted" (listed only with status=deleted); informational
 *   missing        a plan names it but CBR does not list it in the project (gone or never there)
 *   unprotected    in no vault (`protectable.vault` is null)
 *   stale          in a vault, but no `available` backup made by a cbr-flow run within its RPO target
 *   share-missing  fresh, but the newest backup is not shared with a project a plan of it shares with
 *                  (no member, or the member was rejected or failed; `pending`, waiting for the peer
 *                  to accept, counts as shared)
 *   protected      otherwise
 *
 * RPO target: the smallest `rpoHours` of the plans naming the resource (or selecting it now) (lib/coverage/plans.ts derives
 * it from the cron when a plan sets none); resources no plan names use `defaultRpoHours`. Backups are
 * read from the run records (no ListBackups call): a backup made outside cbr-flow (a CBR policy) is not
 * seen, which the README says. A disk attached to a listed server is covered by the server's backup and
 * is not listed on its own.
 *
 * CBR calls per project: ceil(servers / 50) + ceil(disks / 50) + 1 (deleted servers) ListProtectable
 * pages; run store reads: pages of runs created within the longest RPO (+ one day), at most MAX_RUN_PAGES.
 */
import { applySelection } from '../contracts/selection';
import type { CbrProtectableView, Clock, CbrApi, RunStore } from '../ports';
import type { RunRecord } from '../store/run';
import { listProtectables } from '../pipeline/select-resources';
import { tagsOf } from './tags';
import type { CoveragePlan } from './plans';

const RUN_PAGE = 100;
const MAX_RUN_PAGES = 50;
const HOUR = 3_600_000;

export const COVERAGE_STATUSES = ['deleted', 'missing', 'unprotected', 'stale', 'share-missing', 'protected'] as const;
export type CoverageStatus = (typeof COVERAGE_STATUSES)[number];

export interface CoverageTarget {
  projectId: string;
  region: string;
}

export interface ResourceCoverage {
  id: string;
  name: string;
  type: 'server' | 'disk';
  status: CoverageStatus;
  /** Why, in words (empty for protected). */
  reason: string;
  vault?: { id?: string; name?: string };
  tags: Record<string, string>;
  /** Plans that name it (in this project and region). */
  plans: string[];
  rpoHours: number;
  /** The newest available backup a cbr-flow run made of it (ISO), with the run. */
  lastBackupAt?: string;
  lastRunId?: string;
  /** Projects a plan shares it with that the newest backup is not shared with. */
  missingShares?: string[];
}

export interface ProjectCoverage {
  projectId: string;
  region: string;
  counts: Record<CoverageStatus, number> & { total: number };
  resources: ResourceCoverage[];
  /** CBR or the store failed for this project: its counts are unknown (the others are still answered). */
  error?: { name: string; message: string };
}

export interface CoverageDeps {
  cbr: (target: CoverageTarget) => CbrApi | Promise<CbrApi>;
  store: Pick<RunStore, 'listRuns'>;
  clock: Clock;
  plans: readonly CoveragePlan[];
  /** RPO of a resource no plan names (COVERAGE_DEFAULT_RPO_HOURS). */
  defaultRpoHours: number;
}

interface Listed {
  view: CbrProtectableView & { detail?: unknown };
  type: 'server' | 'disk';
  deleted: boolean;
}


/** Server ids a volume's EVS detail says it is attached to (`attachments[].server_id`). */
function attachedServers(detail: unknown): string[] {
  if (typeof detail !== 'object' || detail === null) return [];
  const a = (detail as { attachments?: unknown }).attachments;
  if (!Array.isArray(a)) return [];
  return a.flatMap((x) => (typeof x === 'object' && x !== null && typeof (x as { server_id?: unknown }).server_id === 'string' ? [(x as { server_id: string }).server_id] : []));
}

interface LastBackup {
  at: number;
  backupId: string;
  runId: string;
  /** Projects the backup is shared with (AddMember answered; `pending` until the peer accepts it counts). */
  sharedWith: Set<string>;
  notShareable: boolean;
}

/** The newest available backup per resource among the runs of the project created since `since`. */
async function lastBackups(store: CoverageDeps['store'], target: CoverageTarget, since: number): Promise<Map<string, LastBackup>> {
  const out = new Map<string, LastBackup>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_RUN_PAGES; page++) {
    const p = await store.listRuns({ limit: RUN_PAGE, projectIds: new Set([target.projectId]), since, ...(cursor ? { cursor } : {}) });
    for (const run of p.runs) if (run.request.region === target.region) collect(run, out);
    if (!p.cursor) break;
    cursor = p.cursor;
  }
  return out;
}

function collect(run: RunRecord, out: Map<string, LastBackup>): void {
  for (const c of run.checkpoints) {
    for (const b of c.backups) {
      if (b.status !== 'available') continue;
      const at = b.availableAt ?? c.finishedAt ?? run.finishedAt ?? run.updatedAt;
      const prev = out.get(b.resourceId);
      if (prev && prev.at >= at) continue;
      out.set(b.resourceId, {
        at,
        backupId: b.id,
        runId: run.runId,
        sharedWith: new Set(run.shares.filter((s) => s.backupId === b.id && (s.status === 'accepted' || s.status === 'pending')).map((s) => s.projectId)),
        notShareable: run.notShareable.some((n) => n.backupId === b.id),
      });
    }
  }
}

function emptyCounts(): ProjectCoverage['counts'] {
  return { total: 0, deleted: 0, missing: 0, unprotected: 0, stale: 0, 'share-missing': 0, protected: 0 };
}

/** Coverage of one project and region; a failure of CBR or the store is reported on the project. */
export async function projectCoverage(deps: CoverageDeps, target: CoverageTarget): Promise<ProjectCoverage> {
  const plans = deps.plans.filter((p) => p.projectId === target.projectId && p.region === target.region);
  try {
    const cbr = await deps.cbr(target);
    const now = deps.clock.now();
    const longest = Math.max(deps.defaultRpoHours, ...plans.map((p) => p.rpoHours));
    const [servers, disks, deletedServers, backups] = await Promise.all([
      listProtectables(cbr, 'server'),
      listProtectables(cbr, 'disk'),
      listProtectables(cbr, 'server', 'deleted'),
      lastBackups(deps.store, target, now - (longest + 24) * HOUR),
    ]);
    const serverIds = new Set(servers.map((s) => s.id));
    const listed: Listed[] = [
      ...servers.map((view) => ({ view, type: 'server' as const, deleted: false })),
      ...disks.filter((d) => !attachedServers(d.detail).some((id) => serverIds.has(id))).map((view) => ({ view, type: 'disk' as const, deleted: false })),
      ...deletedServers.filter((s) => !serverIds.has(s.id)).map((view) => ({ view, type: 'server' as const, deleted: true })),
    ];
    const resources: ResourceCoverage[] = listed.map(({ view, type, deleted }) => judge(view, type, deleted || (view.status ?? '').toLowerCase() === 'deleted', plans, backups, deps.defaultRpoHours, now));
    const seen = new Set(resources.map((r) => r.id));
    for (const plan of plans) {
      for (const id of plan.resourceIds) {
        if (seen.has(id)) continue;
        seen.add(id);
        const names = plans.filter((p) => p.resourceIds.includes(id)).map((p) => p.name);
        const naming = plans.filter((p) => p.resourceIds.includes(id));
        resources.push({ id, name: '', type: 'server', status: 'missing', reason: `plan ${names.join(', ')} names it, but CBR does not list it in project ${target.projectId} (${target.region})`, tags: {}, plans: names, rpoHours: rpoOf(naming, deps.defaultRpoHours) });
      }
    }
    const counts = emptyCounts();
    for (const r of resources) {
      counts[r.status]++;
      counts.total++;
    }
    return { ...target, counts, resources };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { ...target, counts: emptyCounts(), resources: [], error: { name: e.name, message: e.message } };
  }
}

/** The plans that back `r` up: by id, or by a selection that picks it now (same type). */
function plansCovering(plans: readonly CoveragePlan[], r: { id: string; name: string; type: 'server' | 'disk'; tags: Record<string, string> }): CoveragePlan[] {
  return plans.filter((p) => p.resourceIds.includes(r.id) || (p.select !== undefined && p.select.type === r.type && applySelection(p.select, [r]).length > 0));
}

function rpoOf(plans: readonly CoveragePlan[], fallback: number): number {
  return plans.length > 0 ? Math.min(...plans.map((p) => p.rpoHours)) : fallback;
}

function judge(
  view: CbrProtectableView & { detail?: unknown },
  type: 'server' | 'disk',
  deleted: boolean,
  allPlans: readonly CoveragePlan[],
  backups: Map<string, LastBackup>,
  defaultRpoHours: number,
  now: number,
): ResourceCoverage {
  const tags = tagsOf(view.detail);
  const plans = plansCovering(allPlans, { id: view.id, name: view.name ?? '', type, tags });
  const rpoHours = rpoOf(plans, defaultRpoHours);
  const v = view.protectable?.vault;
  const vault = v && (v.id || v.name) ? { ...(v.id ? { id: v.id } : {}), ...(v.name ? { name: v.name } : {}) } : undefined;
  const last = backups.get(view.id);
  const base: Omit<ResourceCoverage, 'status' | 'reason'> = {
    id: view.id,
    name: view.name ?? '',
    type,
    ...(vault ? { vault } : {}),
    tags,
    plans: plans.map((p) => p.name),
    rpoHours,
    ...(last ? { lastBackupAt: new Date(last.at).toISOString(), lastRunId: last.runId } : {}),
  };
  if (deleted) return { ...base, status: 'deleted', reason: 'CBR answers it as deleted' };
  if (!vault) return { ...base, status: 'unprotected', reason: 'in no vault' };
  if (!last || now - last.at > rpoHours * HOUR) {
    const age = last ? `the newest available backup is ${Math.floor((now - last.at) / HOUR)} h old` : 'no available backup by a cbr-flow run';
    return { ...base, status: 'stale', reason: `${age}; RPO target ${rpoHours} h` };
  }
  const required = [...new Set(plans.flatMap((p) => p.shareWith))];
  const missingShares = last.notShareable ? [] : required.filter((p) => !last.sharedWith.has(p));
  if (missingShares.length > 0) {
    return { ...base, status: 'share-missing', reason: `backup ${last.backupId} is not shared with ${missingShares.join(', ')}`, missingShares };
  }
  return { ...base, status: 'protected', reason: '' };
}

/** Coverage of every target, in order (each project's failure stays on it). */
export async function coverage(deps: CoverageDeps, targets: readonly CoverageTarget[]): Promise<{ generatedAt: string; projects: ProjectCoverage[] }> {
  const projects: ProjectCoverage[] = [];
  for (const t of targets) projects.push(await projectCoverage(deps, t));
  return { generatedAt: new Date(deps.clock.now()).toISOString(), projects };
}
