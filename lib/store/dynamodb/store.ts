/**
 * RunStore on DynamoDB (AWS SDK v3 document client). Every write is conditional: create with
 * attribute_not_exists, save with the expected version and "not terminal", leases with holder/expiry
 * conditions. No transactions (dynalite lacks TransactWriteItems; nothing here needs two items at once).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { NotificationRecord, ShareRecord, TimelineEvent } from '../run';
import type { Clock, RecentFilter, RecordNotificationResult, RestoreStore, RunPage, RunQuery, RunStore, SaveResult } from '../../ports';
import { isRestoreTerminal, RESTORE_TERMINAL, RestoreRecord, type RestoreSaveResult } from '../../restore/record';
import { ValidationError } from '../../errors';
import { StoreError } from '../errors';
import { isTerminal, RunRecord, TERMINAL_STATES, VaultLease } from '../run';
import { DUE_INDEX, RECENT_INDEX } from './table';

const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' });
const leaseKey = (key: string) => ({ pk: `LEASE#${key}`, sk: 'LEASE' });
const restoreKey = (restoreId: string) => ({ pk: `RESTORE#${restoreId}`, sk: 'RESTORE' });
/**
 * Restores in flight sit in the same sparse `due` index as the runs, under their own partition key: the
 * runs' shards (DUE#n) never list them, and the checker reads them with one Query of this key.
 */
const RESTORE_DUE_SHARD = 'RESTORE_DUE';
/** A share watch: its own item in the sparse `due` index, under one partition no checker shard reads. */
const shareWatchKey = (runId: string) => ({ pk: `SHARES#${runId}`, sk: 'WATCH' });
const SHARE_WATCH_PARTITION = 'SHARES';
const dayOf = (ms: number) => `RUNS#${new Date(ms).toISOString().slice(0, 10)}`;
const DAY_MS = 86_400_000;
const startOfDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/** Per page of listRuns: items the filters may evaluate, and UTC days (Queries) it may walk. */
export const LIST_READ_BUDGET = 500;
export const LIST_DAY_BUDGET = 31;

/** The recent index's key of an item (table key + index key): where the next Query resumes. */
function recentKeyOf(item: Record<string, unknown>): Record<string, unknown> {
  return { pk: item.pk, sk: item.sk, recentDay: item.recentDay, createdAt: item.createdAt };
}

/** listRuns' cursor: the UTC day to continue in and, within it, the key to resume after. */
function encodeCursor(day: number, key: Record<string, unknown> | undefined): string {
  return Buffer.from(JSON.stringify(key ? { d: day, k: key } : { d: day })).toString('base64url');
}

