/**
 * Holds (issue 14 item 2): a backup, or every backup of a run, that the retention sweep never deletes
 * until the hold is released. Each hold names who placed it, when and why; a release names who and
 * when (the hold stays in the store, released, as the record). The engine keeps a held backup whatever
 * the rules say (./engine.ts, reason `hold`); the sweep resolves which backups a hold covers
 * (./sweep.ts heldBackupIds).
 *
 * `allowed(projectId)` is the caller's scope (the API's `cbr_projects` claim; the CLI against the local
 * stack passes every project): a hold of another project is answered like one that does not exist.
 */
import * as z from 'zod';
import { CbrId, ProjectId, RunId } from '../contracts/ids';
import { parseWith } from '../contracts/parse';
import { AppError } from '../errors';
import type { Clock, RetentionStore, RunStore } from '../ports';
import type { Hold } from './records';

/** A hold, run or backup the caller may not see, or that does not exist. */
export class HoldNotFoundError extends AppError {
  override readonly name = 'HoldNotFoundError';
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export const HoldRequest = z
  .strictObject({
    backupId: CbrId.optional(),
    /** Required with backupId: the project the backup is in (the caller's scope is checked against it). */
    projectId: ProjectId.optional(),
    runId: RunId.optional(),
    reason: z.string().trim().min(1, { error: 'is required: say why the backup must be kept (e.g. a ticket or a legal hold)' }).max(500),
  })
  .superRefine((r, ctx) => {
    if ((r.backupId === undefined) === (r.runId === undefined)) {
      ctx.addIssue({ code: 'custom', path: r.backupId === undefined ? ['backupId'] : ['runId'], message: 'give exactly one of backupId (one backup) or runId (every backup of a run)' });
    }
    if (r.backupId !== undefined && r.projectId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['projectId'], message: 'is required with backupId: the project the backup is in' });
    }
  });
export type HoldRequest = z.infer<typeof HoldRequest>;

export interface HoldDeps {
  runs: Pick<RunStore, 'get'>;
  retention: RetentionStore;
  clock: Clock;
  newToken: () => string;
}

export async function placeHold(deps: HoldDeps, input: unknown, by: string, allowed: (projectId: string) => boolean): Promise<Hold> {
  const req = parseWith(HoldRequest, input, 'body');
  let hold: Hold;
  const base = { holdId: deps.newToken(), reason: req.reason, by, at: deps.clock.now() };
  if (req.runId !== undefined) {
    const run = await deps.runs.get(req.runId);
    if (!run || !allowed(run.request.projectId)) throw new HoldNotFoundError('runId', `no run ${req.runId} (or it expired, or it is another project's)`);
    const backupIds = [...new Set(run.checkpoints.flatMap((c) => c.backups.map((b) => b.id)))];
    hold = { ...base, target: { kind: 'run', runId: run.runId, projectId: run.request.projectId }, backupIds };
  } else {
    if (!allowed(req.projectId!)) throw new HoldNotFoundError('projectId', `project ${req.projectId} is not one the caller may act on`);
    hold = { ...base, target: { kind: 'backup', backupId: req.backupId!, projectId: req.projectId! }, backupIds: [req.backupId!] };
  }
  await deps.retention.createHold(hold);
  return hold;
}

export async function releaseHold(deps: HoldDeps, holdId: string, by: string, allowed: (projectId: string) => boolean, reason?: string): Promise<{ hold: Hold; released: boolean }> {
  const id = parseWith(z.string().min(1).max(64), holdId, 'id');
  const current = await deps.retention.getHold(id);
  if (!current || !allowed(current.target.projectId)) throw new HoldNotFoundError('id', `no hold ${id}`);
  const out = await deps.retention.releaseHold(id, { by, at: deps.clock.now(), ...(reason ? { reason: reason.slice(0, 500) } : {}) });
  if (out.result === 'missing') throw new HoldNotFoundError('id', `no hold ${id}`);
  return { hold: out.hold, released: out.result === 'released' };
}

export async function listHolds(deps: Pick<HoldDeps, 'retention'>, allowed: (projectId: string) => boolean, includeReleased = false): Promise<Hold[]> {
  return (await deps.retention.listHolds({ includeReleased })).filter((h) => allowed(h.target.projectId));
}

/** A hold as the API and the CLI show it. */
export function holdView(h: Hold) {
  return {
    holdId: h.holdId,
    ...(h.target.kind === 'backup' ? { backupId: h.target.backupId } : { runId: h.target.runId }),
    projectId: h.target.projectId,
    backupIds: h.backupIds,
    reason: h.reason,
    by: h.by,
    at: new Date(h.at).toISOString(),
    ...(h.released ? { released: { by: h.released.by, at: new Date(h.released.at).toISOString(), ...(h.released.reason ? { reason: h.released.reason } : {}) } } : {}),
  };
}
