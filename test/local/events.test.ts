/**
 * The sample events of events/*.json: each is the exact payload AWS delivers for its trigger (API Gateway
 * HTTP API payload 2.0, an SQS event-source batch, the EventBridge rule / Scheduler input of
 * serverless.yml, a direct invoke), and each is invoked, verbatim, through the local runtime of the real
 * serverless.yml against the CBR emulator's DEMO seed.
 *
 * The step samples form one chain (run 5d7c2a9e-…, started by start-run.invoke.json): each step's
 * sample is exactly what the previous step published to its queue (checked here, modulo occurredAt), and
 * the vault/checkpoint/backup ids in them are the ones a fresh emulator with the default seed assigns
 * when the samples are replayed in order (they are CBR-assigned, so they cannot be chosen).
 * When a change in the pipeline or the emulator changes them, regenerate the chained samples with
 *   UPDATE_EVENTS=1 npx vitest run test/local/events.test.ts
 *
 * Packaging: this file packages serverless.yml into a private temporary service directory (the project
 * files symlinked, serverless.yml copied), so it never reads or clears the project's .serverless/, which
 * test/local/service.test.ts re-packages concurrently.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message as SqsMessage } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../emulator/index';
import { parseMessage, type Message, type MessageType } from '../../lib/contracts';
import { ScheduleTrigger } from '../../lib/contracts/schedule-trigger';
import { runIdForKey, runIdForPlan } from '../../lib/pipeline/start-run';
import { startLocalRuntime, type LocalRuntime, type QueueInfo } from '../../local/runtime';
import { toSqsRecord } from '../../local/sqs-driver';
import { LOCAL_PIPELINE_DEFAULTS, PROJECT_ROOT } from '../../local/stack';
import { newWebhookKey, signedHeaders } from '../../local/webhook-keys';
// Typed imports: tsc (npm test) checks that each sample has the @types/aws-lambda shape of its trigger.
import addResourcesSqs from '../../events/add-resources.sqs.json';
import checkStatusEventBridge from '../../events/check-status.eventbridge.json';
import checkStatusSchedule from '../../events/check-status.schedule.json';
import createVaultSqs from '../../events/create-vault.sqs.json';
import getRunHttp from '../../events/get-run.http.json';
import getRunListHttp from '../../events/get-run.list.http.json';
import runActionsCancelHttp from '../../events/run-actions.cancel.http.json';
import vaultsOrphanedHttp from '../../events/vaults.orphaned.http.json';
import restoresStartHttp from '../../events/restores.start.http.json';
import coverageHttp from '../../events/coverage.http.json';
import retentionPreviewHttp from '../../events/retention.preview.http.json';
import retentionSweepSchedule from '../../events/retention-sweep.schedule.json';
import notifyRunFinishedSqs from '../../events/notify-run-finished.sqs.json';
import planFiringFailedSqs from '../../events/plan-firing-failed.sqs.json';
import shareBackupSqs from '../../events/share-backup.sqs.json';
import startCheckpointSqs from '../../events/start-checkpoint.sqs.json';
import startRunHttp from '../../events/start-run.http.json';
import startRunInvoke from '../../events/start-run.invoke.json';
import startRunSchedule from '../../events/start-run.schedule.json';
import startRunSqs from '../../events/start-run.sqs.json';
import { serviceCopy } from '../helpers/service-copy';

const TYPED = {
  http: { 'start-run.http.json': startRunHttp, 'get-run.http.json': getRunHttp, 'get-run.list.http.json': getRunListHttp, 'run-actions.cancel.http.json': runActionsCancelHttp, 'vaults.orphaned.http.json': vaultsOrphanedHttp, 'restores.start.http.json': restoresStartHttp, 'coverage.http.json': coverageHttp, 'retention.preview.http.json': retentionPreviewHttp } satisfies Record<string, APIGatewayProxyEventV2>,
  sqs: {
    'start-run.sqs.json': startRunSqs,
    'create-vault.sqs.json': createVaultSqs,
    'add-resources.sqs.json': addResourcesSqs,
    'start-checkpoint.sqs.json': startCheckpointSqs,
    'share-backup.sqs.json': shareBackupSqs,
    'notify-run-finished.sqs.json': notifyRunFinishedSqs,
    'plan-firing-failed.sqs.json': planFiringFailedSqs,
  } satisfies Record<string, SQSEvent>,
  // JSON imports widen string literals, so 'detail-type' is checked at run time below.
  eventbridge: { 'check-status.eventbridge.json': checkStatusEventBridge } satisfies Record<string, Omit<ScheduledEvent, 'detail-type'> & { 'detail-type': string }>,
  input: { 'check-status.schedule.json': checkStatusSchedule, 'start-run.schedule.json': startRunSchedule, 'retention-sweep.schedule.json': retentionSweepSchedule } satisfies Record<string, { source: string }>,
  invoke: { 'start-run.invoke.json': startRunInvoke } satisfies Record<string, { id: string; type: string; version: number; runId: string; occurredAt: string; attempt: number; data: { request: object } }>,
};

type Kind = 'http' | 'sqs' | 'dlq' | 'invoke' | 'scheduler-input' | 'rule-input' | 'eventbridge';
interface Sample { fn: string; kind: Kind; message?: MessageType; sender?: string }

/** Every sample: the function it is for, how it is delivered and, for SQS, the message type and its sender. */
const SAMPLES: Record<string, Sample> = {
  'start-run.http.json': { fn: 'start-run', kind: 'http' },
  'start-run.invoke.json': { fn: 'start-run', kind: 'invoke' },
  'start-run.sqs.json': { fn: 'start-run', kind: 'sqs', message: 'run.requested' },
  'start-run.schedule.json': { fn: 'start-run', kind: 'scheduler-input' },
  'get-run.http.json': { fn: 'get-run', kind: 'http' },
  'get-run.list.http.json': { fn: 'get-run', kind: 'http' },
  'run-actions.cancel.http.json': { fn: 'run-actions', kind: 'http' },
  'vaults.orphaned.http.json': { fn: 'vaults', kind: 'http' },
  'restores.start.http.json': { fn: 'restores', kind: 'http' },
  'coverage.http.json': { fn: 'coverage', kind: 'http' },
  'retention.preview.http.json': { fn: 'retention', kind: 'http' },
  'retention-sweep.schedule.json': { fn: 'retention-sweep', kind: 'rule-input' },
  'create-vault.sqs.json': { fn: 'create-vault', kind: 'sqs', message: 'run.requested', sender: 'start-run' },
  'add-resources.sqs.json': { fn: 'add-resources', kind: 'sqs', message: 'vault.ready', sender: 'create-vault' },
  'start-checkpoint.sqs.json': { fn: 'start-checkpoint', kind: 'sqs', message: 'resources.bound', sender: 'add-resources' },
  'share-backup.sqs.json': { fn: 'share-backup', kind: 'sqs', message: 'checkpoint.finished', sender: 'check-status' },
  'notify-run-finished.sqs.json': { fn: 'notify-run-finished', kind: 'sqs', message: 'run.finished', sender: 'share-backup' },
  'plan-firing-failed.sqs.json': { fn: 'plan-firing-failed', kind: 'dlq' },
  'check-status.schedule.json': { fn: 'check-status', kind: 'rule-input' },
  'check-status.eventbridge.json': { fn: 'check-status', kind: 'eventbridge' },
};

