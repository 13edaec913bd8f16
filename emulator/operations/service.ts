/**
 * The emulated CBR v3 operations (cbr-api.md §2-§6, §12): this service holds the state and the lookups
 * every operation shares; each section (vaults, resources, checkpoints, backups, members, oplogs,
 * protectables) is a file of functions taking the service, and views.ts renders the wire shapes.
 * Statuses are derived from the clock on each read (see store.ts).
 */
import { EmulatorHttpError } from '../errors';
import type { FaultEngine } from '../faults';
import type { EmulatorConfig } from '../options';
import { backupState } from '../store';
import type { BackupRec, MemberRec, Store, VaultRec } from '../store';
import { err } from './common';
import type { OpContext } from './common';

export class CbrService {
  private readonly fmt: (ms: number) => string;
  /**
   * Every region this emulator serves (this one included), by region id: ReplicateBackup writes its
   * replica into the destination region's service. Set by startEmulator; a lone service knows only itself.
   */
  regions: ReadonlyMap<string, CbrService> = new Map();

  constructor(
    readonly store: Store,
    readonly config: EmulatorConfig,
    readonly faults: Pick<FaultEngine, 'takeScript'>,
    /** The region this service's state belongs to. */
    readonly region: string = config.region,
  ) {
    const f = config.quirks.timestampFormat;
    // Timestamps repeat a lot (every backup of a checkpoint shares created_at): a small cache keeps list
    // rendering cheap. Bounded: cleared when it grows past 4096 entries.
    const cache = new Map<number, string>();
    this.fmt = (ms) => {
      let out = cache.get(ms);
      if (out !== undefined) return out;
      const iso = new Date(ms).toISOString();
      out = f === 'zulu' ? `${iso.slice(0, 19)}Z` : f === 'offset' ? `${iso.slice(0, 23)}+00:00` : `${iso.slice(0, 23)}000`;
      if (cache.size >= 4096) cache.clear();
      cache.set(ms, out);
      return out;
    };
  }

  time(ms: number | null | undefined): string | null {
    return ms === null || ms === undefined || !Number.isFinite(ms) ? null : this.fmt(ms);
  }

  get strict(): boolean {
    return this.config.quirks.rejectUnknownFields;
  }

  // ---- lookups ---------------------------------------------------------------------------------

  /**
   * A missing checkpoint (or the member list of a missing backup): the documented 404, or with the
   * `missingCheckpoint: '401-malformed'` quirk the 401 "Malformed request url" the real service was seen
   * to answer (cbr-api.md §7.1).
   */
  checkpointNotFound(code: '6217' | '6200'): EmulatorHttpError {
    return this.config.quirks.missingCheckpoint === '401-malformed'
      ? new EmulatorHttpError(401, 'Unauthorized', 'Malformed request url', 'malformed-url')
      : err(404, code);
  }

  vaultOr404(ctx: OpContext, id: string): VaultRec {
    const v = this.store.liveVault(id, ctx.now);
    if (!v || v.projectId !== ctx.projectId) throw err(this.config.quirks.vaultNotFoundStatus, '6105');
    return v;
  }

  /** A backup the caller's project owns (children included). */
  ownBackupOr404(ctx: OpContext, id: string): BackupRec {
    const b = this.store.liveBackup(id, ctx.now);
    if (!b || b.projectId !== ctx.projectId) throw err(404, '6200');
    return b;
  }

  /** A backup the caller owns, or one shared with it (member record not rejected). */
  visibleBackup(ctx: OpContext, id: string): { backup: BackupRec; member?: MemberRec } | undefined {
    const b = this.store.liveBackup(id, ctx.now);
    if (!b) return undefined;
    if (b.projectId === ctx.projectId) return { backup: b };
    const m = b.members.get(ctx.projectId);
    if (m && m.status !== 'rejected') return { backup: b, member: m };
    return undefined;
  }

  // ---- admin helpers (used by the fault controller) ----------------------------------------------

  /** Ends a still-protecting checkpoint now. */
  resolveCheckpoint(checkpointId: string, outcome: 'available' | 'error', reason?: string): boolean {
    const now = this.store.clock.now();
    const c = this.store.checkpoints.get(checkpointId);
    if (!c) return false;
    let changed = false;
    for (const b of c.backups) {
      if (backupState(b, now) !== 'protecting') continue;
      b.doneAt = now;
      b.failure = outcome === 'error' ? { code: 'BackupService.9910', message: reason ?? 'The backup failed.' } : null;
      for (const child of b.children) {
        child.doneAt = now;
        child.failure = b.failure;
      }
      changed = true;
    }
    return changed;
  }
}
