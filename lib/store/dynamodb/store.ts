/**
 * RunStore on DynamoDB (AWS SDK v3 document client). Every write is conditional: create with
 * attribute_not_exists, save with the expected version and "not terminal", leases with holder/expiry
 * conditions. No transactions (dynalite lacks TransactWriteItems; nothing here needs two items at once).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { NotificationRecord } from '../run';
import type { Clock, RecentFilter, RecordNotificationResult, RunStore, SaveResult } from '../../ports';
import { StoreError } from '../errors';
import { isTerminal, RunRecord, TERMINAL_STATES, VaultLease } from '../run';
import { DUE_INDEX, RECENT_INDEX } from './table';

const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' });
const leaseKey = (key: string) => ({ pk: `LEASE#${key}`, sk: 'LEASE' });
const dayOf = (ms: number) => `RUNS#${new Date(ms).toISOString().slice(0, 10)}`;
const DAY_MS = 86_400_000;

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export class DynamoRunStore implements RunStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
    private readonly options: { recentDays?: number } = {},
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
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: this.toItem(RunRecord.parse(run)), ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw new StoreError(`create run ${run.runId} failed`, { cause: error, retryable: true });
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    try {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: runKey(runId), ConsistentRead: true }));
      return this.fromItem(Item);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`get run ${runId} failed`, { cause: error, retryable: true });
    }
  }

  async save(run: RunRecord): Promise<SaveResult> {
    const values: Record<string, unknown> = { ':prev': run.version - 1 };
    TERMINAL_STATES.forEach((s, i) => (values[`:t${i}`] = s));
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.toItem(run),
          ConditionExpression: `attribute_exists(pk) AND #v = :prev AND NOT (#s IN (${TERMINAL_STATES.map((_, i) => `:t${i}`).join(', ')}))`,
          ExpressionAttributeNames: { '#v': 'version', '#s': 'state' },
          ExpressionAttributeValues: values,
        }),
      );
      return { ok: true, run };
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`save run ${run.runId} failed`, { cause: error, retryable: true });
      // dynalite does not return the old item on a failed condition: read it to say why.
      const current = await this.get(run.runId);
      if (!current) return { ok: false, reason: 'missing' };
      return { ok: false, reason: isTerminal(current.state) ? 'terminal' : 'stale' };
    }
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

  /** With a project filter, pages on past runs of other projects (bounded by `recentDays`) until `limit` match. */
  async listRecent(limit: number, filter: RecentFilter = {}): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    const today = this.clock.now();
    for (let d = 0; d < (this.options.recentDays ?? 14) && runs.length < limit; d++) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: RECENT_INDEX,
            KeyConditionExpression: 'recentDay = :d',
            ExpressionAttributeValues: { ':d': dayOf(today - d * DAY_MS) },
            ScanIndexForward: false,
            Limit: filter.projectIds ? Math.max(limit, 100) : limit - runs.length,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const run = this.fromItem(item);
          if (run && (!filter.projectIds || filter.projectIds.has(run.request.projectId))) runs.push(run);
        }
        start = out.LastEvaluatedKey;
      } while (start && runs.length < limit);
    }
    return runs.slice(0, limit);
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
}
