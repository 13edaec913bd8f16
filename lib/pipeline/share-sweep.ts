/**
 * The share sweep (issue 15): time-boxed shares end, and members left pending too long raise an alert.
 * It runs on check-status's schedule, under the checker's sweep lease, after its sweep: the same
 * minute, the same CBR wiring and credentials, one sweep at a time, so no second scheduled function,
 * role and lease for what is a due time of a finished run (README "Time-boxed shares").
 *
 * A finished run is never saved again, so a run whose members need watching has a share watch (the
 * store's own item, due at `shareWatchAt`), put by share-backup before the run ends. Each due watch:
 * - a member past its `expiresAt` is revoked (DeleteMember, owner side; an answer 404 `6705` means it is
 *   gone already, e.g. a crash after the call: it is recorded revoked, never deleted twice). An ACCEPTED
 *   member is revoked only with SHARE_EXPIRY_ACCEPTED=revoke (default); with `keep` it stays shared.
 * - a member still pending SHARE_PENDING_ALERT_HOURS after it was shared is read again (ShowMemberDetail:
 *   the receiver may have accepted it by hand); still pending, it raises SharePendingTooLong (EMF metric,
 *   SharePendingAlarm notifies the alarm topic) once, and a warn log line naming run, backup and project;
 *   a run with a notifyUrl also gets a `share.pending` message on the events queue, which
 *   notify-run-finished turns into a signed `share.pending` notification. The messages are published
 *   before the run records `alertedAt` (at least once: a crash in between publishes again at the next
 *   sweep, with the same message id and webhook-id, so receivers de-duplicate); once recorded, later
 *   sweeps send nothing.
 * The members are then recorded on the run (RunStore.recordShares, allowed on finished runs) and the
 * watch moved to the next due time or deleted. Rate limit: at most SHARE_REVOKES_PER_SWEEP DeleteMember
 * calls per sweep (plus the CBR client's own token bucket); what is left waits for the next minute.
 */
import { buildMessage } from '../contracts';
import { cbrErrorOf, hasCbrCode, type Logger } from '../ports';
import { isTerminal, type ShareRecord } from '../store/run';
import type { PipelineDeps, PipelineSettings } from '../wiring/deps';
import { errorFields } from '../wiring/log';

/** Watches read per sweep. */
const WATCHES_PER_SWEEP = 200;
/** A watch whose run is not finished yet (share-backup died between the watch and the record) is looked at again this much later. */
const NOT_FINISHED_RETRY_MS = 5 * 60_000;

export interface ShareSweepResult {
  watches: number;
  revoked: number;
  alerted: number;
  errors: number;
}

/** When the sweep must look at these members next (undefined: never again). */
export function nextShareWatch(shares: ReadonlyArray<ShareRecord>, settings: Pick<PipelineSettings, 'sharePendingAlertMs' | 'shareExpiryAccepted'>): number | undefined {
  let at: number | undefined;
  const take = (t: number) => (at = at === undefined ? t : Math.min(at, t));
  for (const s of shares) {
    if (s.status === 'revoked' || s.status === 'failed') continue;
    if (s.expiresAt !== undefined && (s.status !== 'accepted' || settings.shareExpiryAccepted === 'revoke')) take(s.expiresAt);
    if (s.status === 'pending' && s.alertedAt === undefined && s.sharedAt !== undefined) take(s.sharedAt + settings.sharePendingAlertMs);
  }
  return at;
}

