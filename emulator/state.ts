/** The read-mostly view of the emulator's state handed to tests and the admin API. */
import type { CbrService } from './operations';
import { renderBackup, renderCheckpoint, renderMember, renderOpLog, renderVault } from './operations/views';
import type { RequestCounts } from './server';
import { backupState, checkpointState, vaultState } from './store';
import type { Store, VaultStatus } from './store';

export interface EmulatorSnapshot {
  now: number;
  vaults: Array<Record<string, unknown>>;
  checkpoints: Array<Record<string, unknown>>;
  /** Top-level backups (server backups carry their disk backups in `children`). */
  backups: Array<Record<string, unknown>>;
  members: Array<Record<string, unknown>>;
  operationLogs: Array<Record<string, unknown>>;
  tokens: number;
}

export interface EmulatorState {
  /** Live counters: every request received, per operation name (e.g. 'ShowCheckpoint', 'Unknown') and per status. */
  readonly requestCounts: RequestCounts;
  resetRequestCounts(): void;
  /** Everything, in wire shape, with statuses derived at the emulator clock's now (default: the home region). */
  snapshot(region?: string): EmulatorSnapshot;
  /** The regions served, the home region first. */
  regions(): string[];
  /** Drops all vaults, checkpoints, backups, members, op logs and tokens of every region (projects and catalogue stay). */
  reset(): void;
  /**
   * Ends a running replication now (by the replica's backup id, in whichever region): `success` makes the
   * replica available, `failed` ends it `error` with this reason (the source op log `failed`).
   */
  resolveReplication(replicaBackupId: string, outcome: 'success' | 'failed', reason?: string): boolean;
  /** Forces a vault's billing.status (e.g. 'frozen' to see 6113); 'available' clears it. */
  setVaultStatus(vaultId: string, status: Exclude<VaultStatus, 'deleting'>): boolean;
  /** Deletes a resource (server or disk) from the catalogue; vaults still listing it show protect_status "deleted". */
  deleteResource(resourceId: string): boolean;
  /** Ends a running restore (by its op log id) now, as a success or a failure with this reason. */
  resolveRestore(operationLogId: string, outcome: 'success' | 'failed', reason?: string): boolean;
  /**
   * Marks a completed backup (top-level, or the server backup of a disk backup) `restoring` for
   * `durationMs` of the emulator clock (DeleteBackup then refuses with 6216); false when there is no
   * such available backup.
   */
  restoreBackup(backupId: string, durationMs: number): boolean;
  /** Pays a yearly/monthly vault's order now (the vault appears); false when no unpaid order has this id. */
  payOrder(orderId: string): boolean;
}

export function createState(store: Store, service: CbrService, counts: RequestCounts, services: ReadonlyMap<string, CbrService> = new Map([[service.region, service]])): EmulatorState {
  const snapshotOf = (svc: CbrService): EmulatorSnapshot => {
    const st = svc.store;
    const now = st.clock.now();
    const vaults = [...st.vaults.values()].filter((v) => vaultState(v, now) !== 'gone');
    const backups = [...st.backupsByProject.values()].flatMap((m) => [...m.values()]).filter((b) => backupState(b, now) !== 'gone');
    return {
      now,
      vaults: vaults.map((v) => renderVault(svc, v, now)),
      checkpoints: [...st.checkpoints.values()]
        .filter((c) => checkpointState(c, now) !== 'gone')
        .map((c) => renderCheckpoint(svc, c, st.vaults.get(c.vaultId), now)),
      backups: backups.map((b) => renderBackup(svc, b, now)),
      members: backups.flatMap((b) => [...b.members.values()].map((m) => renderMember(svc, m))),
      operationLogs: [...st.opLogs.values()].map((o) => renderOpLog(svc, o, now)),
      tokens: [...store.tokens.values()].filter((t) => t.expiresAt > now).length,
    };
  };
  return {
    requestCounts: counts,
    resetRequestCounts() {
      counts.total = 0;
      for (const k of Object.keys(counts.byOperation)) delete counts.byOperation[k];
      for (const k of Object.keys(counts.byStatus)) delete counts.byStatus[k];
    },
    snapshot(region) {
      const svc = region === undefined ? service : services.get(region);
      if (!svc) throw new Error(`region ${region} is not served (regions: ${[...services.keys()].join(', ')})`);
      return snapshotOf(svc);
    },
    regions: () => [...services.keys()],
    resolveReplication(replicaBackupId, outcome, reason) {
      for (const svc of services.values()) {
        const now = svc.store.clock.now();
        const b = svc.store.liveBackup(replicaBackupId, now);
        if (!b?.replicaOf || b.parent || backupState(b, now) !== 'protecting') continue;
        b.doneAt = now;
        b.failure = outcome === 'failed' ? { code: 'BackupService.9910', message: reason ?? 'The replication failed.' } : null;
        for (const c of b.children) {
          c.doneAt = now;
          c.failure = b.failure;
        }
        return true;
      }
      return false;
    },
    reset: () => {
      store.reset();
      for (const svc of services.values()) svc.store.reset();
    },
    deleteResource(resourceId) {
      const entry = store.catalogue.get(resourceId);
      if (!entry || !store.catalogue.delete(resourceId)) return false;
      store.deletedResources.add(resourceId);
      store.deletedCatalogue.set(resourceId, entry);
      return true;
    },
    resolveRestore(operationLogId, outcome, reason) {
      const now = store.clock.now();
      const o = store.opLogs.get(operationLogId);
      if (!o?.restore || now >= o.endAt) return false;
      o.endAt = now;
      const from = store.liveBackup(o.restore.backupId, now);
      const root = from?.parent ?? from;
      if (root?.restoringUntil !== undefined && root.restoringUntil > now) root.restoringUntil = now;
      o.restore.failure = outcome === 'failed' ? { code: 'BackupService.9910', message: reason ?? 'The restoration failed.' } : null;
      return true;
    },
    restoreBackup(backupId, durationMs) {
      const now = store.clock.now();
      const found = store.liveBackup(backupId, now);
      const b = found?.parent ?? found;
      if (!b || backupState(b, now) !== 'available') return false;
      b.restoringUntil = now + durationMs;
      return true;
    },
    payOrder(orderId) {
      const now = store.clock.now();
      for (const v of store.vaults.values()) {
        if (v.billing.orderId !== orderId || v.paidAt === undefined || v.paidAt <= now) continue;
        v.paidAt = now;
        return true;
      }
      return false;
    },
    setVaultStatus(vaultId, status) {
      const v = store.liveVault(vaultId, store.clock.now());
      if (!v) return false;
      if (status === 'available') delete v.statusOverride;
      else v.statusOverride = status;
      return true;
    },
  };
}
