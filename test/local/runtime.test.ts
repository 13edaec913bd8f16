/**
 * The local runtime against its fixture service (test/fixtures/local-service): packaged once with
 * `osls package --stage local`, then driven through the real protocols on loopback (HTTP, SQS,
 * DynamoDB). Only one file packages the fixture, so no two packagers share its .serverless/.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FunctionInvocationError, LocalRuntimeError } from '../../local/errors';
import { isPackageFresh } from '../../local/package';
import { startLocalRuntime, type InvocationRecord, type LocalRuntime } from '../../local/runtime';

const serviceDir = join(import.meta.dirname, '../fixtures/local-service');
const RATE_SCALE = 0.01; // rate(1 minute) -> every 600 ms

let runtime: LocalRuntime;
let dataDir: string;
let sqs: SQSClient;
let ddb: DynamoDBClient;
const invocations: InvocationRecord[] = [];
const logs: string[] = [];
let readyMs = 0;
// The system temp folder of this file's process, its own so other processes' entries do not count.
const systemTmp = process.env.TMPDIR;
let tmp: string;
let tmpBefore: string[];

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every SQS record the worker was given, in invocation order. */
function workerRecords(): Array<{ record: SQSRecord; batchSize: number; ok: boolean }> {
  return invocations
    .filter((i) => i.function === 'worker' && i.trigger === 'sqs')
    .flatMap((i) => (i.event as SQSEvent).Records.map((record) => ({ record, batchSize: (i.event as SQSEvent).Records.length, ok: i.ok })));
}

async function send(bodies: string[]): Promise<void> {
  await sqs.send(new SendMessageBatchCommand({
    QueueUrl: runtime.queue('WorkQueue').url,
    Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body, MessageAttributes: { kind: { DataType: 'String', StringValue: 'fixture' } } })),
  }));
}

async function dlqBodies(): Promise<string[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: runtime.queue('WorkDLQ').url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
  return (out.Messages ?? []).map((m) => m.Body ?? '');
}

