/**
 * start-checkpoint: CreateCheckpoint for the run's resources (seq 1), or for resources CBR skipped
 * earlier because they were still being backed up (seq 2, 3, ...).
 *
 * Idempotency without a client token:
 * - The checkpoint is named from the run id and seq (`<prefix>_<run id hex>[-sN]`), and the intent
 *   (name, resources, a claim token valid CHECKPOINT_CLAIM_SECONDS) is saved before the call. Only the
 *   claim holder calls CBR; a concurrent duplicate sees a live claim and re-queues itself later.
 * - An invocation that takes over an expired claim (its predecessor crashed or timed out after the
 *   call, maybe) first looks for backups with that exact name in the vault (ListBackups name=...) and
 *   adopts their checkpoint instead of creating a second one.
 * - A definite "no" from CBR releases the claim; an ambiguous failure (timeout, 5xx) keeps it so that
 *   the retry goes through the lookup.
 * - Before CreateCheckpoint the vault's free capacity is checked against the expected backup size
 *   (vault-capacity.ts): a pay-per-use vault the request lets cbr-flow expand is expanded (UpdateVault) up
 *   to `vault.autoExpand.maxSizeGB`, otherwise the run fails fast (VAULT_CAPACITY) before any backup.
 *   The size is re-read on every attempt, so a redelivery or a takeover never expands twice.
 * - Resources in `skipped_resources` are kept on the run (pendingResources) and a delayed
 *   resources.bound (seq + 1) retries them; after SKIP_RETRY_MAX tries they are reported as failed,
 *   never dropped silently.
 */
import { buildMessage, type MessageOf } from '../contracts';
import { cbrErrorOf, hasCbrCode, type CbrApi } from '../ports';
import { RunNotFoundError } from '../store/errors';
import { mutateRun } from '../store/mutate';
import { addEvent, isTerminal, type CheckpointRecord, type RunError, type RunRecord } from '../store/run';
import { resourcesBoundMessage } from './add-resources';
import { checkpointName, endRun, expireIfLate, publishFinished, requeueLater, runErrorOf, scheduleAt, type StepOutcome } from './common';
import type { PipelineDeps } from '../wiring/deps';
import { StepMismatchError } from './errors';
import { decideCapacity } from './vault-capacity';

/** CBR codes meaning "a backup is already running here, try later" rather than "never". */
const BUSY_CODES = ['1001', '6125'];
/** Code of a run that failed because its vault is too small (README "Vault capacity"). */
export const VAULT_CAPACITY = 'VAULT_CAPACITY';

type CapacityOutcome = { ok: true } | { ok: false; reason: string; error: RunError };

/**
 * ShowVault, then expand (UpdateVault) or refuse (vault-capacity.ts). A CBR "no" on either call is a
 * failed outcome; an ambiguous failure (timeout, 5xx) is thrown so the retry goes through the claim.
 */
async function ensureCapacity(deps: PipelineDeps, cbr: CbrApi, run: RunRecord, cp: CheckpointRecord, vaultId: string): Promise<CapacityOutcome> {
  const definite = (error: unknown, what: string): CapacityOutcome => {
    const e = cbrErrorOf(error);
    if (!e || e.retryable) throw error;
    const reason = `${what} vault ${vaultId} before checkpoint ${cp.name}: ${e.message}`;
    return { ok: false, reason, error: runErrorOf(error, 'start-checkpoint', deps.clock.now()) };
  };
  let vault;
  try {
    ({ vault } = await cbr.showVault(vaultId));
  } catch (error) {
    return definite(error, 'CBR could not show');
  }
  const decision = decideCapacity(vault, cp.resourceIds, run.request.checkpoint.incremental, run.request.vault.autoExpand);
  if (decision.kind === 'ok') return { ok: true };
  if (decision.kind === 'fail') return { ok: false, reason: decision.reason, error: { code: VAULT_CAPACITY, message: decision.reason, step: 'start-checkpoint', at: deps.clock.now() } };
  try {
    await cbr.updateVault(vaultId, { vault: { billing: { size: decision.toGb } } });
  } catch (error) {
    return definite(error, `CBR refused to expand (to ${decision.toGb} GB)`);
  }
  const now = deps.clock.now();
  await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      addEvent(draft, now, 'start-checkpoint', 'vault-expanded', decision.detail);
      return draft;
    },
    { now },
  );
  return { ok: true };
}

export function checkpointStartedMessage(run: RunRecord, cp: CheckpointRecord, now: number): MessageOf<'checkpoint.started'> {
  return buildMessage('checkpoint.started', {
    runId: run.runId,
    occurredAt: cp.createdAt ?? now,
    key: cp.seq,
    data: {
      vaultId: run.vault!.id,
      checkpointId: cp.id!,
      checkpointName: cp.name,
      seq: cp.seq,
      resourceIds: cp.resourceIds,
      skipped: cp.skipped.map((s) => ({ id: s.id, reason: s.reason.slice(0, 512) })),
    },
  });
}

