/**
 * In-memory RetentionStore with the DynamoDB adapter's semantics (conditional hold create, release
 * once, scopes replaced only by a newer run, ledger entries filtered once expired). Unit tests, the
 * retention scenario and the emulator-backed sweep tests use it.
 */
import type { Clock, RetentionStore } from '../ports';
import type { Hold, LedgerEntry, RetentionScope } from '../retention/records';

export class MemoryRetentionStore implements RetentionStore {
  readonly holds = new Map<string, Hold>();
  readonly scopes = new Map<string, RetentionScope>();
  readonly ledger = new Map<string, LedgerEntry>();
  private watermark: number | undefined;

  constructor(private readonly clock: Clock) {}

  async createHold(hold: Hold): Promise<'created' | 'exists'> {
    if (this.holds.has(hold.holdId)) return 'exists';
    this.holds.set(hold.holdId, structuredClone(hold));
    return 'created';
  }

  async getHold(holdId: string): Promise<Hold | undefined> {
    const h = this.holds.get(holdId);
    return h ? structuredClone(h) : undefined;
  }

  async releaseHold(holdId: string, released: NonNullable<Hold['released']>): Promise<{ result: 'released' | 'already'; hold: Hold } | { result: 'missing' }> {
    const h = this.holds.get(holdId);
    if (!h) return { result: 'missing' };
    if (h.released) return { result: 'already', hold: structuredClone(h) };
    h.released = { ...released };
    return { result: 'released', hold: structuredClone(h) };
  }

  async listHolds(options: { includeReleased?: boolean } = {}): Promise<Hold[]> {
    return [...this.holds.values()]
      .filter((h) => options.includeReleased || !h.released)
      .sort((a, b) => a.at - b.at || a.holdId.localeCompare(b.holdId))
      .map((h) => structuredClone(h));
  }

  async listScopes(): Promise<RetentionScope[]> {
    return [...this.scopes.values()].map((s) => structuredClone(s));
  }

  async putScope(scope: RetentionScope): Promise<'stored' | 'stale'> {
    const current = this.scopes.get(scope.key);
    if (current && current.runCreatedAt > scope.runCreatedAt) return 'stale';
    this.scopes.set(scope.key, structuredClone(scope));
    return 'stored';
  }

  async getWatermark(): Promise<number | undefined> {
    return this.watermark;
  }

  async setWatermark(at: number): Promise<void> {
    this.watermark = Math.max(this.watermark ?? 0, at);
  }

  async getLedger(scopeKey: string, backupId: string): Promise<LedgerEntry | undefined> {
    const e = this.ledger.get(`${scopeKey}|${backupId}`);
    return e && e.expiresAt * 1000 > this.clock.now() ? structuredClone(e) : undefined;
  }

  async putLedger(entry: LedgerEntry): Promise<void> {
    this.ledger.set(`${entry.scopeKey}|${entry.backupId}`, structuredClone(entry));
  }

  async listLedger(scopeKey: string): Promise<LedgerEntry[]> {
    const now = this.clock.now();
    return [...this.ledger.values()].filter((e) => e.scopeKey === scopeKey && e.expiresAt * 1000 > now).map((e) => structuredClone(e));
  }
}
