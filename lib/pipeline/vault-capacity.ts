/**
 * Vault capacity before CreateCheckpoint (issue 14 item 5; README "Vault capacity").
 *
 * CBR refuses a backup into a full vault with 400 `BackupService.6114` ("The used capacity of the vault
 * exceeds the maximum capacity", cbr-api.md §3.1, §7.2), after the vault, the resources and the run's
 * first steps are paid for. start-checkpoint asks first, from one ShowVault:
 *
 * - units: `billing.size` and `resources[].size` are GB; `billing.used` and `resources[].backup_size` are MB
 *   (recorded ListVault answers, e.g. /work/shared/cbr-recordings c7n/0c836c15c8fe.json: a 100 GB vault
 *   with `used: 17048` equal to its one resource's `backup_size: 17048` over 2 backups; cbr-api.md §2.4);
 * - the expected size of the backup of each resource: with earlier backups of it in this vault and an
 *   incremental checkpoint, their mean size (`backup_size / backup_count`; ShowVault carries no per-backup
 *   size, so a short chain's full backup makes this an over-estimate, never an under-estimate of a
 *   smaller increment); otherwise (first or full backup) the resource's size, which a backup never
 *   exceeds; unknown when CBR sends neither (that resource is not counted and the run says so);
 * - CBR grows a vault with `auto_expand` itself: nothing to check;
 * - when used + need > size: a pay-per-use vault whose request allows it (`vault.autoExpand.maxSizeGB`) is
 *   expanded with UpdateVault to just the size needed (whole GB), never past the cap; otherwise the run
 *   fails fast naming the vault, its size, its use and the need, and what to do.
 *
 * Pure: the decision is made here, the calls and the run record in start-checkpoint.ts. Idempotent by
 * construction: a repeated delivery (or a takeover after a crash) reads the size again, so a vault
 * already expanded is not expanded twice.
 */
import type { VaultAutoExpand } from '../contracts/run-request';
import type { CbrVaultView } from '../ports';

export type CapacityDecision =
  | { kind: 'ok'; detail: string }
  | { kind: 'expand'; fromGb: number; toGb: number; detail: string }
  | { kind: 'fail'; reason: string };

const MB_PER_GB = 1024;
/** CBR's smallest vault (cbr-api.md §2.2). */
const MIN_SIZE_GB = 10;

function num(v: number | null | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function gb(mb: number): string {
  const v = mb / MB_PER_GB;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** Expected MB of the backup of each resource (see the header), and the resources whose size is unknown. */
export function expectedBackupMb(vault: CbrVaultView, resourceIds: ReadonlyArray<string>, incremental: boolean): { needMb: number; unknown: string[] } {
  const byId = new Map((vault.resources ?? []).map((r) => [r.id, r]));
  let needMb = 0;
  const unknown: string[] = [];
  for (const id of resourceIds) {
    const r = byId.get(id);
    const count = num(r?.backup_count) ?? 0;
    const total = num(r?.backup_size) ?? 0;
    const size = num(r?.size);
    if (incremental && count > 0 && total > 0) needMb += Math.ceil(total / count);
    else if (size !== undefined && size > 0) needMb += size * MB_PER_GB;
    else unknown.push(id);
  }
  return { needMb, unknown };
}

export function decideCapacity(vault: CbrVaultView, resourceIds: ReadonlyArray<string>, incremental: boolean, autoExpand: VaultAutoExpand | undefined): CapacityDecision {
  const sizeGb = num(vault.billing?.size);
  if (vault.auto_expand === true) return { kind: 'ok', detail: `vault ${vault.id} grows by itself (auto_expand)` };
  if (sizeGb === undefined) return { kind: 'ok', detail: `vault ${vault.id}: CBR did not say its size, not checked` };
  const usedMb = num(vault.billing?.used) ?? 0;
  const { needMb, unknown } = expectedBackupMb(vault, resourceIds, incremental);
  const unknownNote = unknown.length > 0 ? `; size unknown for ${unknown.join(', ')} (not counted)` : '';
  const totalMb = usedMb + needMb;
  const figures = `size ${sizeGb} GB, used ${gb(usedMb)} GB, this backup needs about ${gb(needMb)} GB`;
  if (totalMb <= sizeGb * MB_PER_GB) return { kind: 'ok', detail: `vault ${vault.id}: ${figures}${unknownNote}` };

  const requiredGb = Math.max(MIN_SIZE_GB, Math.ceil(totalMb / MB_PER_GB));
  const head = `vault ${vault.id} (${vault.name}) is too small for this backup: ${figures}, ${requiredGb} GB in all${unknownNote}`;
  const chargingMode = vault.billing?.charging_mode;
  if (!autoExpand) {
    return {
      kind: 'fail',
      reason: `${head}. Delete backups it no longer needs (retention), expand it to at least ${requiredGb} GB (UpdateVault billing.size), or let cbr-flow expand it: vault.autoExpand.maxSizeGB in the run request or plan (pay-per-use vaults only)`,
    };
  }
  if (chargingMode !== 'post_paid') {
    return {
      kind: 'fail',
      reason: `${head}. It is a ${chargingMode === 'pre_paid' ? 'yearly/monthly' : `'${chargingMode ?? 'unknown'}'-billed`} vault, which cbr-flow does not expand (vault.autoExpand applies to pay-per-use vaults only): expand it in the CBR console (its order), or delete backups it no longer needs (retention)`,
    };
  }
  if (requiredGb > autoExpand.maxSizeGB) {
    return {
      kind: 'fail',
      reason: `${head}, above vault.autoExpand.maxSizeGB ${autoExpand.maxSizeGB} GB. Raise the cap to at least ${requiredGb} GB, or delete backups it no longer needs (retention)`,
    };
  }
  return { kind: 'expand', fromGb: sizeGb, toGb: requiredGb, detail: `vault ${vault.id}: ${figures}; expanded from ${sizeGb} to ${requiredGb} GB (cap ${autoExpand.maxSizeGB} GB)${unknownNote}` };
}
