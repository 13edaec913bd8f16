/**
 * create-vault: find the run's vault by exact name (ListVault) or create it, never making a second
 * vault for one name, although CBR offers no client token.
 *
 * - Duplicate delivery: a run that already recorded its vault only re-publishes vault.ready.
 * - mode "create": a conditional vault-name lease in the store (key project#region#name) lets one
 *   invocation at a time run ListVault + CreateVault for that name. The holder is a random token per
 *   invocation, so even two concurrent deliveries of the same message cannot both hold it. A run that
 *   finds the lease held by a live holder re-queues itself with a delay (attempt + 1).
 * - The holder always lists by name (exact client-side match, CBR's `name` filter may be fuzzy) before
 *   creating: a holder that crashed after CreateVault, or whose lease lapsed, left a vault that the
 *   next holder finds instead of creating another. Order after the call: record on the run, mark the
 *   lease resolved (vault id), publish vault.ready.
 * - The lease (VAULT_LEASE_SECONDS) must outlive the function timeout, so a live holder's lease never
 *   lapses mid-call. mode "reuse": no lease (nothing is created); no vault by that name fails the run.
 * - Yearly/monthly (pre_paid) vaults may be orders: CreateVault then answers `orders` and no `vault`,
 *   and the vault exists once the order is paid (at once with is_auto_pay, else by the account owner).
 *   The run records the order and waits in step `await-payment`; the checker looks the vault up by
 *   exact name and resumes the run when it appears (check-status.ts, `awaitPayment`). A later delivery
 *   of run.requested does nothing then (no second order).
 */
import { buildMessage, type MessageOf } from '../contracts';
import { objectTypeOf, type RunRequest } from '../contracts/run-request';
import { cbrErrorOf, type CbrApi, type CbrVaultView, type VaultCreateBody } from '../ports';
import { RunNotFoundError } from '../store/errors';
import { mutateRun } from '../store/mutate';
import { addEvent, isTerminal, vaultLeaseKey, type RunRecord } from '../store/run';
import { endRun, expireIfLate, publishFinished, requeueLater, runErrorOf, scheduleAt, watchdog, type StepOutcome } from './common';
import { AnswerMissingFieldError, CredentialsNotMappedError } from './errors';
import { resolveSelection } from './select-resources';
import { preflight, preflightReason, type OwnVault, type PreflightResult as Checked } from './preflight';
import type { PipelineDeps } from '../wiring/deps';

/** Another invocation holds the vault-name lease: look again after `busyUntil`. */
export type VaultBusy = { busyUntil: number };

/**
 * The vault named exactly `vault.name` in (projectId, region), else created with `vault` under the
 * vault-name lease the create-vault step uses too; the name is read again once the lease is held.
 * CreateVault is not repeated by the client: a lost answer is found by name next time. Used for the
 * receiving vaults of shares and the replication vaults of cross-region copies.
 */
export async function findOrCreateVaultUnderLease(
  deps: PipelineDeps,
  cbr: Pick<CbrApi, 'listVault' | 'createVault'>,
  where: { projectId: string; region: string; what: string },
  vault: VaultCreateBody['vault'],
): Promise<CbrVaultView | VaultBusy> {
  const found = (await findVaultsByName(cbr, vault.name))[0];
  if (found) return found;
  const key = vaultLeaseKey(where.projectId, where.region, vault.name);
  const holder = deps.newToken();
  const { acquired, lease } = await deps.store.acquireLease(key, holder, deps.clock.now(), deps.settings.vaultLeaseMs);
  if (!acquired) return { busyUntil: lease.leaseUntil };
  try {
    const again = (await findVaultsByName(cbr, vault.name))[0];
    if (again) {
      await deps.store.resolveLease(key, holder, again.id, deps.clock.now());
      return again;
    }
    const created = await cbr.createVault({ vault });
    if (!created.vault) throw new Error(`CreateVault of ${where.what} ${vault.name} answered without a vault`);
    await deps.store.resolveLease(key, holder, created.vault.id, deps.clock.now());
    return created.vault;
  } catch (error) {
    await deps.store.releaseLease(key, holder, deps.clock.now()).catch(() => undefined);
    throw error;
  }
}

/** Every vault whose name is exactly `name`, oldest first (pages through ListVault). */
export async function findVaultsByName(cbr: Pick<CbrApi, 'listVault'>, name: string): Promise<CbrVaultView[]> {
  const found: CbrVaultView[] = [];
  const limit = 100;
  for (let offset = 0; ; offset += limit) {
    const page = await cbr.listVault({ name, limit, offset });
    found.push(...page.vaults.filter((v) => v.name === name));
    if (page.vaults.length < limit || (typeof page.count === 'number' && offset + limit >= page.count)) break;
  }
  return found.sort((a, b) => String(a.created_at ?? '').localeCompare(String(b.created_at ?? '')) || a.id.localeCompare(b.id));
}

