/**
 * The vaults cbr-flow's runs used (`cbr-flow vaults`, GET /vaults): one line per vault id found in the
 * recent run records, with CBR's capacity (ShowVault `billing.size` GB, `billing.used` MB) and when it
 * fills at the pace of its last 30 days of backups (ListBackups from `start_time`, ./forecast.ts).
 * Two CBR calls per vault (more for a vault with over 1,000 recent backups). A vault that cannot be read
 * says why on its own line; when the invocation has no time left for another call (the operator API's
 * deadline), the rest are listed unread and `complete` is false.
 */
import { cbrTimestampMs } from '../cbr/time';
import { StepRetryError } from '../pipeline/errors';
import { cbrErrorOf, hasCbrCode, type CbrFactory, type RunStore } from '../ports';
import { fillsInText, forecastFill } from './forecast';

const DAY_MS = 86_400_000;
/** How many recent runs are looked through for vault ids. */
export const VAULT_SCAN_RUNS = 1000;

export interface VaultCapacity {
  vaultId: string;
  vaultName: string;
  projectId: string;
  region: string;
  /** Runs of the scanned records that used it, and when the newest started (epoch ms). */
  runs: number;
  lastRunAt: number;
  sizeGb?: number | undefined;
  usedGb?: number | undefined;
  growthGbPerDay?: number | undefined;
  fillsInDays?: number | undefined;
  /** "fills in N days", "full", "never"; or why it was not read ("gone", "not read: ..."). */
  forecast: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export async function vaultCapacities(
  deps: { store: Pick<RunStore, 'listRecent'>; cbr: CbrFactory },
  options: { now: number; projects?: (projectId: string) => boolean; scan?: number },
): Promise<{ vaults: VaultCapacity[]; complete: boolean }> {
  const byId = new Map<string, VaultCapacity>();
  for (const run of await deps.store.listRecent(options.scan ?? VAULT_SCAN_RUNS)) {
    if (!run.vault?.id || (options.projects && !options.projects(run.request.projectId))) continue;
    const seen = byId.get(run.vault.id);
    if (seen) {
      seen.runs++;
      if (run.createdAt > seen.lastRunAt) Object.assign(seen, { lastRunAt: run.createdAt, vaultName: run.vault.name });
      continue;
    }
    byId.set(run.vault.id, { vaultId: run.vault.id, vaultName: run.vault.name, projectId: run.request.projectId, region: run.request.region, runs: 1, lastRunAt: run.createdAt, forecast: 'not read' });
  }
  const vaults = [...byId.values()].sort((a, b) => b.lastRunAt - a.lastRunAt);
  let complete = true;
  for (const v of vaults) {
    if (!complete) { v.forecast = 'not read: no time left in this request (ask again)'; continue; }
    try {
      const cbr = await deps.cbr({ projectId: v.projectId, region: v.region });
      const { vault } = await cbr.showVault(v.vaultId);
      v.vaultName = vault.name || v.vaultName;
      v.sizeGb = num(vault.billing?.size);
      const usedMb = num(vault.billing?.used);
      v.usedGb = usedMb === undefined ? undefined : usedMb / 1024;
      const since = options.now - 30 * DAY_MS;
      const backups = [];
      for await (const b of cbr.paginateBackups({ vault_id: v.vaultId, start_time: new Date(since).toISOString().replace(/\.\d{3}Z$/, 'Z') }, { pageSize: 1000 })) {
        backups.push({ sizeGb: num(b.resource_size), createdAt: b.created_at ? cbrTimestampMs(b.created_at) : undefined });
      }
      const f = forecastFill({ sizeGb: v.sizeGb, usedGb: v.usedGb, backups, now: options.now });
      Object.assign(v, { growthGbPerDay: f.growthGbPerDay, fillsInDays: f.fillsInDays, forecast: fillsInText(f) });
    } catch (error) {
      if (error instanceof StepRetryError) {
        complete = false;
        v.forecast = 'not read: no time left in this request (ask again)';
        continue;
      }
      const cbrError = cbrErrorOf(error);
      if (cbrError?.notFound || hasCbrCode(error, '6105')) { v.forecast = 'gone (deleted in CBR)'; continue; }
      if (!cbrError && !(error instanceof Error && error.name === 'CredentialsNotMappedError')) throw error;
      v.forecast = `not read: ${(error as Error).message.slice(0, 200)}`;
    }
  }
  return { vaults, complete };
}
