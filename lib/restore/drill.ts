/**
 * Recovery drills (issue 18 item 3): a plan's `drills` fire on their own cron (EventBridge Scheduler ->
 * the `restores` function, input `{source: 'cbr-flow.drill', ...}`); a firing restores the latest
 * `available` backup of the drill's server onto its declared drill target (never anything else: the
 * restore's safety rule refuses an undeclared target, and plans are checked against DRILL_TARGETS at
 * sync). The checker follows the restore like any other (./track.ts); when CBR's operation log ends it
 * measures, on CBR's clock:
 *   RPO = the restore's start (op log started_at) - the backup's created_at  (the restored data's age)
 *   RTO = op log ended_at - started_at                                     (the restore's duration)
 * then (COMPLETED only) POSTs a signed verification webhook to `verifyUrl` that answers healthy (2xx) or
 * not (anything else after the retries), and records the outcome on the restore (`drill.result`). A drill
 * that failed, was unhealthy or missed its RPO/RTO target is counted (metric DrillsFailed -> alarm) and
 * announced to the plan's notifyUrl (signed like the run-finished notifications, lib/notify).
 * The firing's restore id is derived from (plan, drill, scheduled time): a second delivery is the same
 * restore, never a second one.
 */
import * as z from 'zod';
import { CbrId, ProjectId, Region } from '../contracts/ids';
import { parseWith } from '../contracts/parse';
import type { BackupQuery, CbrBackupView } from '../ports';
import { RestoreRefusedError } from './errors';
import { startRestore, type RestoreDeps } from './restore';
import type { DrillInfo, RestoreRecord } from './record';

const WebhookUrl = z
  .string()
  .max(2048)
  .regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'must not contain control characters (CR, LF, tab, ...)' })
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }));

/** One drill of a plan (plans/plans.yml `drills[]`). */
export const Drill = z.strictObject({
  /** Part of the schedule's name and of every restore id it derives; default `drill-<n>`. */
  name: z.string().min(1).max(24).regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'must be lowercase letters, digits and -' }).optional(),
  /** Standard 5-field cron, in `timezone` (default: the plan's). */
  cron: z.string().min(9).max(100),
  timezone: z.string().min(1).max(64).optional(),
  /** The server whose latest available backup is restored. */
  resourceId: CbrId,
  /** The server overwritten: must be a declared drill target (DRILL_TARGETS) of every stage the plan deploys to. */
  target: CbrId,
  powerOn: z.boolean().default(false),
  /** Called (signed POST) once the restore COMPLETED: 2xx = healthy, anything else = unhealthy. */
  verifyUrl: WebhookUrl.optional(),
  /** The restored backup may be at most this old when the restore starts (seconds). */
  rpoTargetSeconds: z.number().int().positive().max(366 * 86_400).optional(),
  /** The restore may take at most this long (seconds). */
  rtoTargetSeconds: z.number().int().positive().max(7 * 86_400).optional(),
});
export type Drill = z.infer<typeof Drill>;

/** What a drill's schedule delivers to the `restores` function (and a test/scenario may invoke directly). */
export const DrillFiring = z.strictObject({
  source: z.literal('cbr-flow.drill'),
  plan: z.string().min(1).max(32),
  drill: z.string().min(1).max(24),
  /** `<aws.scheduler.scheduled-time>` filled in by the Scheduler (ISO 8601). */
  scheduledTime: z.iso.datetime({ offset: true }),
  projectId: ProjectId,
  region: Region.optional(),
  resourceId: CbrId,
  target: CbrId,
  powerOn: z.boolean().default(false),
  verifyUrl: WebhookUrl.optional(),
  notifyUrl: WebhookUrl.optional(),
  rpoTargetSeconds: z.number().int().positive().optional(),
  rtoTargetSeconds: z.number().int().positive().optional(),
});
export type DrillFiring = z.infer<typeof DrillFiring>;

export const isDrillFiring = (event: unknown): boolean => typeof event === 'object' && event !== null && (event as { source?: unknown }).source === 'cbr-flow.drill';


