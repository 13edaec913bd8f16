/**
 * The runs table: one item per run (pk RUN#<id>, sk RUN) and one per vault-name lease
 * (pk LEASE#<project>#<region>#<name>, sk LEASE).
 *
 * - GSI `due` (sparse): dueShard = "DUE#<n>" (n = hash(runId) mod DUE_SHARDS), dueAt = epoch ms of the
 *   next look by the checker. Only non-terminal runs carry these attributes, so the index holds
 *   exactly the runs still in flight; the checker queries each shard with dueAt <= now.
 * - GSI `recent`: recentDay = "RUNS#YYYY-MM-DD" (UTC creation day), createdAt: newest runs for GET /runs.
 * - TTL attribute `expiresAt` (epoch seconds), set when a run ends; reads filter expired items too,
 *   since DynamoDB deletes them lazily (and dynalite never does).
 *
 * serverless.yml declares the same table; test/contract/serverless.test.ts checks they agree.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

export const DUE_INDEX = 'due';
export const RECENT_INDEX = 'recent';
export const TTL_ATTRIBUTE = 'expiresAt';

export const RUNS_TABLE_SCHEMA = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'dueShard', AttributeType: 'S' },
    { AttributeName: 'dueAt', AttributeType: 'N' },
    { AttributeName: 'recentDay', AttributeType: 'S' },
    { AttributeName: 'createdAt', AttributeType: 'N' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: DUE_INDEX,
      KeySchema: [
        { AttributeName: 'dueShard', KeyType: 'HASH' },
        { AttributeName: 'dueAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: RECENT_INDEX,
      KeySchema: [
        { AttributeName: 'recentDay', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
} as const satisfies Omit<CreateTableCommandInput, 'TableName'>;

/** Create the runs table (tests, local runner). TTL is set when the server supports it (dynalite does not). */
export async function createRunsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const input = structuredClone(RUNS_TABLE_SCHEMA) as unknown as Omit<CreateTableCommandInput, 'TableName'>;
  await client.send(new CreateTableCommand({ ...input, TableName: tableName }));
  for (let i = 0; i < 50; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'UnknownOperationException') throw error;
  }
}