/** The checkpoint a previous invocation created under `name`, found through its backups. */
async function findCheckpointByName(cbr: CbrApi, vaultId: string, name: string): Promise<{ id: string; resourceIds: Set<string> } | undefined> {
  let id: string | undefined;
  const resourceIds = new Set<string>();
  for await (const b of cbr.paginateBackups({ vault_id: vaultId, name }, { pageSize: 100 })) {
    if (b.name !== name || (b.vault_id && b.vault_id !== vaultId) || !b.checkpoint_id || b.parent_id) continue;
    id ??= b.checkpoint_id;
    if (b.checkpoint_id === id && b.resource_id) resourceIds.add(b.resource_id);
  }
  return id ? { id, resourceIds } : undefined;
}

/** Publish what follows a started checkpoint: the event, and the delayed retry of skipped resources. */
async function announce(deps: PipelineDeps, run: RunRecord, seq: number, now: number): Promise<void> {
  const cp = run.checkpoints.find((c) => c.seq === seq);
  if (!cp?.id) return;
  await deps.bus.send('events', checkpointStartedMessage(run, cp, now));
  const retryIds = run.pendingResources.filter((p) => p.attempts === seq).map((p) => p.id);
  const nextExists = run.checkpoints.some((c) => c.seq === seq + 1);
  if (retryIds.length > 0 && !nextExists) {
    await deps.bus.send('checkpoint', resourcesBoundMessage(run, now, seq + 1, retryIds), { delaySeconds: deps.settings.skipRetryDelaySeconds });
  }
}

