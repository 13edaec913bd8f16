/**
 * In-memory RunStore with the same semantics as the DynamoDB adapter (conditional create, version
 * check, terminal states final, expiry filtered on read). For unit tests and benchmarks.
 */
import type { NotificationRecord, ShareRecord, TimelineEvent } from './run';
import { ValidationError } from '../errors';
import type { Clock, RecentFilter, RecordNotificationResult, RestoreStore, RunPage, RunQuery, RunStore, SaveResult } from '../ports';
import { isRestoreTerminal, RestoreRecord, type RestoreSaveResult } from '../restore/record';
import { isTerminal, RunRecord, type VaultLease } from './run';

export class MemoryRunStore implements RunStore, RestoreStore {
  readonly runs = new Map<string, RunRecord>();
  readonly restores = new Map<string, RestoreRecord>();
  readonly leases = new Map<string, VaultLease>();
  readonly shareWatches = new Map<string, number>();
  /** Count of calls per method, for tests that check how much a use-case touches the store. */
  readonly calls: Record<string, number> = {};

  constructor(private readonly clock: Clock) {}

  private count(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
  }

  private live(run: RunRecord | undefined): RunRecord | undefined {
    if (!run) return undefined;
    if (run.expiresAt !== undefined && run.expiresAt * 1000 <= this.clock.now()) return undefined;
    return structuredClone(run);
  }

  async create(run: RunRecord): Promise<'created' | 'exists'> {
    this.count('create');
    if (this.runs.has(run.runId)) return 'exists';
    this.runs.set(run.runId, structuredClone(RunRecord.parse(run)));
    return 'created';
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    this.count('get');
    return this.live(this.runs.get(runId));
  }

  async save(run: RunRecord): Promise<SaveResult> {
    this.count('save');
    const current = this.runs.get(run.runId);
    if (!current) return { ok: false, reason: 'missing' };
    if (isTerminal(current.state)) return { ok: false, reason: 'terminal' };
    if (current.version !== run.version - 1) return { ok: false, reason: 'stale' };
    // Records are built by typed code and validated on create; a write is stored as given (like DynamoDB).
    this.runs.set(run.runId, structuredClone(run));
    return { ok: true, run };
  }

  async listDue(shard: number, now: number, limit: number, cursor?: string): Promise<{ runs: RunRecord[]; cursor?: string }> {
    this.count('listDue');
    const due = [...this.runs.values()]
      .filter((r) => r.due && r.due.shard === shard && r.due.at <= now)
      .sort((a, b) => a.due!.at - b.due!.at || a.runId.localeCompare(b.runId));
    const start = cursor ? Number(cursor) : 0;
    const page = due.slice(start, start + limit);
    const next = start + limit < due.length ? String(start + limit) : undefined;
    return next === undefined ? { runs: page.map((r) => structuredClone(r)) } : { runs: page.map((r) => structuredClone(r)), cursor: next };
  }

  async markAnnounced(runId: string): Promise<void> {
    this.count('markAnnounced');
    const current = this.runs.get(runId);
    if (!current || !isTerminal(current.state) || !current.announcePending) return;
    delete current.due;
    delete current.announcePending;
  }

