/**
 * The freshness gate (issue 16 item 3): `POST /gates/fresh-backup` for CI/CD pipelines, e.g. before a
 * database migration. For each named resource CBR's newest `available` backup (ListBackups with
 * `resource_id`, `status=available`, `sort=created_at:desc`, one page of 10; cbr-api.md §ListBackups —
 * the newest of that page is taken, so a CBR that ignored `sort` would at worst make the gate start a
 * run it did not need). When every resource has one younger than `maxAgeMinutes`: fresh, nothing started.
 * Otherwise a run is started through start-run's own path (lib/pipeline/start-run.ts) with the vault the
 * request names (`vault`, the same shape as a run request's; required only when a run must start).
 *
 * Idempotency: the run id is derived from (project, region, sorted resource ids, time bucket of
 * `maxAgeMinutes`), so concurrent or repeated gate calls within one bucket join the run already under way
 * (start-run's conditional create) instead of starting another. A run COMPLETED within the bucket has
 * made backups younger than `maxAgeMinutes`, so the next call answers fresh. A run of the bucket that
 * ended FAILED/EXPIRED is answered again until the bucket turns (README "Freshness gate": retry it with
 * POST /runs/{id}/retry, or wait for the next bucket).
 * CBR calls: one ListBackups per resource. Never more than one run per bucket per resource set.
 */
import * as z from 'zod';
import { stableUuid } from '../contracts/ids';
import { ProjectId, Region } from '../contracts/ids';
import { parseWith } from '../contracts/parse';
import { ResourceSpec, VaultSpec } from '../contracts/run-request';
import { ValidationError } from '../errors';
import type { CbrFactory } from '../ports';
import { startRun } from '../pipeline/start-run';
import type { RunRecord } from '../store/run';
import type { IntakeDeps } from '../wiring/deps';

const MINUTE = 60_000;

export const FreshGateRequest = z
  .strictObject({
    projectId: ProjectId,
    region: Region.optional(),
    resources: z.array(ResourceSpec).min(1, { error: 'at least one resource is required' }).max(256),
    /** 1 minute .. 31 days. */
    maxAgeMinutes: z.number({ error: 'must be a whole number of minutes' }).int({ error: 'must be a whole number of minutes' }).min(1).max(31 * 24 * 60),
    /** The vault of the run the gate starts when a backup is stale (like a run request's `vault`). */
    vault: VaultSpec.optional(),
  })
  .superRefine((req, ctx) => {
    const seen = new Set<string>();
    req.resources.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['resources', i, 'id'], message: `duplicate resource id ${r.id}` });
      seen.add(r.id);
    });
    if (new Set(req.resources.map((r) => r.type)).size > 1) {
      ctx.addIssue({ code: 'custom', path: ['resources'], message: 'all resources must have one type (a run backs up servers or disks, not both): call the gate once per type' });
    }
  });
export type FreshGateRequest = z.infer<typeof FreshGateRequest>;

export interface ResourceFreshness {
  id: string;
  fresh: boolean;
  /** The newest available backup, when there is one. */
  backupId?: string;
  backupCreatedAt?: string;
  ageMinutes?: number;
}

export type FreshGateResult =
  | { fresh: true; projectId: string; region: string; maxAgeMinutes: number; resources: ResourceFreshness[] }
  | { fresh: false; projectId: string; region: string; maxAgeMinutes: number; resources: ResourceFreshness[]; runId: string; created: boolean; run: RunRecord };

export interface FreshGateDeps {
  cbr: CbrFactory;
  intake: IntakeDeps;
}

/** The run id of a gate call: one per (project, region, resource set, bucket of maxAgeMinutes). */
export function runIdForGate(projectId: string, region: string, resourceIds: readonly string[], maxAgeMinutes: number, now: number): string {
  const bucket = Math.floor(now / (maxAgeMinutes * MINUTE));
  return stableUuid('fresh-gate', projectId, region, [...resourceIds].sort().join(','), maxAgeMinutes, bucket);
}

export async function freshGate(deps: FreshGateDeps, body: unknown): Promise<FreshGateResult> {
  const req = parseWith(FreshGateRequest, body);
  const region = req.region ?? deps.intake.settings.defaultRegion;
  if (!region) throw new ValidationError('region', 'is required (this deployment has no default CBR_REGION)');
  const cbr = await deps.cbr({ projectId: req.projectId, region });
  const now = deps.intake.clock.now();
  const resources = await Promise.all(req.resources.map(async (r): Promise<ResourceFreshness> => {
    let newest: { id: string; at: number } | undefined;
    let n = 0;
    for await (const b of cbr.paginateBackups({ resource_id: r.id, status: 'available', sort: 'created_at:desc' }, { pageSize: 10 })) {
      const at = Date.parse(b.created_at ?? '');
      // Liberal: a backup of another resource (a CBR ignoring the filter) or without a time is skipped.
      if ((b.resource_id ?? r.id) === r.id && b.status === 'available' && Number.isFinite(at) && (!newest || at > newest.at)) newest = { id: b.id, at };
      if (++n >= 10) break;
    }
    if (!newest) return { id: r.id, fresh: false };
    const ageMinutes = Math.max(0, Math.floor((now - newest.at) / MINUTE));
    return { id: r.id, fresh: now - newest.at < req.maxAgeMinutes * MINUTE, backupId: newest.id, backupCreatedAt: new Date(newest.at).toISOString(), ageMinutes };
  }));
  const base = { projectId: req.projectId, region, maxAgeMinutes: req.maxAgeMinutes, resources };
  if (resources.every((r) => r.fresh)) return { fresh: true, ...base };

  const stale = resources.filter((r) => !r.fresh).map((r) => r.id);
  if (!req.vault) {
    throw new ValidationError('vault', `is required when a backup is stale (${stale.join(', ')} has no available backup younger than ${req.maxAgeMinutes} min): name the vault the run uses, e.g. { "mode": "reuse", "name": "<vault>" } (ensure-fresh --vault <name>)`);
  }
  const runId = runIdForGate(req.projectId, region, req.resources.map((r) => r.id), req.maxAgeMinutes, now);
  const started = await startRun(deps.intake, {
    request: { projectId: req.projectId, region, vault: req.vault, resources: req.resources },
    runId,
    source: { kind: 'http' },
  });
  return { fresh: false, ...base, runId: started.runId, created: started.created, run: started.run };
}