export interface DrillCbr {
  paginateBackups(query: BackupQuery, opts?: { pageSize?: number }): AsyncIterable<CbrBackupView>;
}
/** `backups` lists the drill server's backups (the deployed restores function has it; HTTP-only callers may not). */
export type DrillDeps = RestoreDeps & { backups?: ((target: { projectId: string; region: string }) => DrillCbr | Promise<DrillCbr>) | undefined };

/** The newest `available` backup of the server (by created_at), or undefined. */
async function latestBackup(cbr: DrillCbr, resourceId: string): Promise<CbrBackupView | undefined> {
  let best: CbrBackupView | undefined;
  for await (const b of cbr.paginateBackups({ resource_id: resourceId, status: 'available' } as BackupQuery)) {
    if (b.status !== 'available' || b.resource_id !== resourceId) continue;
    if (!best || Date.parse(`${b.created_at ?? ''}`) > Date.parse(`${best.created_at ?? ''}`)) best = b;
  }
  return best;
}

/** A drill firing: the restore of the latest available backup onto the drill target (same firing -> same restore). */
export async function fireDrill(deps: DrillDeps, event: unknown): Promise<{ restore: RestoreRecord; created: boolean }> {
  const f = parseWith(DrillFiring, event, 'drill');
  const region = f.region ?? deps.settings.defaultRegion;
  if (!region) throw new RestoreRefusedError('invalid', 'region', 'NO_REGION', `drill ${f.plan}/${f.drill}: no region (and no CBR_REGION default)`);
  if (!deps.backups) throw new Error('drill firing: this deployment wires no backup listing for drills (DrillDeps.backups)');
  const cbr = await deps.backups({ projectId: f.projectId, region });
  const backup = await latestBackup(cbr, f.resourceId);
  if (!backup) {
    throw new RestoreRefusedError('not-found', 'resourceId', 'NO_BACKUP', `drill ${f.plan}/${f.drill}: server ${f.resourceId} has no available backup in project ${f.projectId} to restore`);
  }
  const drill: DrillInfo = {
    plan: f.plan,
    name: f.drill,
    scheduledTime: f.scheduledTime,
    resourceId: f.resourceId,
    ...(f.verifyUrl ? { verifyUrl: f.verifyUrl } : {}),
    ...(f.notifyUrl ? { notifyUrl: f.notifyUrl } : {}),
    ...(f.rpoTargetSeconds !== undefined ? { rpoTargetSeconds: f.rpoTargetSeconds } : {}),
    ...(f.rtoTargetSeconds !== undefined ? { rtoTargetSeconds: f.rtoTargetSeconds } : {}),
  };
  return startRestore(deps, {
    // No `confirm`: a drill only ever restores onto a declared drill target.
    request: { backupId: backup.id, projectId: f.projectId, region, target: f.target, powerOn: f.powerOn },
    idempotencyKey: `drill:${f.plan}:${f.drill}:${new Date(f.scheduledTime).toISOString()}`,
    source: { kind: 'drill' },
    requestedBy: `plan ${f.plan} drill ${f.drill}`,
    drill,
  });
}

/** What the checker needs to finish a drill: the signed webhooks and the metric (wired in lib/wiring). */
export interface DrillHooks {
  /** Signed POST to the drill's verifyUrl: healthy on 2xx, else unhealthy (with the status or the error). */
  verify(url: string, messageId: string, body: string): Promise<{ healthy: boolean; detail: string }>;
  /** Signed POST of the drill's outcome to the plan's notifyUrl; the outcome in words. */
  notify(url: string, messageId: string, body: string): Promise<string>;
  /** One EMF document per finished drill (DrillsCompleted / DrillsFailed, RPO and RTO in seconds). */
  metric(drill: { plan: string; name: string; ok: boolean; rpoSeconds?: number | undefined; rtoSeconds?: number | undefined }): void;
}