  async listRecent(limit: number, filter: RecentFilter = {}): Promise<RunRecord[]> {
    this.count('listRecent');
    return [...this.runs.values()]
      .filter((r) => this.live(r) && (!filter.projectIds || filter.projectIds.has(r.request.projectId)))
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  /** Same filters as the DynamoDB adapter; the cursor is the offset into the filtered list. */
  async listRuns(query: RunQuery): Promise<RunPage> {
    this.count('listRuns');
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    if (!Number.isInteger(start) || start < 0) throw new ValidationError('query.cursor', 'is not a cursor this API returned (pass the `cursor` of the previous page unchanged)');
    const all = [...this.runs.values()]
      .filter((r) => this.live(r)
        && (!query.projectIds || query.projectIds.has(r.request.projectId))
        && (!query.states || query.states.has(r.state))
        && (query.plan === undefined || r.source.plan === query.plan)
        && (query.since === undefined || r.createdAt >= query.since))
      .sort((a, b) => b.createdAt - a.createdAt);
    const runs = all.slice(start, start + query.limit).map((r) => structuredClone(r));
    return start + query.limit < all.length ? { runs, cursor: String(start + query.limit) } : { runs };
  }

  async getLease(key: string): Promise<VaultLease | undefined> {
    this.count('getLease');
    const lease = this.leases.get(key);
    return lease ? { ...lease } : undefined;
  }

  async acquireLease(key: string, holder: string, now: number, leaseMs: number): Promise<{ acquired: boolean; lease: VaultLease }> {
    this.count('acquireLease');
    const current = this.leases.get(key);
    const free = !current || current.holder === undefined || current.holder === holder || current.leaseUntil <= now;
    if (!free) return { acquired: false, lease: { ...current } };
    const lease: VaultLease = { ...(current ?? {}), key, holder, leaseUntil: now + leaseMs, updatedAt: now };
    this.leases.set(key, lease);
    return { acquired: true, lease: { ...lease } };
  }

  async resolveLease(key: string, holder: string, vaultId: string, now: number): Promise<void> {
    this.count('resolveLease');
    const current = this.leases.get(key);
    if (!current || current.holder !== holder) return;
    this.leases.set(key, { key, leaseUntil: 0, vaultId, updatedAt: now });
  }

  async releaseLease(key: string, holder: string, now: number): Promise<void> {
    this.count('releaseLease');
    const current = this.leases.get(key);
    if (!current || current.holder !== holder) return;
    const { holder: _h, ...rest } = current;
    this.leases.set(key, { ...rest, leaseUntil: 0, updatedAt: now });
  }

  async linkRetry(runId: string, retryRunId: string): Promise<{ result: 'linked' | 'missing' | 'not_terminal' } | { result: 'other'; retriedBy: string }> {
    this.count('linkRetry');
    const current = this.live(this.runs.get(runId));
    if (!current) return { result: 'missing' };
    if (!isTerminal(current.state)) return { result: 'not_terminal' };
    if (current.retriedBy && current.retriedBy !== retryRunId) return { result: 'other', retriedBy: current.retriedBy };
    this.runs.get(runId)!.retriedBy = retryRunId;
    return { result: 'linked' };
  }

  /** Set the run's notification outcome; only on a finished run (a terminal run is never saved again). */
  async recordNotification(runId: string, record: NotificationRecord): Promise<RecordNotificationResult> {
    this.count('recordNotification');
    const current = this.live(this.runs.get(runId));
    if (!current) return 'missing';
    if (!isTerminal(current.state)) return 'not_terminal';
    this.runs.get(runId)!.notification = structuredClone(record);
    return 'recorded';
  }

  async createRestore(restore: RestoreRecord): Promise<'created' | 'exists'> {
    this.count('createRestore');
    if (this.restores.has(restore.restoreId)) return 'exists';
    this.restores.set(restore.restoreId, structuredClone(RestoreRecord.parse(restore)));
    return 'created';
  }

  async getRestore(restoreId: string): Promise<RestoreRecord | undefined> {
    this.count('getRestore');
    const r = this.restores.get(restoreId);
    if (!r || (r.expiresAt !== undefined && r.expiresAt * 1000 <= this.clock.now())) return undefined;
    return structuredClone(r);
  }

  async saveRestore(restore: RestoreRecord): Promise<RestoreSaveResult> {
    this.count('saveRestore');
    const current = this.restores.get(restore.restoreId);
    if (!current) return { ok: false, reason: 'missing' };
    if (isRestoreTerminal(current.state)) return { ok: false, reason: 'terminal' };
    if (current.version !== restore.version - 1) return { ok: false, reason: 'stale' };
    this.restores.set(restore.restoreId, structuredClone(restore));
    return { ok: true, restore };
  }

  async listDueRestores(now: number, limit: number): Promise<RestoreRecord[]> {
    this.count('listDueRestores');
    return [...this.restores.values()]
      .filter((r) => r.due && r.due.at <= now && !isRestoreTerminal(r.state))
      .sort((a, b) => a.due!.at - b.due!.at)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async putShareWatch(runId: string, at: number): Promise<void> {
    this.count('putShareWatch');
    this.shareWatches.set(runId, at);
  }

  async deleteShareWatch(runId: string): Promise<void> {
    this.count('deleteShareWatch');
    this.shareWatches.delete(runId);
  }

  async listShareWatches(now: number, limit: number): Promise<Array<{ runId: string; at: number }>> {
    this.count('listShareWatches');
    return [...this.shareWatches.entries()]
      .filter(([, at]) => at <= now)
      .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([runId, at]) => ({ runId, at }));
  }

  async recordShares(runId: string, shares: ShareRecord[], shareWatchAt: number | undefined, event?: TimelineEvent): Promise<RecordNotificationResult> {
    this.count('recordShares');
    const current = this.live(this.runs.get(runId));
    if (!current) return 'missing';
    if (!isTerminal(current.state)) return 'not_terminal';
    const stored = this.runs.get(runId)!;
    stored.shares = structuredClone(shares);
    if (event) stored.timeline.push({ ...event });
    if (shareWatchAt === undefined) delete stored.shareWatchAt;
    else stored.shareWatchAt = shareWatchAt;
    return 'recorded';
  }
}