const EVENTS_DIR = join(PROJECT_ROOT, 'events');
const UPDATE = process.env.UPDATE_EVENTS === '1';
const CHAIN_RUN = startRunInvoke.runId;

const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

/** MD5OfMessageAttributes as SQS computes it (names sorted; length-prefixed name, type, transport byte, value). */
function md5OfAttributes(attributes: SQSMessageAttributes): string {
  const parts: Buffer[] = [];
  const field = (value: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(value.length);
    parts.push(length, value);
  };
  for (const name of Object.keys(attributes).sort()) {
    const a = attributes[name]!;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(a.dataType, 'utf8'));
    const binary = a.dataType.startsWith('Binary');
    parts.push(Buffer.from([binary ? 2 : 1]));
    field(binary ? Buffer.from(a.binaryValue ?? '', 'base64') : Buffer.from(a.stringValue ?? '', 'utf8'));
  }
  return md5(Buffer.concat(parts));
}

function readSample<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8')) as T;
}

function writeSample(file: string, value: unknown): void {
  writeFileSync(join(EVENTS_DIR, file), `${JSON.stringify(value, null, 2)}\n`);
}

let serviceDir: string;
let service: ReturnType<typeof serviceCopy> | undefined;
let emulator: Emulator;
let runtime: LocalRuntime;
let sqs: SQSClient;
const logs: string[] = [];
const timings: string[] = [];

/** The queue a function's SQS event-source mapping reads, from the packaged template. */
function queueOf(fn: string): QueueInfo {
  const def = runtime.model.functions.find((f) => f.key === fn)!;
  const mapping = runtime.model.eventSourceMappings.find((m) => m.functionLogicalId === def.logicalId);
  if (!mapping) throw new Error(`${fn} has no SQS event source in serverless.yml`);
  return runtime.queue(mapping.queueLogicalId);
}

/** The local stage authenticates POST /runs like every stage: the functions get this key (WEBHOOK_KEYS_JSON). */
const WEBHOOK_KEY = newWebhookKey();

/** An HTTP POST sample as its sender would send it now: Standard Webhooks headers over its exact body. */
function signed(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  if (event.requestContext.http.method !== 'POST' || event.body === undefined) return event;
  return { ...event, headers: { ...event.headers, ...signedHeaders([WEBHOOK_KEY], event.body) } };
}