/**
 * A drill restore whose CBR operation log ended: RPO/RTO from CBR's times, the verification (COMPLETED
 * only), the targets, the metric and (not ok) the notification. Never throws: a webhook that cannot be
 * reached is an unhealthy/undelivered outcome recorded on the restore.
 */
export async function evaluateDrill(
  r: RestoreRecord,
  end: { state: 'COMPLETED' | 'FAILED'; startedAt: number | undefined; finishedAt: number; reason: string },
  hooks: DrillHooks | undefined,
): Promise<NonNullable<DrillInfo['result']>> {
  const d = r.drill!;
  const rpoSeconds = end.startedAt !== undefined && r.backupCreatedAt !== undefined ? Math.round((end.startedAt - r.backupCreatedAt) / 1000) : undefined;
  const rtoSeconds = end.startedAt !== undefined ? Math.round((end.finishedAt - end.startedAt) / 1000) : undefined;
  const problems: string[] = [];
  if (end.state !== 'COMPLETED') problems.push(`restore ${end.state}: ${end.reason}`);
  if (d.rpoTargetSeconds !== undefined && rpoSeconds !== undefined && rpoSeconds > d.rpoTargetSeconds) problems.push(`RPO ${rpoSeconds} s > target ${d.rpoTargetSeconds} s`);
  if (d.rtoTargetSeconds !== undefined && rtoSeconds !== undefined && rtoSeconds > d.rtoTargetSeconds) problems.push(`RTO ${rtoSeconds} s > target ${d.rtoTargetSeconds} s`);
  let verification: NonNullable<DrillInfo['result']>['verification'] = 'not-configured';
  let verificationDetail: string | undefined;
  if (end.state !== 'COMPLETED') verification = 'not-run';
  else if (d.verifyUrl) {
    if (!hooks) {
      verification = 'unhealthy';
      verificationDetail = 'no webhook signer configured in this deployment (WEBHOOK_KEYS_SECRET / NOTIFY_KEYS_SECRET)';
    } else {
      const body = JSON.stringify({ type: 'drill.verify', restoreId: r.restoreId, plan: d.plan, drill: d.name, projectId: r.projectId, serverId: r.targetServerId, backupId: r.backupId, restoredAt: new Date(end.finishedAt).toISOString() });
      const answer = await hooks.verify(d.verifyUrl, `drill-verify-${r.restoreId}`, body);
      verification = answer.healthy ? 'healthy' : 'unhealthy';
      verificationDetail = answer.detail;
    }
    if (verification === 'unhealthy') problems.push(`verification unhealthy (${verificationDetail})`);
  }
  const ok = problems.length === 0;
  hooks?.metric({ plan: d.plan, name: d.name, ok, rpoSeconds, rtoSeconds });
  let notified: string | undefined;
  if (!ok && d.notifyUrl && hooks) {
    const body = JSON.stringify({ type: 'drill.failed', restoreId: r.restoreId, plan: d.plan, drill: d.name, projectId: r.projectId, serverId: r.targetServerId, backupId: r.backupId, state: end.state, rpoSeconds, rtoSeconds, verification, problems });
    notified = await hooks.notify(d.notifyUrl, `drill-failed-${r.restoreId}`, body);
  }
  return {
    ok,
    ...(rpoSeconds !== undefined ? { rpoSeconds } : {}),
    ...(rtoSeconds !== undefined ? { rtoSeconds } : {}),
    verification,
    ...(verificationDetail ? { verificationDetail } : {}),
    problems,
    ...(notified ? { notified } : {}),
  };
}

/** A drill's result in one line (the restore's timeline, the scenario). */
export function drillSummary(r: NonNullable<DrillInfo['result']>): string {
  const figures = `RPO ${r.rpoSeconds ?? '?'} s, RTO ${r.rtoSeconds ?? '?'} s, verification ${r.verification}`;
  return r.ok ? `drill ok: ${figures}` : `drill FAILED: ${figures}; ${r.problems.join('; ')}${r.notified ? ` (notification: ${r.notified})` : ''}`;
}