async function itemStatus(pk: string): Promise<string | undefined> {
  const out = await ddb.send(new GetItemCommand({ TableName: runtime.table('ItemsTable').name, Key: { pk: { S: pk } } }));
  return out.Item?.status?.S;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cbr-flow-tmp-'));
  process.env.TMPDIR = tmp;
  dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-local-'));
  tmpBefore = readdirSync(tmp);
  const t0 = Date.now();
  runtime = await startLocalRuntime({
    serviceDir,
    dataDir,
    package: 'always',
    rateScale: RATE_SCALE,
    sqsPollers: 1,
    log: (line) => logs.push(line),
    onInvocation: (r) => invocations.push(r),
  });
  readyMs = Date.now() - t0;
  const client = { region: runtime.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  sqs = new SQSClient({ ...client, endpoint: runtime.sqsEndpoint });
  ddb = new DynamoDBClient({ ...client, endpoint: runtime.dynamodbEndpoint });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  sqs?.destroy();
  ddb?.destroy();
  // A start (osls package included) and stop leave nothing in the temp folder but the data folder.
  const tmpAfter = readdirSync(tmp);
  rmSync(dataDir, { recursive: true, force: true });
  if (systemTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = systemTmp;
  rmSync(tmp, { recursive: true, force: true });
  expect(tmpAfter).toEqual(tmpBefore);
});

describe('local runtime on the fixture service', () => {
  it('packages the service and becomes ready with every function, route, queue and table of the template', () => {
    console.log(`runtime ready in ${readyMs} ms (osls package included: ${logs.find((l) => l.includes('packaged')) ?? 'n/a'})`);
    expect(runtime.functions.map((f) => f.key).sort()).toEqual(['limited', 'submit', 'tick', 'worker']);
    expect(runtime.model.routes.map((r) => r.routeKey).sort()).toEqual(['GET /env', 'POST /items/{id}']);
    expect(runtime.queues.map((q) => q.name).sort()).toEqual(['local-fixture-local-work', 'local-fixture-local-work-dlq']);
    expect(runtime.table('ItemsTable').name).toBe('local-fixture-local-items');
    expect(runtime.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The next start reuses this package; another stage would be packaged again.
    expect(isPackageFresh(serviceDir, 'local')).toBe(true);
    expect(isPackageFresh(serviceDir, 'dev')).toBe(false);
  });

  it('serves an HTTP API route as a payload-2.0 event and answers with the handler\'s response', async () => {
    const res = await fetch(`${runtime.url}/items/a%20b?x=1&x=2&flag`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test': 'hello', cookie: 'c1=v1; c2=v2' },
      body: JSON.stringify({ messages: [] }),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-fixture')).toBe('yes');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const body = await res.json() as Record<string, unknown>;
    expect(body).toMatchObject({
      routeKey: 'POST /items/{id}',
      rawPath: '/items/a%20b',
      rawQueryString: 'x=1&x=2&flag',
      pathParameters: { id: 'a b' },
      queryStringParameters: { x: '1,2', flag: '' },
      header: 'hello',
      cookies: ['c1=v1', 'c2=v2'],
      isBase64Encoded: false,
      body: '{"messages":[]}',
      method: 'POST',
      stage: '$default',
      functionName: 'local-fixture-local-submit',
    });
    // The function's Timeout is 6 s; the context counts down from it.
    expect(body.remainingMs).toBeGreaterThan(4000);
    expect(body.remainingMs).toBeLessThanOrEqual(6000);
  });

  it('base64-encodes a binary body and answers 404 for a path or method no route declares', async () => {
    const res = await fetch(`${runtime.url}/items/bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: '{"messages":[]}',
    });
    const body = await res.json() as Record<string, unknown>;
    expect(body.isBase64Encoded).toBe(true);
    expect(body.body).toBe('{"messages":[]}');
    const missing = await fetch(`${runtime.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Not Found' });
    expect((await fetch(`${runtime.url}/items/x`, { method: 'DELETE' })).status).toBe(404);
  });

  it('resolves Ref, GetAtt, Join and Sub in the environment to the local resources, per function', async () => {
    const env = await (await fetch(`${runtime.url}/env`)).json() as Record<string, string | null>;
    const queue = runtime.queue('WorkQueue');
    expect(env).toEqual({
      TABLE_NAME: 'local-fixture-local-items',
      TABLE_ARN: 'arn:aws:dynamodb:eu-west-1:000000000000:table/local-fixture-local-items',
      WORK_QUEUE_URL: queue.url,
      WORK_QUEUE_ARN: 'arn:aws:sqs:eu-west-1:000000000000:local-fixture-local-work',
      JOINED: 'eu-west-1|local-fixture-local-work|plain',
      SUBBED: '000000000000/local-fixture-local-work/local-fixture-local-items/local',
      LITERAL: 'just-a-string',
      TICK_LABEL: null, // only tick declares it: each function has its own environment
      AWS_REGION: 'eu-west-1',
    });
    expect(queue.url.startsWith(`${runtime.sqsEndpoint}/000000000000/`)).toBe(true);
    const tick = await runtime.invoke('tick', { direct: true }) as Record<string, unknown>;
    expect(tick).toMatchObject({ event: { direct: true }, functionName: 'local-fixture-local-tick', label: 'fixture-tick' });
  });

  it('delivers SQS records shaped like Lambda\'s and, on a partial batch failure, deletes only the successful record', async () => {
    await send(['ok-a', 'fail-a']);
    const failed = await until('fail-a redelivered', () => workerRecords().find((r) => r.record.body === 'fail-a' && r.record.attributes.ApproximateReceiveCount === '2'));
    expect(failed.record.attributes.ApproximateReceiveCount).toBe('2');

    const first = workerRecords().find((r) => r.record.body === 'ok-a')!;
    expect(first.batchSize).toBe(2); // both records arrived in one batch
    const r = first.record;
    expect(r).toMatchObject({
      body: 'ok-a',
      eventSource: 'aws:sqs',
      eventSourceARN: runtime.queue('WorkQueue').arn,
      awsRegion: 'eu-west-1',
      md5OfBody: createHash('md5').update('ok-a').digest('hex'),
      messageAttributes: { kind: { stringValue: 'fixture', stringListValues: [], binaryListValues: [], dataType: 'String' } },
    });
    expect(r.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.receiptHandle.length).toBeGreaterThan(10);
    expect(Object.keys(r.attributes).sort()).toEqual(['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SenderId', 'SentTimestamp']);
    expect(r.attributes.ApproximateReceiveCount).toBe('1');

    expect(await itemStatus('ok-a')).toBe('done');
    // The failed record ends in the DLQ after maxReceiveCount (2) receives; the good one was never redelivered.
    await until('fail-a in the DLQ', async () => (await dlqBodies()).includes('fail-a'));
    expect(workerRecords().filter((x) => x.record.body === 'ok-a')).toHaveLength(1);
    expect(workerRecords().filter((x) => x.record.body === 'fail-a').map((x) => x.record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(logs.some((l) => l.includes('[worker] failing'))).toBe(true); // handler logs carry the function name
  }, 20_000);

  it('fails the whole batch when the handler throws: nothing is deleted, both records are redelivered', async () => {
    await send(['throw', 'ok-b']);
    await until('the thrown batch in the DLQ', async () => {
      const dlq = await dlqBodies();
      return dlq.includes('throw') && dlq.includes('ok-b');
    });
    const okB = workerRecords().filter((x) => x.record.body === 'ok-b');
    expect(okB.map((x) => x.record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(okB.every((x) => !x.ok)).toBe(true);
    expect(await itemStatus('ok-b')).toBeUndefined();
  }, 20_000);

  it('honours BatchSize (2) and the table\'s GSI is queryable', async () => {
    const bodies = ['bs-1', 'bs-2', 'bs-3', 'bs-4', 'bs-5'];
    await send(bodies);
    await until('all five processed', () => bodies.every((b) => workerRecords().some((x) => x.record.body === b && x.ok)));
    const batches = invocations.filter((i) => i.function === 'worker' && (i.event as SQSEvent).Records.some((r) => r.body.startsWith('bs-')));
    expect(batches.every((b) => (b.event as SQSEvent).Records.length <= 2)).toBe(true);
    expect(batches.map((b) => (b.event as SQSEvent).Records.length)).toEqual([2, 2, 1]);
    const done = await ddb.send(new QueryCommand({
      TableName: runtime.table('ItemsTable').name,
      IndexName: 'byStatus',
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': { S: 'done' } },
    }));
    expect(done.Items?.map((i) => i.pk?.S).sort()).toEqual(expect.arrayContaining([...bodies, 'ok-a']));
  }, 20_000);

  it('fires the rate schedule every minute x rateScale with the rule\'s Input, and never the disabled rule', async () => {
    const ticks = await until('three schedule ticks', () => {
      const t = invocations.filter((i) => i.function === 'tick' && i.trigger === 'schedule');
      return t.length >= 3 ? t : undefined;
    }, 10_000);
    for (const t of ticks) expect(t.event).toEqual({ source: 'fixture-schedule', n: 1 });
    const gaps = ticks.slice(1).map((t, i) => t.startedAt - ticks[i]!.startedAt);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(60_000 * RATE_SCALE * 0.7);
      expect(gap).toBeLessThan(60_000 * RATE_SCALE * 2.5);
    }
    const schedules = runtime.schedules();
    expect(schedules.find((s) => s.logicalId === 'TickEventsRuleSchedule3')).toMatchObject({ enabled: false, nextAt: undefined });
  });

  it('arms the Scheduler cron in its time zone and fires it on demand with its Input', async () => {
    const cron = runtime.schedules().find((s) => s.expression.startsWith('cron('))!;
    expect(cron).toMatchObject({ timezone: 'Asia/Shanghai', enabled: true });
    // cron(30 2 ? * MON-FRI *) in Asia/Shanghai = 18:30 UTC the evening before, Sunday..Thursday.
    expect(cron.nextAt!.getUTCHours()).toBe(18);
    expect(cron.nextAt!.getUTCMinutes()).toBe(30);
    expect([0, 1, 2, 3, 4]).toContain(cron.nextAt!.getUTCDay());
    expect(cron.nextAt!.getTime() - Date.now()).toBeLessThan(4 * 86_400_000);
    const result = await runtime.fireSchedule(cron.logicalId) as { event: unknown };
    // Scheduler's context attributes are filled in, as EventBridge Scheduler does.
    expect(result.event).toEqual({ source: 'fixture-cron', scheduledTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
  });

  it('enforces the function Timeout: the invocation fails as timed out and the next one gets a fresh environment', async () => {
    const err = await runtime.invoke('tick', { sleepMs: 1500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionInvocationError);
    expect(err).toMatchObject({ errorType: 'Sandbox.Timedout', timedOut: true, functionName: 'tick' });
    const ok = await runtime.invoke('tick', null) as { remainingMs: number };
    expect(ok.remainingMs).toBeGreaterThan(500);
    expect(ok.remainingMs).toBeLessThanOrEqual(1000);
    await expect(runtime.invoke('nope', {})).rejects.toThrow(/no function "nope"; known: /);
  });

  it('throttles a synchronous invoke over the reserved concurrency, as Lambda does', async () => {
    const [first, second] = await Promise.allSettled([runtime.invoke('limited', { sleepMs: 400 }), runtime.invoke('limited', { sleepMs: 400 })]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: { errorType: 'TooManyRequestsException' } });
    expect(await runtime.invoke('limited', null)).toMatchObject({ functionName: 'local-fixture-local-limited', label: null });
  });

  it('keeps DynamoDB data under dataDir between runs and refuses a second runtime on the same folder', async () => {
    await expect(startLocalRuntime({ serviceDir, dataDir, package: 'never', sources: { http: false, sqs: false, schedules: false }, warm: false, log: () => undefined }))
      .rejects.toThrow(LocalRuntimeError);
    await runtime.stop();
    const again = await startLocalRuntime({ serviceDir, dataDir, package: 'never', sources: { http: false, sqs: false, schedules: false }, warm: false, log: () => undefined });
    try {
      const client = new DynamoDBClient({ region: again.region, endpoint: again.dynamodbEndpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
      const out = await client.send(new GetItemCommand({ TableName: again.table('ItemsTable').name, Key: { pk: { S: 'ok-a' } } }));
      expect(out.Item?.status?.S).toBe('done');
      client.destroy();
    } finally {
      await again.stop();
    }
  });
});