async function invoke<T>(fn: string, file: string): Promise<T> {
  const started = Date.now();
  const sample = readSample(file);
  const result = (await runtime.invoke(fn, SAMPLES[file]?.kind === 'http' ? signed(sample as APIGatewayProxyEventV2) : sample)) as T;
  timings.push(`${fn} ${file}: ${Date.now() - started} ms`);
  return result;
}

/** Every message now visible in a queue (received with all attributes, then deleted). */
async function drain(queue: QueueInfo): Promise<SqsMessage[]> {
  const out: SqsMessage[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageAttributeNames: ['All'],
    }));
    const batch = r.Messages ?? [];
    if (batch.length === 0) return out;
    for (const m of batch) {
      out.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

/** An AWS-looking receipt handle (opaque base64 beginning AQEB), stable for a message id. */
function receiptHandleFor(messageId: string): string {
  const h = (s: string) => createHash('sha512').update(s).digest();
  return `AQEB${Buffer.concat([h(messageId), h(`${messageId}/2`), h(`${messageId}/3`)]).toString('base64').slice(0, 240)}`;
}

/** The Lambda SQS event AWS delivers for a message a step published (used by UPDATE_EVENTS=1). */
function sampleEventOf(m: SqsMessage, queue: QueueInfo, sender: string): SQSEvent {
  const r = toSqsRecord(m, queue.arn, runtime.region);
  const sent = Number(m.Attributes?.SentTimestamp ?? Date.now());
  const messageAttributes = Object.fromEntries(Object.keys(r.messageAttributes).sort().map((k) => [k, r.messageAttributes[k]!]));
  const record: SQSRecord = {
    messageId: r.messageId,
    receiptHandle: receiptHandleFor(r.messageId),
    body: r.body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sent),
      SenderId: `AROAQXAMPLE7ROLE5ID3X:${runtime.model.functions.find((f) => f.key === sender)!.functionName}`,
      ApproximateFirstReceiveTimestamp: String(sent + 23),
    },
    messageAttributes,
    md5OfMessageAttributes: md5OfAttributes(messageAttributes),
    md5OfBody: md5(r.body),
    eventSource: 'aws:sqs',
    eventSourceARN: r.eventSourceARN,
    awsRegion: r.awsRegion,
  };
  return { Records: [record] };
}

/**
 * The sample for `file` must carry exactly the message the previous step published for the chained run
 * (same envelope id, type, data; occurredAt aside), and SQS's MD5s of it must be computed as the samples' are.
 */
async function expectSampleIsPublished(file: string): Promise<void> {
  const sample = SAMPLES[file]!;
  const queue = queueOf(sample.fn);
  const published = (await drain(queue)).filter((m) => {
    const body = JSON.parse(m.Body!) as Message;
    return body.runId === CHAIN_RUN && body.type === sample.message;
  });
  expect(published.length, `${sample.sender} published a ${sample.message} for ${CHAIN_RUN} to ${queue.name}`).toBeGreaterThanOrEqual(1);
  const bodies = published.map((m) => JSON.parse(m.Body!) as Message);
  // A re-delivered step re-publishes the very same envelope (stable id), never a different one.
  expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
  const m = published[0]!;
  const record = toSqsRecord(m, queue.arn, runtime.region);
  expect(m.MD5OfBody).toBe(md5(m.Body!));
  expect(m.MD5OfMessageAttributes, 'the MD5OfMessageAttributes SQS computed').toBe(md5OfAttributes(record.messageAttributes));

  const current = JSON.parse(readSample<SQSEvent>(file).Records[0]!.body) as Message;
  if (UPDATE && JSON.stringify({ ...bodies[0], occurredAt: current.occurredAt }) !== JSON.stringify(current)) {
    writeSample(file, sampleEventOf(m, queue, sample.sender!));
  }
  const now = JSON.parse(readSample<SQSEvent>(file).Records[0]!.body) as Message;
  expect({ ...bodies[0], occurredAt: now.occurredAt }, `${file} is stale: regenerate with UPDATE_EVENTS=1`).toEqual(now);
}

