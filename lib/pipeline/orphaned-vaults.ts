/**
 * Orphaned vaults: a vault cbr-flow created for a run that then FAILED or EXPIRED, and that no later
 * run used (a later run naming the same vault finds and adopts it). Such a vault is billed by its size
 * while it may hold nothing. The pre-flight (preflight.ts) prevents most of them; what is left (a failure
 * after CreateVault) is listed here from the run records, and deleted only when an operator asks for one
 * vault by id: DeleteVault through the client, only while the vault holds no resource and no backup,
 * unless forced.
 */
import { AppError } from '../errors';
import type { CbrFactory, RunStore } from '../ports';
import { hasCbrCode, cbrErrorOf } from '../ports';
import { isTerminal, type RunRecord } from '../store/run';

export interface OrphanedVault {
  vaultId: string;
  vaultName: string;
  projectId: string;
  region: string;
  /** The run that created the vault and then failed. */
  runId: string;
  state: 'FAILED' | 'EXPIRED';
  createdAt: number;
  finishedAt?: number | undefined;
  reason?: string | undefined;
}

/** How many recent runs are looked through (the run store's `recent` index, newest first). */
export const ORPHAN_SCAN_RUNS = 1000;

/** The vault is not (or no longer) an orphan cbr-flow may delete. */
export class NotOrphanedError extends AppError {
  override readonly name = 'NotOrphanedError';
  readonly code = 'VAULT_NOT_ORPHANED';
  constructor(readonly vaultId: string) {
    super(`vault ${vaultId} is not an orphaned vault of cbr-flow (created by a run that failed or expired and used by no later run); list them with \`cbr-flow vaults --orphaned\``);
  }
}

/** The orphan still holds resources or backups: deleting it needs `force`. */
export class VaultNotEmptyError extends AppError {
  override readonly name = 'VaultNotEmptyError';
  readonly code = 'VAULT_NOT_EMPTY';
  constructor(
    readonly vaultId: string,
    readonly resources: number,
    readonly backups: number,
  ) {
    super(`vault ${vaultId} still holds ${resources} resource(s) and ${backups === 0 ? 'no' : 'at least ' + backups} backup(s); not deleted (force to delete it with them)`);
  }
}

function sameVaultName(a: RunRecord, b: RunRecord): boolean {
  return a.request.projectId === b.request.projectId && a.request.region === b.request.region && a.request.vault.name === b.request.vault.name;
}

/** Orphaned vaults among `runs` (any order): newest first. */
export function orphanedVaultsOf(runs: ReadonlyArray<RunRecord>): OrphanedVault[] {
  const orphans: OrphanedVault[] = [];
  for (const run of runs) {
    if ((run.state !== 'FAILED' && run.state !== 'EXPIRED') || !run.vault?.created) continue;
    const vaultId = run.vault.id;
    // Used by a later run (it found the vault by name), or a run in flight may still adopt it.
    const used = runs.some(
      (other) => other.runId !== run.runId && (other.vault?.id === vaultId || (!isTerminal(other.state) && !other.vault && sameVaultName(other, run))),
    );
    if (used) continue;
    orphans.push({
      vaultId,
      vaultName: run.vault.name,
      projectId: run.request.projectId,
      region: run.request.region,
      runId: run.runId,
      state: run.state,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      reason: run.reason,
    });
  }
  return orphans.sort((a, b) => b.createdAt - a.createdAt);
}

export async function listOrphanedVaults(store: Pick<RunStore, 'listRecent'>, scan = ORPHAN_SCAN_RUNS): Promise<OrphanedVault[]> {
  return orphanedVaultsOf(await store.listRecent(scan));
}

export interface DeleteOrphanResult {
  vault: OrphanedVault;
  /** False when CBR no longer had the vault (already deleted). */
  deleted: boolean;
  resources: number;
  backups: number;
}

/**
 * Delete one orphaned vault (the caller has confirmed). Reads it first: a vault holding resources or
 * backups is kept unless `force`.
 */
export async function deleteOrphanedVault(
  deps: { store: Pick<RunStore, 'listRecent'>; cbr: CbrFactory },
  vaultId: string,
  options: { force?: boolean; scan?: number } = {},
): Promise<DeleteOrphanResult> {
  const vault = (await listOrphanedVaults(deps.store, options.scan)).find((o) => o.vaultId === vaultId);
  if (!vault) throw new NotOrphanedError(vaultId);
  const cbr = await deps.cbr({ projectId: vault.projectId, region: vault.region });
  let shown;
  try {
    shown = await cbr.showVault(vaultId);
  } catch (error) {
    if (cbrErrorOf(error)?.notFound || hasCbrCode(error, '6105')) return { vault, deleted: false, resources: 0, backups: 0 };
    throw error;
  }
  const resources = shown.vault.resources?.length ?? 0;
  let backups = 0;
  for await (const _ of cbr.paginateBackups({ vault_id: vaultId }, { pageSize: 1 })) {
    backups++;
    break; // one is enough to refuse
  }
  if (!options.force && (resources > 0 || backups > 0)) throw new VaultNotEmptyError(vaultId, resources, backups);
  await cbr.deleteVault(vaultId);
  return { vault, deleted: true, resources, backups };
}
