/**
 * RetentionStore on DynamoDB: items in the runs table (single-table, like the vault-name leases), none
 * of them in an index (no dueShard/recentDay attributes):
 *   pk HOLDS                sk <holdId>                 a hold (kept after release, for the record)
 *   pk RETENTION            sk SCOPE#<scope key>        a vault the sweep looks after
 *   pk RETENTION            sk WATERMARK                how far the run records were read into scopes
 *   pk LEDGER#<scope key>   sk <backupId>               a ledger entry; TTL `expiresAt`
 * Writes are conditional where two writers could race (hold create/release, scope from an older run).
 * No item may carry the index key attributes with another type (`createdAt` is the recent index's
 * number key): the ledger's CBR creation time is `backupCreatedAt`.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, RetentionStore } from '../../ports';
import { Hold, LedgerEntry, RetentionScope } from '../../retention/records';
import { StoreError } from '../errors';

const HOLDS = 'HOLDS';
const RETENTION = 'RETENTION';
const ledgerPk = (scopeKey: string) => `LEDGER#${scopeKey}`;

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

export class DynamoRetentionStore implements RetentionStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(client: DynamoDBClient, private readonly tableName: string, private readonly clock: Clock) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`${what} failed`, { cause: error, retryable: true });
    }
  }

  /** Every item of a partition (paged), optionally from a sort-key prefix. */
  private async queryAll(pk: string, skPrefix?: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: skPrefix ? 'pk = :pk AND begins_with(sk, :sk)' : 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk, ...(skPrefix ? { ':sk': skPrefix } : {}) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: unknown } }, item: Record<string, unknown>): T {
    const r = schema.safeParse(strip(item));
    if (!r.success) throw new StoreError(`corrupt retention item ${String(item.pk)}/${String(item.sk)}`, { cause: r.error });
    return r.data;
  }

  async createHold(hold: Hold): Promise<'created' | 'exists'> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: HOLDS, sk: hold.holdId, ...Hold.parse(hold) }, ConditionExpression: 'attribute_not_exists(pk)' }));
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw new StoreError(`create hold ${hold.holdId} failed`, { cause: error, retryable: true });
    }
  }

  async getHold(holdId: string): Promise<Hold | undefined> {
    return this.wrap(`get hold ${holdId}`, async () => {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: HOLDS, sk: holdId }, ConsistentRead: true }));
      return Item ? this.parse(Hold, Item) : undefined;
    });
  }

  async releaseHold(holdId: string, released: NonNullable<Hold['released']>): Promise<{ result: 'released' | 'already'; hold: Hold } | { result: 'missing' }> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: HOLDS, sk: holdId },
          UpdateExpression: 'SET released = :r',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(released)',
          ExpressionAttributeValues: { ':r': released },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { result: 'released', hold: this.parse(Hold, out.Attributes ?? {}) };
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError(`release hold ${holdId} failed`, { cause: error, retryable: true });
      const hold = await this.getHold(holdId);
      return hold ? { result: 'already', hold } : { result: 'missing' };
    }
  }

  async listHolds(options: { includeReleased?: boolean } = {}): Promise<Hold[]> {
    return this.wrap('list holds', async () => {
      const holds = (await this.queryAll(HOLDS)).map((i) => this.parse(Hold, i));
      return holds.filter((h) => options.includeReleased || !h.released).sort((a, b) => a.at - b.at || a.holdId.localeCompare(b.holdId));
    });
  }

  async listScopes(): Promise<RetentionScope[]> {
    return this.wrap('list retention scopes', async () => (await this.queryAll(RETENTION, 'SCOPE#')).map((i) => this.parse(RetentionScope, i)));
  }

  async putScope(scope: RetentionScope): Promise<'stored' | 'stale'> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: RETENTION, sk: `SCOPE#${scope.key}`, ...RetentionScope.parse(scope) },
          ConditionExpression: 'attribute_not_exists(pk) OR runCreatedAt <= :c',
          ExpressionAttributeValues: { ':c': scope.runCreatedAt },
        }),
      );
      return 'stored';
    } catch (error) {
      if (isConditionFailure(error)) return 'stale';
      throw new StoreError(`store retention scope ${scope.key} failed`, { cause: error, retryable: true });
    }
  }

  async getWatermark(): Promise<number | undefined> {
    return this.wrap('get retention watermark', async () => {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: RETENTION, sk: 'WATERMARK' }, ConsistentRead: true }));
      return typeof Item?.at === 'number' ? Item.at : undefined;
    });
  }

  async setWatermark(at: number): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: RETENTION, sk: 'WATERMARK', at },
          ConditionExpression: 'attribute_not_exists(pk) OR #at < :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw new StoreError('set retention watermark failed', { cause: error, retryable: true });
    }
  }

  async getLedger(scopeKey: string, backupId: string): Promise<LedgerEntry | undefined> {
    return this.wrap(`get ledger entry ${backupId}`, async () => {
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: ledgerPk(scopeKey), sk: backupId }, ConsistentRead: true }));
      if (!Item) return undefined;
      const e = this.parse(LedgerEntry, Item);
      return e.expiresAt * 1000 > this.clock.now() ? e : undefined;
    });
  }

  async putLedger(entry: LedgerEntry): Promise<void> {
    await this.wrap(`write ledger entry ${entry.backupId}`, () =>
      this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: ledgerPk(entry.scopeKey), sk: entry.backupId, ...LedgerEntry.parse(entry) } })),
    );
  }

  async listLedger(scopeKey: string): Promise<LedgerEntry[]> {
    return this.wrap(`list ledger of ${scopeKey}`, async () => {
      const now = this.clock.now();
      return (await this.queryAll(ledgerPk(scopeKey))).map((i) => this.parse(LedgerEntry, i)).filter((e) => e.expiresAt * 1000 > now);
    });
  }
}