function decodeCursor(cursor: string): { day: number; key?: Record<string, unknown> } {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { d?: unknown; k?: Record<string, unknown> };
    const k = c.k;
    if (typeof c.d === 'number' && Number.isInteger(c.d) && c.d % DAY_MS === 0) {
      if (k === undefined) return { day: c.d };
      if (typeof k === 'object' && k !== null && typeof k.pk === 'string' && k.pk.startsWith('RUN#') && k.sk === 'RUN'
        && k.recentDay === dayOf(c.d) && typeof k.createdAt === 'number' && Object.keys(k).length === 4) {
        return { day: c.d, key: k };
      }
    }
  } catch { /* reported below */ }
  throw new ValidationError('query.cursor', 'is not a cursor this API returned (pass the `cursor` of the previous page unchanged)');
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export class DynamoRunStore implements RunStore, RestoreStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly options: { recentDays?: number; listReadBudget?: number } = {},
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  private toItem(run: RunRecord): Record<string, unknown> {
    const item: Record<string, unknown> = { ...runKey(run.runId), ...run, recentDay: dayOf(run.createdAt) };
    // A finished run stays in the due index until its run.finished is announced (markAnnounced).
    if (run.due && (!isTerminal(run.state) || run.announcePending)) {
      item.dueShard = `DUE#${run.due.shard}`;
      item.dueAt = run.due.at;
    }
    return item;
  }

  private fromItem(item: Record<string, unknown> | undefined): RunRecord | undefined {
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, dueShard: _s, dueAt: _a, recentDay: _d, ...rest } = item;
    const parsed = RunRecord.safeParse(rest);
    if (!parsed.success) throw new StoreError(`corrupt run item ${String(item.pk)}`, { cause: parsed.error });
    const run = parsed.data;
    if (run.expiresAt !== undefined && run.expiresAt * 1000 <= this.clock.now()) return undefined;
    return run;
  }

  async create(run: RunRecord): Promise<'created' | 'exists'> {
    return this.putIfAbsent(this.toItem(RunRecord.parse(run)), `run ${run.runId}`);
  }

  /** Writes a new versioned record (a run, a restore) unless its key exists. */
  private async putIfAbsent(item: Record<string, unknown>, what: string): Promise<'created' | 'exists'> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw new StoreError(`create ${what} failed`, { cause: error, retryable: true });
    }
  }

  /**
   * Replaces a versioned record only when the stored one is the previous version and not in a terminal
   * state (optimistic concurrency for runs and restores). False when that condition failed: the caller
   * reads the record to say why (dynalite does not return the old item on a failed condition).
   */
  private async putNextVersion(item: Record<string, unknown>, version: number, terminal: ReadonlyArray<string>, what: string): Promise<boolean> {
    const values: Record<string, unknown> = { ':prev': version - 1 };
    terminal.forEach((s, i) => (values[`:t${i}`] = s));
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `attribute_exists(pk) AND #v = :prev AND NOT (#s IN (${terminal.map((_, i) => `:t${i}`).join(', ')}))`,
          ExpressionAttributeNames: { '#v': 'version', '#s': 'state' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`save ${what} failed`, { cause: error, retryable: true });
      return false;
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    return this.readConsistent(runKey(runId), `run ${runId}`, (item) => this.fromItem(item));
  }

  /** A consistent read of one item, decoded (a decoding StoreError passes through). */
  private async readConsistent<T>(key: Record<string, unknown>, what: string, decode: (item: Record<string, unknown> | undefined) => T): Promise<T> {
    try {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
      return decode(Item);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`get ${what} failed`, { cause: error, retryable: true });
    }
  }

  async save(run: RunRecord): Promise<SaveResult> {
    if (await this.putNextVersion(this.toItem(run), run.version, TERMINAL_STATES, `run ${run.runId}`)) return { ok: true, run };
    const current = await this.get(run.runId);
    if (!current) return { ok: false, reason: 'missing' };
    return { ok: false, reason: isTerminal(current.state) ? 'terminal' : 'stale' };
  }

  async listDue(shard: number, now: number, limit: number, cursor?: string): Promise<{ runs: RunRecord[]; cursor?: string }> {
    try {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'dueShard = :s AND dueAt <= :now',
          ExpressionAttributeValues: { ':s': `DUE#${shard}`, ':now': now },
          Limit: limit,
          ScanIndexForward: true,
          ...(cursor ? { ExclusiveStartKey: JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Record<string, unknown> } : {}),
        }),
      );
      const runs = (out.Items ?? []).map((i) => this.fromItem(i)).filter((r): r is RunRecord => r !== undefined);
      const next = out.LastEvaluatedKey ? Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url') : undefined;
      return next ? { runs, cursor: next } : { runs };
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`query due shard ${shard} failed`, { cause: error, retryable: true });
    }
  }

  /**
   * Take a finished run out of the due index once its run.finished is published (one UpdateItem,
   * allowed on terminal runs only, like recordNotification; the optimistic version is left alone).
   */
  async markAnnounced(runId: string): Promise<void> {
    try {
      await this.updateFinishedRun(runId, {
        update: 'REMOVE dueShard, dueAt, #due, announcePending',
        condition: 'announcePending = :yes',
        names: { '#due': 'due' },
        values: { ':yes': true },
      });
    } catch (error) {
      if (isConditionFailure(error)) return; // already announced (or not finished / unknown): nothing to do
      throw new StoreError(`mark run ${runId} announced failed`, { cause: error, retryable: true });
    }
  }

  /** Most recent runs first, up to `limit`: the pages of listRuns (bounded by `recentDays`), followed. */
  async listRecent(limit: number, filter: RecentFilter = {}): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listRuns({ ...filter, limit: limit - runs.length, ...(cursor ? { cursor } : {}) });
      runs.push(...page.runs);
      cursor = page.cursor;
    } while (cursor && runs.length < limit);
    return runs.slice(0, limit);
  }

  /**
   * One page of GET /runs from the `recent` index, newest first: one Query per UTC day (the index's
   * partition), from today (or the cursor's day) back to `since`'s day, or `recentDays` days without
   * `since`. Filters (project, state, plan) are a FilterExpression; `since` is part of the key
   * condition. Bounded: a page evaluates at most LIST_READ_BUDGET items and LIST_DAY_BUDGET days, then
   * returns what matched so far with a cursor (possibly an empty page), so no request scans unboundedly.
   */
  async listRuns(query: RunQuery): Promise<RunPage> {
    const now = this.clock.now();
    const oldest = Math.max(query.since ?? -Infinity, startOfDay(now) - ((this.options.recentDays ?? 14) - 1) * DAY_MS);
    const lastDay = query.since !== undefined ? startOfDay(query.since) : startOfDay(oldest);
    const at = query.cursor !== undefined ? decodeCursor(query.cursor) : { day: startOfDay(now) };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const filters: string[] = [];
    const inList = (path: string, items: ReadonlySet<string>, key: string) => {
      const refs = [...items].map((v, i) => { values[`:${key}${i}`] = v; return `:${key}${i}`; });
      filters.push(`${path} IN (${refs.join(', ')})`);
    };
    if (query.projectIds) {
      if (query.projectIds.size === 0) return { runs: [] };
      Object.assign(names, { '#req': 'request', '#pid': 'projectId' });
      inList('#req.#pid', query.projectIds, 'p');
    }
    if (query.states) {
      if (query.states.size === 0) return { runs: [] };
      names['#st'] = 'state';
      inList('#st', query.states, 's');
    }
    if (query.plan !== undefined) {
      names['#src'] = 'source';
      names['#plan'] = 'plan';
      values[':plan'] = query.plan;
      filters.push('#src.#plan = :plan');
    }
    const runs: RunRecord[] = [];
    let budget = this.options.listReadBudget ?? LIST_READ_BUDGET;
    let days = 0;
    let day = at.day;
    let start = at.key;
    try {
      while (day >= lastDay) {
        if (budget <= 0 || days >= LIST_DAY_BUDGET) return { runs, cursor: encodeCursor(day, start) };
        days++;
        const out = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: RECENT_INDEX,
            KeyConditionExpression: query.since !== undefined ? 'recentDay = :d AND createdAt >= :since' : 'recentDay = :d',
            ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: { ...values, ':d': dayOf(day), ...(query.since !== undefined ? { ':since': query.since } : {}) },
            ScanIndexForward: false,
            Limit: filters.length > 0 ? budget : Math.min(budget, query.limit - runs.length),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        budget -= out.ScannedCount ?? out.Items?.length ?? 0;
        for (const item of out.Items ?? []) {
          const run = this.fromItem(item);
          if (!run) continue; // expired, not yet deleted
          runs.push(run);
          if (runs.length >= query.limit) {
            // The page is full: the next one starts right after this item (whatever follows in this day, or older days).
            return { runs, cursor: encodeCursor(day, recentKeyOf(item)) };
          }
        }
        start = out.LastEvaluatedKey;
        if (!start) {
          day -= DAY_MS;
          start = undefined;
        }
      }
      return { runs };
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError('query recent runs failed', { cause: error, retryable: true });
    }
  }

  async getLease(key: string): Promise<VaultLease | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: leaseKey(key), ConsistentRead: true }));
    return Item ? VaultLease.parse(Item) : undefined;
  }

  async acquireLease(key: string, holder: string, now: number, leaseMs: number): Promise<{ acquired: boolean; lease: VaultLease }> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(key),
          UpdateExpression: 'SET #k = :k, holder = :h, leaseUntil = :until, updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(holder) OR holder = :h OR leaseUntil <= :now',
          ExpressionAttributeNames: { '#k': 'key' },
          ExpressionAttributeValues: { ':k': key, ':h': holder, ':until': now + leaseMs, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { acquired: true, lease: VaultLease.parse(out.Attributes) };
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`acquire lease ${key} failed`, { cause: error, retryable: true });
      const lease = await this.getLease(key);
      if (!lease) throw new StoreError(`lease ${key} vanished while contended`, { retryable: true });
      return { acquired: false, lease };
    }
  }

  async resolveLease(key: string, holder: string, vaultId: string, now: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(key),
          UpdateExpression: 'SET vaultId = :v, leaseUntil = :zero, updatedAt = :now REMOVE holder',
          ConditionExpression: 'holder = :h',
          ExpressionAttributeValues: { ':v': vaultId, ':zero': 0, ':now': now, ':h': holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`resolve lease ${key} failed`, { cause: error, retryable: true });
      // Someone else holds it now (our lease expired): nothing to release.
    }
  }

  async releaseLease(key: string, holder: string, now: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(key),
          UpdateExpression: 'SET leaseUntil = :zero, updatedAt = :now REMOVE holder',
          ConditionExpression: 'holder = :h',
          ExpressionAttributeValues: { ':zero': 0, ':now': now, ':h': holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`release lease ${key} failed`, { cause: error, retryable: true });
    }
  }

  /**
   * Set the run's `notification` (one UpdateItem). Only on a finished run: a terminal run is never
   * saved again, so no step can overwrite it with a stale copy; the optimistic version is left alone.
   */
  async recordNotification(runId: string, record: NotificationRecord): Promise<RecordNotificationResult> {
    try {
      await this.updateFinishedRun(runId, { update: 'SET #n = :n', names: { '#n': 'notification' }, values: { ':n': record } });
      return 'recorded';
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`record notification of run ${runId} failed`, { cause: error, retryable: true });
      return (await this.get(runId)) ? 'not_terminal' : 'missing';
    }
  }

  async linkRetry(runId: string, retryRunId: string): Promise<{ result: 'linked' | 'missing' | 'not_terminal' } | { result: 'other'; retriedBy: string }> {
    try {
      await this.updateFinishedRun(runId, {
        update: 'SET retriedBy = :r',
        condition: '(attribute_not_exists(retriedBy) OR retriedBy = :r)',
        names: {},
        values: { ':r': retryRunId },
      });
      return { result: 'linked' };
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`link retry of run ${runId} failed`, { cause: error, retryable: true });
      const current = await this.get(runId);
      if (!current) return { result: 'missing' };
      if (!isTerminal(current.state)) return { result: 'not_terminal' };
      return current.retriedBy ? { result: 'other', retriedBy: current.retriedBy } : { result: 'not_terminal' };
    }
  }

  async putShareWatch(runId: string, at: number): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...shareWatchKey(runId), runId, dueShard: SHARE_WATCH_PARTITION, dueAt: at } }));
    } catch (error) {
      throw new StoreError(`put share watch of run ${runId} failed`, { cause: error, retryable: true });
    }
  }

  async deleteShareWatch(runId: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: shareWatchKey(runId) }));
    } catch (error) {
      throw new StoreError(`delete share watch of run ${runId} failed`, { cause: error, retryable: true });
    }
  }

  async listShareWatches(now: number, limit: number): Promise<Array<{ runId: string; at: number }>> {
    try {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'dueShard = :s AND dueAt <= :now',
          ExpressionAttributeValues: { ':s': SHARE_WATCH_PARTITION, ':now': now },
          Limit: limit,
        }),
      );
      return (out.Items ?? []).map((i) => ({ runId: String(i.runId), at: Number(i.dueAt) }));
    } catch (error) {
      throw new StoreError('query share watches failed', { cause: error, retryable: true });
    }
  }

  async recordShares(runId: string, shares: ShareRecord[], shareWatchAt: number | undefined, event?: TimelineEvent): Promise<RecordNotificationResult> {
    const sets = ['shares = :sh', ...(shareWatchAt === undefined ? [] : ['shareWatchAt = :w']), ...(event ? ['timeline = list_append(timeline, :e)'] : [])];
    const values: Record<string, unknown> = { ':sh': shares, ...(shareWatchAt === undefined ? {} : { ':w': shareWatchAt }), ...(event ? { ':e': [event] } : {}) };
    try {
      await this.updateFinishedRun(runId, { update: `SET ${sets.join(', ')}${shareWatchAt === undefined ? ' REMOVE shareWatchAt' : ''}`, names: {}, values });
      return 'recorded';
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`record shares of run ${runId} failed`, { cause: error, retryable: true });
      return (await this.get(runId)) ? 'not_terminal' : 'missing';
    }
  }

  /** One UpdateItem on a run that exists and is in a terminal state (its optimistic version untouched). */
  private async updateFinishedRun(
    runId: string,
    u: { update: string; condition?: string; names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<void> {
    const values: Record<string, unknown> = { ...u.values };
    TERMINAL_STATES.forEach((s, i) => (values[`:t${i}`] = s));
    const terminal = `#s IN (${TERMINAL_STATES.map((_, i) => `:t${i}`).join(', ')})`;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: runKey(runId),
        UpdateExpression: u.update,
        ConditionExpression: ['attribute_exists(pk)', ...(u.condition ? [u.condition] : []), terminal].join(' AND '),
        ExpressionAttributeNames: { ...u.names, '#s': 'state' },
        ExpressionAttributeValues: values,
      }),
    );
  }

  // ---- restores (lib/restore/record.ts): items RESTORE#<id>, never in the `recent` index -----------

  private restoreItem(r: RestoreRecord): Record<string, unknown> {
    const item: Record<string, unknown> = { ...restoreKey(r.restoreId), ...r };
    if (r.due && !isRestoreTerminal(r.state)) {
      item.dueShard = RESTORE_DUE_SHARD;
      item.dueAt = r.due.at;
    }
    return item;
  }

  private restoreFrom(item: Record<string, unknown> | undefined): RestoreRecord | undefined {
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, dueShard: _s, dueAt: _a, ...rest } = item;
    const parsed = RestoreRecord.safeParse(rest);
    if (!parsed.success) throw new StoreError(`corrupt restore item ${String(item.pk)}`, { cause: parsed.error });
    const r = parsed.data;
    if (r.expiresAt !== undefined && r.expiresAt * 1000 <= this.clock.now()) return undefined;
    return r;
  }

  async createRestore(restore: RestoreRecord): Promise<'created' | 'exists'> {
    return this.putIfAbsent(this.restoreItem(RestoreRecord.parse(restore)), `restore ${restore.restoreId}`);
  }

  async getRestore(restoreId: string): Promise<RestoreRecord | undefined> {
    return this.readConsistent(restoreKey(restoreId), `restore ${restoreId}`, (item) => this.restoreFrom(item));
  }

  async saveRestore(restore: RestoreRecord): Promise<RestoreSaveResult> {
    if (await this.putNextVersion(this.restoreItem(restore), restore.version, RESTORE_TERMINAL, `restore ${restore.restoreId}`)) return { ok: true, restore };
    const current = await this.getRestore(restore.restoreId);
    if (!current) return { ok: false, reason: 'missing' };
    return { ok: false, reason: isRestoreTerminal(current.state) ? 'terminal' : 'stale' };
  }

  async listDueRestores(now: number, limit: number): Promise<RestoreRecord[]> {
    try {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX,
          KeyConditionExpression: 'dueShard = :s AND dueAt <= :now',
          ExpressionAttributeValues: { ':s': RESTORE_DUE_SHARD, ':now': now },
          Limit: limit,
          ScanIndexForward: true,
        }),
      );
      return (out.Items ?? []).map((i) => this.restoreFrom(i)).filter((r): r is RestoreRecord => r !== undefined);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError('query due restores failed', { cause: error, retryable: true });
    }
  }
}