beforeAll(async () => {
  const t0 = Date.now();
  // The sample plans are deployed to no stage; this copy deploys the first one to the local stage, as a
  // team would with `stages: [local]`.
  service = serviceCopy('cbr-flow-events-', 'local');
  serviceDir = service.dir;
  // The emulator exactly as `npm run invoke` / `npm run emulator` start it: DEMO seed, default timings.
  emulator = await startEmulator();
  runtime = await startLocalRuntime({
    serviceDir,
    stage: 'local',
    dataDir: null,
    package: 'always',
    sources: { http: false, sqs: false, schedules: false }, // like `npm run invoke`: only what the test invokes runs
    log: (line) => logs.push(line),
    envDefaults: { ...LOCAL_PIPELINE_DEFAULTS, CHECK_FIRST_DELAY_SECONDS: '0' },
    env: {
      STAGE: 'local',
      CBR_ENDPOINT: emulator.url,
      IAM_ENDPOINT: emulator.url,
      CBR_REGION: DEMO.region,
      CBR_CREDENTIALS_JSON: JSON.stringify({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }),
      WEBHOOK_KEYS_JSON: JSON.stringify([WEBHOOK_KEY]),
    },
  });
  sqs = new SQSClient({ endpoint: runtime.sqsEndpoint, region: runtime.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  timings.push(`package + local runtime ready: ${Date.now() - t0} ms`);
}, 180_000); // packages all functions with esbuild first: slow on a loaded 2-core machine

afterAll(async () => {
  console.log(timings.join('\n'));
  sqs?.destroy();
  await runtime?.stop();
  await emulator?.stop();
  service?.remove();
});

describe('events/*.json: the exact shapes AWS delivers', () => {
  it('lists every sample, and every function of serverless.yml has at least one', () => {
    const files = readdirSync(EVENTS_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(Object.keys(SAMPLES).sort());
    const covered = new Set(Object.values(SAMPLES).map((s) => s.fn));
    expect([...covered].sort()).toEqual(runtime.functions.map((f) => f.key).sort());
    // The typed imports (checked by tsc) are these very files.
    if (!UPDATE) for (const group of Object.values(TYPED)) for (const [file, value] of Object.entries(group)) expect(value, file).toEqual(readSample(file));
  });

  it('HTTP samples are API Gateway HTTP API payload 2.0 events for a route serverless.yml gives their function', () => {
    for (const [file, s] of Object.entries(SAMPLES).filter(([, s]) => s.kind === 'http')) {
      const e = readSample<APIGatewayProxyEventV2>(file);
      const fnId = runtime.functions.find((f) => f.key === s.fn)!.logicalId;
      const routes = runtime.model.routes.filter((r) => r.functionLogicalId === fnId);
      const route = routes.find((r) => r.routeKey === e.routeKey);
      expect(route, `${file}: route ${e.routeKey} of ${s.fn}`).toBeDefined();
      expect(route!.payloadVersion).toBe('2.0');
      expect(e.version).toBe('2.0');
      expect(e.requestContext.routeKey).toBe(e.routeKey);
      expect(`${e.requestContext.http.method} ${route!.path}`).toBe(e.routeKey);
      expect(e.rawPath).toBe(e.requestContext.http.path);
      const pattern = new RegExp(`^${route!.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
      expect(pattern.exec(e.rawPath)?.groups ?? undefined, file).toEqual(e.pathParameters);
      expect(e.rawQueryString).toBe(new URLSearchParams(Object.entries(e.queryStringParameters ?? {}).map(([k, v]): [string, string] => [k, v ?? ''])).toString());
      for (const name of Object.keys(e.headers)) expect(name, 'HTTP API lower-cases header names').toBe(name.toLowerCase());
      expect(e.headers.host).toBe(e.requestContext.domainName);
      expect(e.requestContext.domainName).toBe(`${e.requestContext.apiId}.execute-api.${runtime.region}.amazonaws.com`);
      expect(e.headers['user-agent']).toBe(e.requestContext.http.userAgent);
      expect(e.requestContext.stage).toBe('$default');
      const [, day, mon, year, hms] = /^(\d\d)\/(\w{3})\/(\d{4}):(\d\d:\d\d:\d\d) \+0000$/.exec(e.requestContext.time)!;
      expect(Date.parse(`${day} ${mon} ${year} ${hms} GMT`)).toBe(e.requestContext.timeEpoch);
      expect(e.isBase64Encoded).toBe(false);
      if (e.body !== undefined) expect(e.headers['content-length']).toBe(String(Buffer.byteLength(e.body)));
    }
  });

  it('SQS samples are Lambda SQS batches from the queue serverless.yml maps to their function, carrying an envelope of its type', () => {
    for (const [file, s] of Object.entries(SAMPLES).filter(([, s]) => s.kind === 'sqs')) {
      const e = readSample<SQSEvent>(file);
      const queue = queueOf(s.fn);
      expect(e.Records.length).toBeGreaterThanOrEqual(1);
      for (const r of e.Records) {
        expect(r.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(r.receiptHandle.length).toBeGreaterThan(100);
        expect(r.eventSource).toBe('aws:sqs');
        expect(r.eventSourceARN, file).toBe(queue.arn);
        expect(r.awsRegion).toBe(runtime.region);
        expect(r.md5OfBody, `${file}: md5OfBody`).toBe(md5(r.body));
        expect(r.md5OfMessageAttributes, `${file}: md5OfMessageAttributes`).toBe(md5OfAttributes(r.messageAttributes));
        for (const k of ['ApproximateReceiveCount', 'SentTimestamp', 'ApproximateFirstReceiveTimestamp'] as const) expect(r.attributes[k]).toMatch(/^\d+$/);
        expect(r.attributes.SenderId).toMatch(/^AROA[A-Z0-9]+:.+/);
        const message = parseMessage(r.body, s.message!);
        expect(r.messageAttributes).toEqual({
          runId: { stringValue: message.runId, stringListValues: [], binaryListValues: [], dataType: 'String' },
          type: { stringValue: message.type, stringListValues: [], binaryListValues: [], dataType: 'String' },
          version: { stringValue: String(message.version), stringListValues: [], binaryListValues: [], dataType: 'Number' },
        });
        expect(Number(r.attributes.SentTimestamp)).toBeGreaterThanOrEqual(Date.parse(message.occurredAt));
      }
    }
  });

  it('schedule samples are what the packaged EventBridge rule and Scheduler schedule deliver; the direct invoke is a run.requested', () => {
    const targets = (fn: string) => runtime.schedules().filter((x) => x.functionKey === fn).map((x) => runtime.model.schedules.find((d) => d.logicalId === x.logicalId)!);
    // check-status: an events rule whose target Input is a constant.
    const rule = targets('check-status').find((d) => d.kind === 'events-rule')!;
    expect(rule.expression).toBe('rate(1 minute)');
    expect(readSample('check-status.schedule.json')).toEqual(JSON.parse(rule.input!));
    // retention-sweep: its hourly rule's constant Input.
    const sweepRule = targets('retention-sweep').find((d) => d.kind === 'events-rule')!;
    expect(sweepRule.expression).toBe('rate(1 hour)');
    expect(readSample('retention-sweep.schedule.json')).toEqual(JSON.parse(sweepRule.input!));
    // start-run: a plan's Scheduler schedule, <aws.scheduler.scheduled-time> filled in (ISO, UTC, seconds).
    const plan = readSample<ScheduleTrigger>('start-run.schedule.json');
    expect(() => ScheduleTrigger.parse(plan)).not.toThrow();
    expect(plan.scheduledTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const schedule = targets('start-run').find((d) => d.kind === 'scheduler' && (JSON.parse(d.input!) as ScheduleTrigger).plan === plan.plan);
    expect(schedule, `a schedule for plan ${plan.plan}`).toBeDefined();
    expect(plan).toEqual(JSON.parse(schedule!.input!.replaceAll('<aws.scheduler.scheduled-time>', plan.scheduledTime)));
    // The other sample plan names no stage: the template holds no schedule for it (a false Condition locally).
    expect(targets('start-run').filter((d) => d.kind === 'scheduler').map((d) => (JSON.parse(d.input!) as ScheduleTrigger).plan)).toEqual([plan.plan]);
    // The default EventBridge "Scheduled Event" (a rule without Input).
    const eb = readSample<ScheduledEvent>('check-status.eventbridge.json');
    expect(eb).toMatchObject({ version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', region: runtime.region, detail: {} });
    expect(eb.resources[0]).toMatch(new RegExp(`^arn:aws:events:${runtime.region}:\\d{12}:rule/`));
    // Direct invoke: a run.requested envelope (another function chaining into start-run).
    expect(parseMessage(readSample('start-run.invoke.json'), 'run.requested').runId).toBe(CHAIN_RUN);
  });
});

describe('each sample invoked through the local runtime against the emulator', () => {
  let webhookRun: string;
  let planRun: string;

  it('get-run.http.json before its run exists: 404 naming the id', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('get-run', 'get-run.http.json');
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body!)).toMatchObject({ error: 'NotFound', message: expect.stringContaining(CHAIN_RUN) });
  });

  it('start-run.http.json: 202 with the run id derived from Idempotency-Key, its status URL and Location; a retry is the same run', async () => {
    const e = readSample<APIGatewayProxyEventV2>('start-run.http.json');
    webhookRun = runIdForKey((JSON.parse(e.body!) as { projectId: string }).projectId, e.headers['idempotency-key']!);
    const statusUrl = `https://${e.headers.host}/runs/${webhookRun}`;
    const res = await invoke<APIGatewayProxyStructuredResultV2>('start-run', 'start-run.http.json');
    expect(res.statusCode).toBe(202);
    expect(res.headers).toMatchObject({ 'content-type': 'application/json', location: statusUrl });
    expect(JSON.parse(res.body!)).toEqual({ runId: webhookRun, statusUrl, state: 'PENDING', created: true });
    // The sample exactly as stored (no signature): refused, like any unsigned request, on the local stage too.
    const unsigned = (await runtime.invoke('start-run', readSample('start-run.http.json'))) as APIGatewayProxyStructuredResultV2;
    expect(unsigned.statusCode).toBe(401);
    expect(JSON.parse(unsigned.body!)).toMatchObject({ reason: 'missing_webhook_id' });
    const again = await invoke<APIGatewayProxyStructuredResultV2>('start-run', 'start-run.http.json');
    expect(again.statusCode).toBe(202);
    expect(JSON.parse(again.body!)).toMatchObject({ runId: webhookRun, created: false });
  });

  it('start-run.invoke.json: the chained run is created once, however often it is invoked', async () => {
    expect(await invoke('start-run', 'start-run.invoke.json')).toEqual({ runId: CHAIN_RUN, created: true, state: 'PENDING' });
    expect(await invoke('start-run', 'start-run.invoke.json')).toEqual({ runId: CHAIN_RUN, created: false, state: 'PENDING' });
  });

  it('start-run.sqs.json: the intake record is accepted (no batch item failures)', async () => {
    expect(await invoke<SQSBatchResponse>('start-run', 'start-run.sqs.json')).toEqual({ batchItemFailures: [] });
  });

  it('start-run.schedule.json: the plan firing starts the run derived from (plan, scheduled time), once', async () => {
    const plan = readSample<ScheduleTrigger>('start-run.schedule.json');
    planRun = runIdForPlan(plan.plan, plan.scheduledTime);
    expect(await invoke('start-run', 'start-run.schedule.json')).toEqual({ runId: planRun, created: true, state: 'PENDING' });
    expect(await invoke('start-run', 'start-run.schedule.json')).toEqual({ runId: planRun, created: false, state: 'PENDING' });
  });

  it('create-vault.sqs.json is what start-run queued for the chained run; it creates one vault, even delivered twice', async () => {
    const intakeRun = parseMessage(readSample<SQSEvent>('start-run.sqs.json').Records[0]!.body, 'run.requested').runId;
    // Every start above handed its run to create-vault.
    const queued = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueOf('create-vault').url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }))).Messages ?? [];
    expect(new Set(queued.map((m) => (JSON.parse(m.Body!) as Message).runId))).toEqual(new Set([webhookRun, CHAIN_RUN, intakeRun, planRun]));
    await expectSampleIsPublished('create-vault.sqs.json');

    expect(await invoke<SQSBatchResponse>('create-vault', 'create-vault.sqs.json')).toEqual({ batchItemFailures: [] });
    expect(await invoke<SQSBatchResponse>('create-vault', 'create-vault.sqs.json')).toEqual({ batchItemFailures: [] });
    const vaults = emulator.state.snapshot().vaults.filter((v) => v.name === 'cbr_flow_events');
    expect(vaults).toHaveLength(1);
  });

  it('add-resources.sqs.json is the vault.ready create-vault published; it binds both DEMO servers', async () => {
    await expectSampleIsPublished('add-resources.sqs.json');
    expect(await invoke<SQSBatchResponse>('add-resources', 'add-resources.sqs.json')).toEqual({ batchItemFailures: [] });
    const vaultId = parseMessage(readSample<SQSEvent>('add-resources.sqs.json').Records[0]!.body, 'vault.ready').data.vaultId;
    const vault = emulator.state.snapshot().vaults.find((v) => v.id === vaultId) as { resources: Array<{ id: string }> } | undefined;
    expect(vault?.resources.map((r) => r.id).sort()).toEqual([DEMO.servers[0].id, DEMO.servers[1].id].sort());
  });

  it('start-checkpoint.sqs.json is the resources.bound add-resources published; it starts one checkpoint', async () => {
    await expectSampleIsPublished('start-checkpoint.sqs.json');
    expect(await invoke<SQSBatchResponse>('start-checkpoint', 'start-checkpoint.sqs.json')).toEqual({ batchItemFailures: [] });
    expect(emulator.state.snapshot().checkpoints).toHaveLength(1);
  });

  it('check-status.schedule.json: the sweep sees the checkpoint available and hands the run to share-backup; the EventBridge sample finds nothing left', async () => {
    emulator.clock.advance(11_000); // the emulator's backups are protecting for 6-10 s
    expect(await invoke('check-status', 'check-status.schedule.json')).toMatchObject({ due: 1, checked: 1, finished: 1, expired: 0, errors: 0 });
    await expectSampleIsPublished('share-backup.sqs.json');
    expect(await invoke('check-status', 'check-status.eventbridge.json')).toMatchObject({ due: 0, finished: 0, errors: 0 });
  });

  it('share-backup.sqs.json is the checkpoint.finished check-status published; it shares both server backups with the DEMO peer project', async () => {
    expect(await invoke<SQSBatchResponse>('share-backup', 'share-backup.sqs.json')).toEqual({ batchItemFailures: [] });
    const members = emulator.state.snapshot().members.filter((m) => m.dest_project_id === DEMO.peerProjectId);
    expect(members.map((m) => m.status)).toEqual(['pending', 'pending']);
  });

  it('notify-run-finished.sqs.json is the run.finished share-backup published; the sample run has no notifyUrl, so nothing is sent or recorded', async () => {
    await expectSampleIsPublished('notify-run-finished.sqs.json');
    expect(parseMessage(readSample<SQSEvent>('notify-run-finished.sqs.json').Records[0]!.body, 'run.finished').data.state).toBe('COMPLETED');
    expect(await invoke<SQSBatchResponse>('notify-run-finished', 'notify-run-finished.sqs.json')).toEqual({ batchItemFailures: [] });
    expect(logs.some((l) => l.startsWith('[notify-run-finished]') && l.includes('"outcome":"no-url"'))).toBe(true);
  });

  it('get-run.http.json: 200 with the COMPLETED run and its timeline; get-run.list.http.json lists every run the samples started', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('get-run', 'get-run.http.json');
    expect(res.statusCode).toBe(200);
    const run = JSON.parse(res.body!) as { runId: string; state: string; timeline: Array<{ step: string }> };
    expect(run).toMatchObject({ runId: CHAIN_RUN, state: 'COMPLETED' });
    expect(new Set(run.timeline.map((t) => t.step))).toEqual(new Set(['create-vault', 'add-resources', 'start-checkpoint', 'check-status', 'share-backup']));

    const list = await invoke<APIGatewayProxyStructuredResultV2>('get-run', 'get-run.list.http.json');
    expect(list.statusCode).toBe(200);
    const runs = (JSON.parse(list.body!) as { runs: Array<{ runId: string; state: string }> }).runs;
    expect(runs).toHaveLength(4);
    expect(runs.find((r) => r.runId === CHAIN_RUN)?.state).toBe('COMPLETED');
    expect(runs.map((r) => r.runId)).toEqual(expect.arrayContaining([webhookRun, planRun]));
  });

  it('run-actions.cancel.http.json: the COMPLETED sample run cannot be cancelled (409 saying why); the record is unchanged', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('run-actions', 'run-actions.cancel.http.json');
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body!)).toMatchObject({ field: 'id', message: expect.stringContaining(`run ${CHAIN_RUN} already ended COMPLETED`) });
    const run = await invoke<APIGatewayProxyStructuredResultV2>('get-run', 'get-run.http.json');
    expect(JSON.parse(run.body!)).toMatchObject({ state: 'COMPLETED' });
  });

  it('vaults.orphaned.http.json: every vault the samples created is used by a run that did not fail, so none is orphaned (200, empty list)', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('vaults', 'vaults.orphaned.http.json');
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body!)).toEqual({ vaults: [] });
    // The same request without the authorizer's claims never reaches the run store.
    const { requestContext: { authorizer: _authorizer, ...context }, ...rest } = readSample<APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } }>('vaults.orphaned.http.json');
    const bare = (await runtime.invoke('vaults', { ...rest, requestContext: context })) as APIGatewayProxyStructuredResultV2;
    expect(bare.statusCode).toBe(401);
  });

  it('restores.start.http.json: restores the sample run\'s backup of ecs-9f93-0002 onto the declared drill target ecs-app-01 (202, RestoreBackup called once); the same key again is the same restore; 401 without the claims', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('restores', 'restores.start.http.json');
    expect(res.statusCode, res.body).toBe(202);
    const body = JSON.parse(res.body!) as { restoreId: string; created: boolean; state: string; restore: { safety: string; acceptedAt?: number; mappings: unknown[]; runId: string } };
    expect(body).toMatchObject({ created: true, state: 'PENDING', restore: { safety: 'drill-target', runId: CHAIN_RUN, acceptedAt: expect.any(Number) } });
    expect(body.restore.mappings).toHaveLength(1);
    const again = await invoke<APIGatewayProxyStructuredResultV2>('restores', 'restores.start.http.json');
    expect(JSON.parse(again.body!)).toMatchObject({ restoreId: body.restoreId, created: false });
    const { requestContext: { authorizer: _authorizer, ...context }, ...rest } = readSample<APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } }>('restores.start.http.json');
    const bare = (await runtime.invoke('restores', { ...rest, requestContext: context })) as APIGatewayProxyStructuredResultV2;
    expect(bare.statusCode).toBe(401);

    // The deployed checker follows it: CBR's restore op log (8-12 s on the emulator's clock) -> COMPLETED.
    await new Promise((r) => setTimeout(r, 2_100)); // CHECK_FIRST_DELAY_SECONDS 2 (wall clock: the table's due time)
    emulator.clock.advance(13_000);
    expect(await invoke('check-status', 'check-status.eventbridge.json')).toMatchObject({ restores: { due: 1, checked: 1, completed: 1, errors: 0 } });
    const sample = readSample<APIGatewayProxyEventV2>('restores.start.http.json');
    const path = `/restores/${body.restoreId}`;
    const { body: _b, ...getBase } = sample;
    const get = {
      ...getBase,
      routeKey: 'GET /restores/{id}',
      rawPath: path,
      pathParameters: { id: body.restoreId },
      headers: Object.fromEntries(Object.entries(sample.headers).filter(([k]) => !['content-type', 'content-length', 'idempotency-key'].includes(k))),
      requestContext: { ...sample.requestContext, routeKey: 'GET /restores/{id}', http: { ...sample.requestContext.http, method: 'GET', path } },
    };
    const read = (await runtime.invoke('restores', get)) as APIGatewayProxyStructuredResultV2;
    expect(read.statusCode).toBe(200);
    const done = JSON.parse(read.body!) as { state: string; opLogId: string; startedAt: number; finishedAt: number; timeline: Array<{ event: string }> };
    expect(done).toMatchObject({ state: 'COMPLETED', opLogId: expect.any(String) });
    expect(done.finishedAt - done.startedAt).toBeGreaterThanOrEqual(8_000);
    expect(done.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['requested', 'restore-called', 'restore-accepted', 'operation-log-found', 'completed']));
  });

  it('coverage.http.json: the sample project\'s protectable servers with a status each; a server a sample run backed up is not unprotected (200); 401 without the claims', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('coverage', 'coverage.http.json');
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body!) as { projects: Array<{ projectId: string; resources: Array<{ id: string; type: string; status: string }> }> };
    expect(body.projects.map((p) => p.projectId)).toEqual(['0605767b5780d5762fc5c0118072a564']);
    const servers = body.projects[0]!.resources.filter((r) => r.type === 'server');
    expect(servers.length).toBeGreaterThanOrEqual(4);
    const known = new Set(['missing', 'unprotected', 'stale', 'share-missing', 'protected', 'deleted']);
    for (const r of body.projects[0]!.resources) expect(known.has(r.status), `${r.id} ${r.status}`).toBe(true);
    expect(servers.some((r) => r.status === 'unprotected')).toBe(true);
    expect(servers.some((r) => r.status !== 'unprotected' && r.status !== 'deleted')).toBe(true);
    const { requestContext: { authorizer: _authorizer, ...context }, ...rest } = readSample<APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } }>('coverage.http.json');
    const bare = (await runtime.invoke('coverage', { ...rest, requestContext: context })) as APIGatewayProxyStructuredResultV2;
    expect(bare.statusCode).toBe(401);
  });

  it('retention.preview.http.json: no sample run has retention rules, so the preview of plan nightly-web-servers lists no vault (200); 401 without the claims', async () => {
    const res = await invoke<APIGatewayProxyStructuredResultV2>('retention', 'retention.preview.http.json');
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body!)).toMatchObject({ scopes: [], totals: { delete: 0, keep: 0, foreign: 0, freedGb: 0 } });
    const { requestContext: { authorizer: _authorizer, ...context }, ...rest } = readSample<APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } }>('retention.preview.http.json');
    const bare = (await runtime.invoke('retention', { ...rest, requestContext: context })) as APIGatewayProxyStructuredResultV2;
    expect(bare.statusCode).toBe(401);
  });

  it('retention-sweep.schedule.json: the hourly sweep finds no vault with rules among the samples\' runs and deletes nothing', async () => {
    expect(await invoke('retention-sweep', 'retention-sweep.schedule.json')).toMatchObject({ scopes: 0, deleted: 0, refused: 0, errors: 0 });
  });

  it("plan-firing-failed.sqs.json is Lambda's OnFailure record of a plan firing, from the schedules DLQ; it records that firing's run FAILED, once", async () => {
    const e = readSample<SQSEvent>('plan-firing-failed.sqs.json');
    const r = e.Records[0]!;
    expect(r.eventSourceARN).toBe(queueOf('plan-firing-failed').arn);
    expect(r.md5OfBody).toBe(md5(r.body));
    const record = JSON.parse(r.body) as { requestContext: { functionArn: string; condition: string }; requestPayload: ScheduleTrigger };
    expect(record.requestContext.functionArn).toBe(`arn:aws:lambda:${runtime.region}:000000000000:function:${runtime.functions.find((f) => f.key === 'start-run')!.functionName}:$LATEST`);
    expect(record.requestContext.condition).toBe('RetriesExhausted');
    const plan = readSample<ScheduleTrigger>('start-run.schedule.json');
    expect(record.requestPayload).toEqual({ ...plan, scheduledTime: record.requestPayload.scheduledTime });
    for (let i = 0; i < 2; i++) expect(await invoke('plan-firing-failed', 'plan-firing-failed.sqs.json')).toEqual({ batchItemFailures: [] });
    const res = await invoke<APIGatewayProxyStructuredResultV2>('get-run', 'get-run.list.http.json');
    const failed = (JSON.parse(res.body!) as { runs: Array<{ runId: string; state: string; reason?: string }> }).runs
      .filter((x) => x.runId === runIdForPlan(plan.plan, record.requestPayload.scheduledTime));
    expect(failed).toEqual([expect.objectContaining({ state: 'FAILED', reason: expect.stringMatching(/^plan firing failed: RetriesExhausted after 3 attempt\(s\) \(StoreError: /) })]);
  });

  it('a record on the wrong queue is reported as a batch item failure (so the [] above are meaningful)', async () => {
    const wrong = readSample<SQSEvent>('start-run.sqs.json'); // run.requested, but add-resources reads vault.ready
    const res = (await runtime.invoke('add-resources', wrong)) as SQSBatchResponse;
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: wrong.Records[0]!.messageId }] });
  });
});