type PreflightResult = Checked & { skipped?: string };

function preflightDetail(c: Checked): string {
  return `${c.checked} resource(s) checked with ${c.calls} CBR call(s)${c.inVault > 0 ? `, ${c.inVault} already in the vault` : ''}`;
}

/**
 * The pre-flight (preflight.ts) of a run about to create or use its vault. A credential not allowed to
 * read CBR's protectable listing (403) skips it, said on the run's timeline, rather than failing every
 * run of a deployment whose IAM policy predates the check.
 */
async function checkResources(cbr: CbrApi, request: RunRequest, own: OwnVault): Promise<PreflightResult> {
  try {
    return await preflight(cbr, request, own);
  } catch (error) {
    const e = cbrErrorOf(error);
    if (e?.httpStatus !== 403) throw error;
    return { problems: [], calls: 0, checked: 0, inVault: 0, skipped: `CBR refused the protectable listing (${e.errorCode ?? 'HTTP 403'}): resources not checked before the vault; allow ListProtectable/ShowProtectable for this credential` };
  }
}

export function vaultCreateBody(request: RunRequest): VaultCreateBody {
  const spec = request.vault;
  if (spec.mode !== 'create') throw new Error('vaultCreateBody needs a create spec');
  const b = spec.billing;
  return {
    vault: {
      name: spec.name,
      ...(spec.description ? { description: spec.description } : {}),
      billing: {
        consistent_level: b.consistentLevel,
        object_type: objectTypeOf(request),
        protect_type: 'backup',
        size: b.size,
        cloud_type: b.cloudType,
        charging_mode: b.chargingMode,
        ...(b.chargingMode === 'pre_paid'
          ? { period_type: b.periodType, period_num: b.periodNum, is_auto_renew: b.isAutoRenew, is_auto_pay: b.isAutoPay }
          : {}),
      },
      resources: [],
      ...(b.chargingMode === 'post_paid' && b.autoExpand !== undefined ? { auto_expand: b.autoExpand } : {}),
    },
  };
}

export function vaultReadyMessage(run: RunRecord, now: number, attempt = 1): MessageOf<'vault.ready'> {
  const vault = run.vault!;
  return buildMessage('vault.ready', { runId: run.runId, occurredAt: now, attempt, key: vault.id, data: { vaultId: vault.id, vaultName: vault.name, created: vault.created } });
}

