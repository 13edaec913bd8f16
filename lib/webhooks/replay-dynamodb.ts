/**
 * ReplayGuard on the runs table (the same single table, same key attributes `pk`/`sk`, same TTL
 * attribute `expiresAt` in epoch seconds — see lib/store/dynamodb/table.ts). One item per claimed
 * message: pk `WEBHOOK#<webhook-id>`, sk `WEBHOOK`. The item carries none of the GSI attributes, so it
 * never shows up in the `due` or `recent` indexes.
 *
 * The claim is one conditional PutItem: it succeeds when no item exists OR the existing one has
 * expired (DynamoDB deletes TTL'd items lazily, up to days later; dynalite never does), so two
 * concurrent claims of one id cannot both win. A release does not delete (the role has no
 * DeleteItem): it expires the claim with a conditional UpdateItem that only matches this container's
 * own claim token (TTL = now: expired for the next claim, and deleted by DynamoDB's TTL sweep, which
 * ignores timestamps more than five years old, so 0 would keep it forever).
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AppError } from '../errors';
import { TTL_ATTRIBUTE } from '../store/dynamodb/table';
import type { ReplayGuard } from './replay';

export const REPLAY_SK = 'WEBHOOK';
export const replayKey = (messageId: string) => ({ pk: `WEBHOOK#${messageId}`, sk: REPLAY_SK });

/** The replay table could not be reached: the request should be retried later (503), not refused. */
export class ReplayStoreError extends AppError {
  override readonly name = 'ReplayStoreError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: true });
  }
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export class DynamoReplayGuard implements ReplayGuard {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: { now(): number } = Date,
  ) {}

  async claim(messageId: string, expiresAt: number): Promise<boolean> {
    const now = this.clock.now();
    const token = randomUUID();
    const key = replayKey(messageId);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: key.pk },
            sk: { S: key.sk },
            [TTL_ATTRIBUTE]: { N: String(Math.ceil(expiresAt / 1000)) },
            claimedAt: { N: String(now) },
            token: { S: token },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(now / 1000)) } },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new ReplayStoreError('recording the webhook id failed', { cause: error });
    }
    this.tokens.set(messageId, token);
    return true;
  }

  async release(messageId: string): Promise<void> {
    const token = this.tokens.get(messageId);
    if (token === undefined) return;
    this.tokens.delete(messageId);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: replayKey(messageId).pk }, sk: { S: REPLAY_SK } },
          UpdateExpression: 'SET #ttl = :now REMOVE #token',
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE, '#token': 'token' },
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(this.clock.now() / 1000)) }, ':token': { S: token } },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return;
      throw new ReplayStoreError('releasing the webhook id failed', { cause: error });
    }
  }
}