export async function sweepShares(deps: PipelineDeps, log: Logger): Promise<ShareSweepResult> {
  const result: ShareSweepResult = { watches: 0, revoked: 0, alerted: 0, errors: 0 };
  const now = deps.clock.now();
  const watches = await deps.store.listShareWatches(now, WATCHES_PER_SWEEP);
  let budget = deps.settings.shareRevokesPerSweep;
  for (const watch of watches) {
    result.watches++;
    try {
      const run = await deps.store.get(watch.runId);
      if (!run) {
        await deps.store.deleteShareWatch(watch.runId);
        continue;
      }
      if (!isTerminal(run.state)) {
        await deps.store.putShareWatch(run.runId, now + NOT_FINISHED_RETRY_MS);
        continue;
      }
      const owner = await deps.cbr({ projectId: run.request.projectId, region: run.request.region });
      const shares = structuredClone(run.shares);
      let revoked = 0;
      let alerted = 0;
      const pendingTooLong: ShareRecord[] = [];
      for (const s of shares) {
        if (s.status === 'revoked' || s.status === 'failed') continue;
        const expired = s.expiresAt !== undefined && s.expiresAt <= now && (s.status !== 'accepted' || deps.settings.shareExpiryAccepted === 'revoke');
        if (expired) {
          if (budget <= 0) continue; // next minute
          budget--;
          try {
            await owner.deleteMember(s.backupId, s.projectId);
          } catch (error) {
            // 6705 (or the backup gone, 6200): nothing is shared any more, which is what revoking wants.
            if (!hasCbrCode(error, '6705', '6200') && cbrErrorOf(error)?.notFound !== true) throw error;
          }
          await deps.crashPoint?.('share-sweep:after-cbr', run.runId);
          Object.assign(s, { status: 'revoked', revokedAt: now });
          revoked++;
          continue;
        }
        if (s.status === 'pending' && s.alertedAt === undefined && s.sharedAt !== undefined && s.sharedAt + deps.settings.sharePendingAlertMs <= now) {
          const { member } = await owner.showMemberDetail(s.backupId, s.projectId);
          if (member.status === 'accepted' || member.status === 'rejected') {
            s.status = member.status;
            if (member.vault_id) s.vaultId = member.vault_id;
            continue;
          }
          s.alertedAt = now;
          alerted++;
          pendingTooLong.push(s);
          log('warn', 'share member still pending', { runId: run.runId, backupId: s.backupId, projectId: s.projectId, sharedAt: new Date(s.sharedAt).toISOString(), code: s.code });
        }
      }
      if (run.request.notifyUrl) {
        for (const s of pendingTooLong) {
          await deps.bus.send(
            'events',
            buildMessage('share.pending', {
              runId: run.runId,
              occurredAt: now,
              key: `share-pending:${s.backupId}:${s.projectId}`,
              data: { backupId: s.backupId, projectId: s.projectId, sharedAt: new Date(s.sharedAt ?? now).toISOString() },
            }),
          );
        }
      }
      const next = nextShareWatch(shares, deps.settings);
      // Budget spent with revocations left: the watch stays due (next minute).
      const due = shares.some((s) => s.status !== 'revoked' && s.status !== 'failed' && s.expiresAt !== undefined && s.expiresAt <= now && (s.status !== 'accepted' || deps.settings.shareExpiryAccepted === 'revoke')) ? now : next;
      if (revoked > 0 || alerted > 0 || due !== run.shareWatchAt) {
        const detail = [revoked ? `${revoked} member(s) revoked (lifetime ended)` : '', alerted ? `${alerted} member(s) still pending, alert raised` : ''].filter(Boolean).join('; ');
        await deps.store.recordShares(run.runId, shares, due, detail ? { at: now, step: 'done', event: 'shares', detail } : undefined);
      }
      if (due === undefined) await deps.store.deleteShareWatch(run.runId);
      else await deps.store.putShareWatch(run.runId, due);
      if (revoked > 0 || alerted > 0) deps.metrics?.shares?.({ ...run, shares }, { pendingTooLong: alerted, revoked });
      result.revoked += revoked;
      result.alerted += alerted;
    } catch (error) {
      result.errors++;
      log('error', 'share sweep: a run failed (its watch stays due)', { runId: watch.runId, ...errorFields(error) });
    }
  }
  return result;
}