export async function startCheckpoint(deps: PipelineDeps, message: MessageOf<'resources.bound'>): Promise<StepOutcome> {
  const { seq, resourceIds, vaultId } = message.data;
  const first = await deps.store.get(message.runId);
  if (!first) throw new RunNotFoundError(message.runId);
  if (isTerminal(first.state)) {
    // Heal a crash between the terminal record and its announcement (run.finished has a stable id).
    await publishFinished(deps, first);
    return 'duplicate';
  }
  if (!first.vault || first.vault.id !== vaultId) throw new StepMismatchError(`resources.bound names vault ${vaultId} but run ${first.runId} has ${first.vault?.id ?? 'none'}`);
  const existing = first.checkpoints.find((c) => c.seq === seq);
  if (existing?.id) {
    await announce(deps, first, seq, deps.clock.now());
    return 'duplicate';
  }
  if (await expireIfLate(deps, first)) return 'expired';

  // 1. Claim the intent (or take over an expired claim).
  const token = deps.newToken();
  let takeover = false;
  let busy = false;
  let busyUntil = 0;
  const claimNow = deps.clock.now();
  const { run } = await mutateRun(
    deps.store,
    message.runId,
    (draft) => {
      busy = false;
      takeover = false;
      const cp = draft.checkpoints.find((c) => c.seq === seq);
      if (cp?.id) return undefined;
      if (cp?.claim && cp.claim.until > claimNow && cp.claim.token !== token) {
        busy = true;
        busyUntil = cp.claim.until;
        return undefined;
      }
      if (cp) {
        takeover = cp.claim !== undefined; // someone claimed before us and may have called CBR
        cp.claim = { token, until: claimNow + deps.settings.checkpointClaimMs };
      } else {
        draft.checkpoints.push({ seq, name: checkpointName(draft, seq), status: 'intent', resourceIds, claim: { token, until: claimNow + deps.settings.checkpointClaimMs }, backups: [], skipped: [] });
        if (draft.step === 'start-checkpoint') draft.state = 'RUNNING';
        addEvent(draft, claimNow, 'start-checkpoint', 'intent', `${checkpointName(draft, seq)} (${resourceIds.length} resources)`);
      }
      return draft;
    },
    { now: claimNow, initial: first },
  );
  if (isTerminal(run.state)) return 'ignored';
  const cp = run.checkpoints.find((c) => c.seq === seq)!;
  if (cp.id) {
    await announce(deps, run, seq, deps.clock.now());
    return 'duplicate';
  }
  // The claim holder (a concurrent duplicate, or an earlier delivery that failed or died after claiming)
  // either records the checkpoint or its claim lapses: check again once, then.
  if (busy) return requeueLater(deps, 'checkpoint', message, 'CHECKPOINT_CLAIM_BUSY', `checkpoint ${cp.name} is being started by another invocation`, 'start-checkpoint', busyUntil);

  await deps.crashPoint?.('start-checkpoint:after-claim', run.runId);
  const cbr = await deps.cbr({ projectId: run.request.projectId, region: run.request.region });
  let checkpointId: string | undefined;
  let skipped: Array<{ id: string; reason: string }> = [];
  let recovered = false;

  // 2. After a takeover, look for the checkpoint our predecessor may have created.
  if (takeover) {
    const found = await findCheckpointByName(cbr, vaultId, cp.name);
    if (found) {
      checkpointId = found.id;
      recovered = true;
      skipped = cp.resourceIds.filter((id) => !found.resourceIds.has(id)).map((id) => ({ id, reason: 'no backup found for it after recovery' }));
    }
  }

  // 3. Otherwise make room (or fail fast), then create it.
  if (!checkpointId) {
    const capacity = await ensureCapacity(deps, cbr, run, cp, vaultId);
    if (!capacity.ok) {
      await releaseClaim(deps, run.runId, seq, token);
      await endRun(deps, run.runId, 'FAILED', capacity.reason, capacity.error);
      return 'failed-run';
    }
    try {
      const { checkpoint } = await cbr.createCheckpoint({
        checkpoint: {
          vault_id: vaultId,
          parameters: {
            auto_trigger: false,
            name: cp.name,
            description: (run.request.checkpoint.description ?? `cbr-flow run ${run.runId}`).slice(0, 255),
            incremental: run.request.checkpoint.incremental,
            resources: cp.resourceIds,
          },
        },
      });
      checkpointId = checkpoint.id;
      skipped = (checkpoint.vault?.skipped_resources ?? [])
        .filter((s): s is typeof s & { id: string } => typeof s.id === 'string')
        .map((s) => ({ id: s.id, reason: [s.code, s.reason].filter(Boolean).join(': ') || 'skipped by CBR' }));
    } catch (error) {
      const cbrError = cbrErrorOf(error);
      if (!cbrError || cbrError.retryable) throw error; // ambiguous: keep the claim, the retry looks up first
      await releaseClaim(deps, run.runId, seq, token);
      if (hasCbrCode(error, ...BUSY_CODES)) {
        return requeueLater(deps, 'checkpoint', message, 'CHECKPOINT_BUSY', `CBR is still backing up this vault (${cbrError.errorCode})`, 'start-checkpoint');
      }
      const now = deps.clock.now();
      // 6114 although the capacity check passed: the estimate was short, or the vault filled meanwhile.
      const full = hasCbrCode(error, '6114') ? `; vault ${vaultId} is full: delete backups it no longer needs (retention), expand it, or set vault.autoExpand.maxSizeGB (pay-per-use vaults)` : '';
      await endRun(deps, run.runId, 'FAILED', `CBR refused to create checkpoint ${cp.name}: ${cbrError.message}${full}`, runErrorOf(error, 'start-checkpoint', now));
      return 'failed-run';
    }
  }

  // 4. Record it, then announce it.
  await deps.crashPoint?.('start-checkpoint:after-cbr', run.runId);
  const now = deps.clock.now();
  const id = checkpointId;
  const { run: recorded } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      const c = draft.checkpoints.find((x) => x.seq === seq);
      if (!c || c.id) return undefined;
      c.id = id;
      c.createdAt = now;
      c.skipped = skipped;
      delete c.claim;
      const skippedIds = new Set(skipped.map((s) => s.id));
      c.status = c.resourceIds.every((r) => skippedIds.has(r)) ? 'empty' : 'protecting';
      // These resources are now either in this checkpoint or skipped again.
      draft.pendingResources = draft.pendingResources.filter((p) => !c.resourceIds.includes(p.id));
      for (const s of skipped) {
        if (seq <= deps.settings.skipRetryMax) {
          draft.pendingResources.push({ id: s.id, reason: s.reason, attempts: seq, retryAt: now + deps.settings.skipRetryDelaySeconds * 1000 });
        } else {
          draft.failedResources.push({ id: s.id, reason: `skipped by CBR ${seq} times: ${s.reason}` });
        }
      }
      const wasChecking = draft.step === 'check-status';
      draft.step = 'check-status';
      draft.state = 'RUNNING';
      const firstLook = now + deps.settings.firstCheckDelayMs;
      scheduleAt(draft, wasChecking && draft.due ? Math.min(draft.due.at, firstLook) : firstLook, deps.settings);
      addEvent(draft, now, 'start-checkpoint', recovered ? 'checkpoint-recovered' : 'checkpoint-started', `${id}${skipped.length ? `, ${skipped.length} skipped` : ''}`);
      return draft;
    },
    { now, initial: run },
  );
  await deps.crashPoint?.('start-checkpoint:after-record', run.runId);
  if (isTerminal(recorded.state)) return 'ignored';
  await announce(deps, recorded, seq, now);
  return 'done';
}

async function releaseClaim(deps: PipelineDeps, runId: string, seq: number, token: string): Promise<void> {
  const now = deps.clock.now();
  await mutateRun(
    deps.store,
    runId,
    (draft) => {
      const c = draft.checkpoints.find((x) => x.seq === seq);
      if (!c || c.id || c.claim?.token !== token) return undefined;
      delete c.claim;
      return draft;
    },
    { now },
  );
}