export async function createVault(deps: PipelineDeps, message: MessageOf<'run.requested'>): Promise<StepOutcome> {
  let run = await deps.store.get(message.runId);
  if (!run) throw new RunNotFoundError(message.runId);
  if (isTerminal(run.state)) {
    // Heal a crash between the terminal record and its announcement (run.finished has a stable id).
    await publishFinished(deps, run);
    return 'duplicate';
  }
  if (run.vault) {
    await deps.bus.send('resources', vaultReadyMessage(run, deps.clock.now()));
    return 'duplicate';
  }
  if (run.order) return 'duplicate'; // awaiting payment: the checker resumes the run
  if (await expireIfLate(deps, run)) return 'expired';

  const { projectId, region, vault: spec } = run.request;
  let cbr: CbrApi;
  try {
    cbr = await deps.cbr({ projectId, region });
  } catch (error) {
    if (!(error instanceof CredentialsNotMappedError)) throw error;
    await endRun(deps, run.runId, 'FAILED', error.message, { code: error.code, message: error.message, step: 'create-vault', at: deps.clock.now() });
    return 'failed-run';
  }
  if (run.request.select) {
    // Resources selected rather than listed: resolved now, before the pre-flight (select-resources.ts).
    const resolved = await resolveSelection(deps, cbr, run);
    if (!resolved) return 'failed-run';
    if (isTerminal(resolved.state)) return 'ignored';
    run = resolved;
  }
  const wanted = objectTypeOf(run.request);

  let vault: CbrVaultView | undefined;
  let created = false;
  let holder: string | undefined;
  const leaseKey = vaultLeaseKey(projectId, region, spec.name);
  if (spec.mode === 'create') {
    holder = `${run.runId}:${deps.newToken()}`;
    const { acquired, lease } = await deps.store.acquireLease(leaseKey, holder, deps.clock.now(), deps.settings.vaultLeaseMs);
    if (!acquired) {
      const other = lease.holder?.split(':')[0] ?? 'another run';
      // Held by this very run: an earlier delivery failed or died holding it; wait for it to lapse.
      const untilMs = other === run.runId ? lease.leaseUntil : undefined;
      return await requeueLater(deps, 'vault', message, 'VAULT_LEASE_BUSY', `vault name '${spec.name}' is being created by run ${other}`, 'create-vault', untilMs);
    }
  }
  let checked: PreflightResult | undefined;
  try {
    vault = (await findVaultsByName(cbr, spec.name))[0];
    if (vault || spec.mode === 'create') checked = await checkResources(cbr, run.request, { id: vault?.id, name: spec.name, resourceIds: vault?.resources?.map((r) => r.id) });
  } catch (error) {
    // Nothing was created yet: let the next delivery take the lease at once.
    if (holder) await deps.store.releaseLease(leaseKey, holder, deps.clock.now());
    throw error;
  }
  if (!vault && spec.mode === 'reuse') {
    const now = deps.clock.now();
    await endRun(deps, run.runId, 'FAILED', `no vault named '${spec.name}' in project ${projectId} (${region})`, {
      code: 'VAULT_NOT_FOUND', message: `no vault named '${spec.name}'`, step: 'create-vault', at: now,
    });
    return 'failed-run';
  }
  if (checked && checked.problems.length > 0) {
    // Before anything billable: no vault is created for a run that cannot succeed.
    if (holder) await deps.store.releaseLease(leaseKey, holder, deps.clock.now());
    const now = deps.clock.now();
    const reason = preflightReason(checked.problems);
    await endRun(deps, run.runId, 'FAILED', reason, { code: 'PREFLIGHT_FAILED', message: reason, step: 'create-vault', at: now, details: checked.problems });
    return 'failed-run';
  }
  if (!vault) {
    try {
      const answer = await cbr.createVault(vaultCreateBody(run.request));
      if (!answer.vault) {
        const orderId = answer.orders?.find((o) => o.orderId)?.orderId;
        if (!orderId) throw new AnswerMissingFieldError('CreateVault', 'vault', 'neither a vault nor an order id (orders[].orderId)');
        return await awaitPayment(deps, run, orderId);
      }
      vault = answer.vault;
      created = true;
    } catch (error) {
      const cbrError = cbrErrorOf(error);
      // Ambiguous (an answer we cannot read, or one that may have created the vault): keep the lease.
      if (!cbrError || cbrError.retryable || cbrError.errorCode === 'CBR_ANSWER_MISSING_FIELD') throw error; // ambiguous: keep the lease; the next holder lists first
      await deps.store.releaseLease(leaseKey, holder!, deps.clock.now());
      const now = deps.clock.now();
      await endRun(deps, run.runId, 'FAILED', `CBR refused to create vault '${spec.name}': ${cbrError.message}`, runErrorOf(error, 'create-vault', now));
      return 'failed-run';
    }
  }

  await deps.crashPoint?.('create-vault:after-cbr', run.runId);
  const objectType = vault.billing?.object_type;
  if (objectType && objectType !== wanted) {
    if (holder) await deps.store.resolveLease(leaseKey, holder, vault.id, deps.clock.now());
    const now = deps.clock.now();
    await endRun(deps, run.runId, 'FAILED', `vault '${spec.name}' protects ${objectType} resources, the run needs ${wanted}`, {
      code: 'VAULT_TYPE_MISMATCH', message: `vault object_type ${objectType} != ${wanted}`, step: 'create-vault', at: now,
    });
    return 'failed-run';
  }

  const found = vault;
  const now = deps.clock.now();
  const { run: recorded } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (draft.vault) return undefined; // a concurrent delivery recorded it first
      draft.vault = { id: found.id, name: found.name, created };
      draft.state = 'RUNNING';
      draft.step = 'add-resources';
      watchdog(draft, now, deps.settings);
      if (checked) addEvent(draft, now, 'create-vault', checked.skipped ? 'preflight-skipped' : 'preflight-passed', checked.skipped ?? preflightDetail(checked));
      addEvent(draft, now, 'create-vault', created ? 'vault-created' : 'vault-found', found.id);
      return draft;
    },
    { now, initial: run },
  );
  await deps.crashPoint?.('create-vault:after-record', run.runId);
  if (holder) await deps.store.resolveLease(leaseKey, holder, found.id, now);
  if (isTerminal(recorded.state) || !recorded.vault) return 'ignored';
  await deps.bus.send('resources', vaultReadyMessage(recorded, now));
  return 'done';
}

/**
 * CreateVault answered with an order (yearly/monthly vault, not paid yet): record it, move the run to
 * `await-payment` and let the checker look for the vault. The vault-name lease is left to lapse (the
 * vault id it would record does not exist yet); until then other runs for the name wait.
 */
async function awaitPayment(deps: PipelineDeps, run: RunRecord, orderId: string): Promise<StepOutcome> {
  const now = deps.clock.now();
  const name = run.request.vault.name;
  const { run: recorded } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (draft.vault || draft.order) return undefined;
      draft.order = { id: orderId, at: now };
      draft.state = 'RUNNING';
      draft.step = 'await-payment';
      scheduleAt(draft, now + deps.settings.firstCheckDelayMs, deps.settings);
      addEvent(draft, now, 'create-vault', 'awaiting-payment', `order ${orderId}: vault '${name}' exists once the order is paid`);
      return draft;
    },
    { now, initial: run },
  );
  return isTerminal(recorded.state) ? 'ignored' : 'deferred';
}
