/**
 * add-resources: bind the run's resources to its vault, adding only those not bound yet.
 *
 * Idempotency: ShowVault first and AddVaultResource only for what is missing, so a duplicate delivery
 * or a crash after the call adds nothing twice (and makes no call at all when everything is bound).
 * A run whose resources are recorded as bound only re-publishes resources.bound. A resource bound to
 * another vault (BackupService.6103) fails the run with that reason — unless a re-read shows it is in
 * this vault after all (a concurrent duplicate bound it first; CBR then answers 7116/7006 or 6103).
 */
import { buildMessage, type MessageOf } from '../contracts';
import { cbrErrorOf, hasCbrCode, type CbrApi } from '../ports';
import { RunNotFoundError } from '../store/errors';
import { mutateRun } from '../store/mutate';
import { addEvent, isTerminal, type RunRecord } from '../store/run';
import { endRun, expireIfLate, publishFinished, SAFE_TO_REPEAT, runErrorOf, watchdog, type StepOutcome } from './common';
import type { PipelineDeps } from '../wiring/deps';
import { StepMismatchError } from './errors';

export function resourcesBoundMessage(run: RunRecord, now: number, seq: number, resourceIds: string[], attempt = 1): MessageOf<'resources.bound'> {
  return buildMessage('resources.bound', { runId: run.runId, occurredAt: now, attempt, key: seq, data: { vaultId: run.vault!.id, resourceIds, seq } });
}

async function boundIds(cbr: CbrApi, vaultId: string): Promise<Set<string>> {
  const { vault } = await cbr.showVault(vaultId);
  return new Set((vault.resources ?? []).map((r) => r.id));
}

export async function addResources(deps: PipelineDeps, message: MessageOf<'vault.ready'>): Promise<StepOutcome> {
  const run = await deps.store.get(message.runId);
  if (!run) throw new RunNotFoundError(message.runId);
  if (isTerminal(run.state)) {
    // Heal a crash between the terminal record and its announcement (run.finished has a stable id).
    await publishFinished(deps, run);
    return 'duplicate';
  }
  if (!run.vault || run.vault.id !== message.data.vaultId) {
    throw new StepMismatchError(`vault.ready names vault ${message.data.vaultId} but run ${run.runId} has ${run.vault?.id ?? 'none'}`);
  }
  const requested = run.request.resources.map((r) => r.id);
  if (run.step !== 'add-resources') {
    await deps.bus.send('checkpoint', resourcesBoundMessage(run, deps.clock.now(), 1, requested));
    return 'duplicate';
  }
  if (await expireIfLate(deps, run)) return 'expired';

  const vaultId = run.vault.id;
  const cbr = await deps.cbr({ projectId: run.request.projectId, region: run.request.region });
  const bound = await boundIds(cbr, vaultId);
  const missing = run.request.resources.filter((r) => !bound.has(r.id));
  if (missing.length > 0) {
    try {
      // Repeating is safe: if a lost answer hid a success, CBR says 7116/7006 and the re-read below sees them bound.
      const body = { resources: missing.map((r) => ({ id: r.id, type: r.type, ...(r.name ? { name: r.name } : {}) })) };
      await cbr.addVaultResource(vaultId, body, SAFE_TO_REPEAT);
    } catch (error) {
      const cbrError = cbrErrorOf(error);
      if (!cbrError || cbrError.retryable) throw error;
      // A concurrent duplicate may have bound them first (CBR then says 7116/7006, or 6103): re-read.
      const after = await boundIds(cbr, vaultId);
      const unbound = missing.filter((r) => !after.has(r.id)).map((r) => r.id);
      if (unbound.length > 0) {
        const now = deps.clock.now();
        const reason = hasCbrCode(error, '6103')
          ? `resource(s) ${unbound.join(', ')} already bound to another vault (BackupService.6103)`
          : `CBR refused to bind resources to vault ${vaultId}: ${cbrError.message}`;
        await endRun(deps, run.runId, 'FAILED', reason, runErrorOf(error, 'add-resources', now));
        return 'failed-run';
      }
    }
  }

  await deps.crashPoint?.('add-resources:after-cbr', run.runId);
  const now = deps.clock.now();
  const { run: recorded, changed } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (draft.step !== 'add-resources') return undefined;
      draft.boundResourceIds = requested;
      draft.step = 'start-checkpoint';
      watchdog(draft, now, deps.settings);
      addEvent(draft, now, 'add-resources', 'resources-bound', missing.length ? `added ${missing.length} of ${requested.length}` : 'all already bound');
      return draft;
    },
    { now, initial: run },
  );
  await deps.crashPoint?.('add-resources:after-record', run.runId);
  if (isTerminal(recorded.state)) return 'ignored';
  await deps.bus.send('checkpoint', resourcesBoundMessage(recorded, now, 1, requested));
  return changed ? 'done' : 'duplicate';
}
