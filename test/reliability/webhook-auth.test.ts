/**
 * Issue 6 item 7 — only signed callers start runs. The real start-run function module
 * (functions/start-run.ts: config from the environment of a DEPLOYED stage, keys read from a Secrets
 * Manager-protocol server on loopback through the AWS SDK, the run store in dynalite, runs queued on
 * local SQS), driven with API Gateway v2 events signed by the `standardwebhooks` library itself (an
 * independent sender, not our signer):
 *   missing / malformed / wrong-key / tampered / stale (> 5 min, a replayed copy included) / future
 *   -> 401 with the reason, nothing stored or queued;
 *   a reused webhook-id within the window (a replay, or the sender's retry, also concurrently) -> the
 *   same run (the run id is derived from the webhook-id; one conditional create wins), never a second;
 *   two active keys during a rotation -> both accepted; a removed key -> refused;
 *   the key store down: a warm container keeps its last good keys, a cold one answers 503 (retry
 *   later), never a 500 and never a pass;
 *   a request that fails with a 5xx: the sender's retry of the same message completes that run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QUEUE_NAMES, type QueueName } from '../../lib/ports';
import { createRunsTable } from '../../lib/store/dynamodb/table';
import { runIdForWebhook } from '../../lib/pipeline/start-run';
import { startLocalDynamo, startLocalSqs, type LocalServer } from '../../local/servers';
import { makeContext, makeHttpEvent } from '../helpers/factories';
import { startFakeAws, type FakeAws } from '../unit/secrets/aws-fake';
import { request } from '../unit/pipeline/world';

const STAGE = 'dev';
const SECRET = `cbr-flow/${STAGE}/webhook-keys`;
const TABLE = 'cbr-flow-dev-runs';
const key = () => `whsec_${randomBytes(32).toString('base64')}`;
const K1 = key();
const K2 = key();
const ATTACKER = key();
const ctx = makeContext('cbr-flow-dev-start-run');

let dynamo: LocalServer;
let sqs: LocalServer;
let sm: FakeAws;
let ddb: DynamoDBClient;
let sqsClient: SQSClient;
const urls = {} as Record<QueueName, string>;
let handler: (event: APIGatewayProxyEventV2, context: typeof ctx) => Promise<unknown>;

beforeAll(async () => {
  [dynamo, sqs, sm] = await Promise.all([startLocalDynamo(), startLocalSqs(), startFakeAws()]);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  ddb = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials });
  sqsClient = new SQSClient({ endpoint: sqs.url, region: 'us-east-1', credentials });
  await createRunsTable(ddb, TABLE);
  for (const q of QUEUE_NAMES) urls[q] = (await sqsClient.send(new CreateQueueCommand({ QueueName: `cbr-flow-dev-${q}` }))).QueueUrl!;
  sm.answers.set(SECRET, { value: JSON.stringify([K1]) });
  Object.assign(process.env, {
    STAGE,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // The SDK's service-specific endpoint: GetSecretValue goes to the loopback fake, never to AWS.
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    TABLE_NAME: TABLE,
    INTAKE_QUEUE_URL: urls.intake,
    VAULT_QUEUE_URL: urls.vault,
    RESOURCES_QUEUE_URL: urls.resources,
    CHECKPOINT_QUEUE_URL: urls.checkpoint,
    SHARE_QUEUE_URL: urls.share,
    EVENTS_QUEUE_URL: urls.events,
    CBR_CREDENTIALS_SECRET: `cbr-flow/${STAGE}/cbr-credentials`,
    WEBHOOK_KEYS_SECRET: SECRET,
    // Re-read the secret on every request, so a rotation is visible at once (default: 300 s).
    SECRETS_TTL_SECONDS: '0',
    LOG_LEVEL: 'silent',
  });
  delete process.env.WEBHOOK_AUTH;
  delete process.env.WEBHOOK_KEYS_JSON;
  handler = (await import('../../functions/start-run')).handler as typeof handler;
}, 30_000);

afterAll(async () => {
  ddb?.destroy();
  sqsClient?.destroy();
  await Promise.all([dynamo?.stop(), sqs?.stop(), sm?.stop()]);
});

interface Sent { id: string; body: string; headers: Record<string, string> }

/** What a Standard Webhooks sender sends: `webhook-*` headers from the reference library. */
function sign(keys: string[], opts: { id?: string; body?: string; at?: Date } = {}): Sent {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const body = opts.body ?? JSON.stringify(request({ vault: { mode: 'reuse', name: `v_${randomUUID().slice(0, 8)}` } }));
  const at = opts.at ?? new Date();
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': keys.map((k) => new Webhook(k).sign(id, at, body)).join(' '),
  };
  return { id, body, headers };
}

async function post(sent: Sent, override: { body?: string; headers?: Record<string, string | null> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...sent.headers };
  for (const [k, v] of Object.entries(override.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  const res = (await handler(makeHttpEvent({ method: 'POST', path: '/runs', body: override.body ?? sent.body, headers }), ctx)) as APIGatewayProxyStructuredResultV2;
  return { status: res.statusCode, headers: res.headers ?? {}, body: JSON.parse(String(res.body)) as Record<string, unknown> };
}

async function queued(): Promise<number> {
  const { Attributes } = await sqsClient.send(new GetQueueAttributesCommand({ QueueUrl: urls.vault, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
}

describe('POST /runs through functions/start-run.ts on a deployed stage', () => {
  it('accepts a request signed with the active key: 202, the run (id derived from the webhook-id) stored and queued', async () => {
    const before = await queued();
    const sent = sign([K1]);
    const res = await post(sent);
    expect(res.status).toBe(202);
    const projectId = (JSON.parse(sent.body) as { projectId: string }).projectId;
    expect(res.body).toMatchObject({ runId: runIdForWebhook(projectId, sent.id), state: 'PENDING', created: true });
    expect(await queued()).toBe(before + 1);
    const run = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `RUN#${res.body.runId as string}` }, sk: { S: 'RUN' } }, ConsistentRead: true }));
    expect(run.Item?.state?.S).toBe('PENDING');
    // No up-front claim of the id (it would refuse the sender's retry after a crash as a replay).
    const { Items } = await ddb.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
    expect((Items ?? []).filter((i) => JSON.stringify(i).includes(sent.id))).toEqual([]);
    // The keys came from Secrets Manager, through the SDK, by name.
    expect(sm.calls.some((c) => c.target === 'secretsmanager.GetSecretValue' && c.id === SECRET)).toBe(true);
  });

  it.each([
    ['no webhook headers at all', { 'webhook-id': null, 'webhook-timestamp': null, 'webhook-signature': null }, 'missing_webhook_id'],
    ['no webhook-timestamp', { 'webhook-timestamp': null }, 'missing_webhook_timestamp'],
    ['no webhook-signature', { 'webhook-signature': null }, 'missing_webhook_signature'],
    ['a non-numeric timestamp', { 'webhook-timestamp': '1763805600abc' }, 'malformed_timestamp'],
    ['a signature that is not v1,<base64>', { 'webhook-signature': 'sha256=deadbeef' }, 'malformed_signature'],
    ['an id with spaces', { 'webhook-id': 'msg 1' }, 'malformed_webhook_id'],
  ])('refuses %s: 401 %s, nothing stored or queued', async (_, headers, reason) => {
    const before = await queued();
    const res = await post(sign([K1]), { headers });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: expect.stringMatching(/^webhook authentication failed: /), reason });
    expect(await queued()).toBe(before);
  });

  it('refuses a wrong key and a body changed after signing (no_matching_signature)', async () => {
    const before = await queued();
    expect((await post(sign([ATTACKER]))).body).toMatchObject({ reason: 'no_matching_signature' });
    const sent = sign([K1]);
    const tampered = JSON.stringify({ ...(JSON.parse(sent.body) as object), shareWith: ['ffffffffffffffffffffffffffffffff'] });
    const res = await post(sent, { body: tampered });
    expect([res.status, res.body.reason]).toEqual([401, 'no_matching_signature']);
    expect(await queued()).toBe(before);
  });

  it('refuses a signature more than 5 minutes old or in the future', async () => {
    const old = await post(sign([K1], { at: new Date(Date.now() - 301_000) }));
    expect([old.status, old.body.reason]).toEqual([401, 'timestamp_too_old']);
    const future = await post(sign([K1], { at: new Date(Date.now() + 301_000) }));
    expect([future.status, future.body.reason]).toEqual([401, 'timestamp_too_new']);
    // Just inside the window either way is fine.
    expect((await post(sign([K1], { at: new Date(Date.now() - 290_000) }))).status).toBe(202);
  });

  it('a reused message id gets the same run, never a second one, also when the copies arrive at once (one conditional create wins); a stale copy is 401', async () => {
    const sent = sign([K1]);
    const first = await post(sent);
    expect(first).toMatchObject({ status: 202, body: { created: true } });
    const again = await post(sent);
    expect(again).toMatchObject({ status: 202, body: { runId: first.body.runId, created: false } });
    // The sender's retry: the same id re-signed later with a valid signature is the same message.
    const resigned = sign([K1], { id: sent.id, body: sent.body });
    expect((await post(resigned)).body).toMatchObject({ runId: first.body.runId, created: false });
    // A copy more than 5 minutes old is refused, whatever its id.
    const stale = await post(sign([K1], { id: sent.id, body: sent.body, at: new Date(Date.now() - 301_000) }));
    expect([stale.status, stale.body.reason]).toEqual([401, 'timestamp_too_old']);

    const burst = sign([K1]);
    const results = await Promise.all(Array.from({ length: 8 }, () => post(burst)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(202));
    expect(new Set(results.map((r) => r.body.runId)).size).toBe(1);
    expect(results.filter((r) => r.body.created === true)).toHaveLength(1);
  });

  it('key rotation: with two active keys both are accepted; once the old key is removed it is refused', async () => {
    sm.answers.set(SECRET, { value: JSON.stringify({ keys: [K2, K1] }) });
    expect((await post(sign([K1]))).status).toBe(202);
    expect((await post(sign([K2]))).status).toBe(202);
    expect((await post(sign([K2, K1]))).status).toBe(202); // a sender signing with both during its own switch
    sm.answers.set(SECRET, { value: JSON.stringify([K2]) });
    expect((await post(sign([K1]))).body.reason).toBe('no_matching_signature');
    expect((await post(sign([K2]))).status).toBe(202);
  });

  it('keys unreadable: a warm container keeps the keys it read (a Secrets Manager blip is no outage); a cold one answers 503, never a 500 or a pass', async () => {
    sm.answers.set(SECRET, { error: 'InternalServiceError', status: 500 });
    expect((await post(sign([K2]))).status).toBe(202); // served from the last good read (stale-if-error)
    expect((await post(sign([ATTACKER]))).body.reason).toBe('no_matching_signature');

    // A fresh container (module state reset) that cannot read its keys.
    vi.resetModules();
    const cold = (await import('../../functions/start-run')).handler as typeof handler;
    const postCold = async (sent: Sent) => {
      const res = (await cold(makeHttpEvent({ method: 'POST', path: '/runs', body: sent.body, headers: { 'content-type': 'application/json', ...sent.headers } }), ctx)) as APIGatewayProxyStructuredResultV2;
      return { status: res.statusCode, headers: res.headers ?? {}, body: JSON.parse(String(res.body)) as Record<string, unknown> };
    };
    const down = await postCold(sign([K2]));
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.body).toMatchObject({ reason: 'auth_unavailable' });
    sm.answers.delete(SECRET); // ResourceNotFoundException
    expect((await postCold(sign([K2]))).status).toBe(503);
    sm.answers.set(SECRET, { value: '{"keys":["not-a-key"]}' });
    const invalid = await postCold(sign([K2]));
    expect(invalid.status).toBe(503);
    expect(JSON.stringify(invalid.body)).not.toContain('not-a-key');
    sm.answers.set(SECRET, { value: JSON.stringify([K2]) });
    expect((await postCold(sign([K2]))).status).toBe(202);
  });

  it("a request that fails with a 5xx: the sender's retry of the same message is processed (the same run, handed on)", async () => {
    await sqsClient.send(new DeleteQueueCommand({ QueueUrl: urls.vault }));
    const sent = sign([K2]);
    const failed = await post(sent);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    urls.vault = (await sqsClient.send(new CreateQueueCommand({ QueueName: 'cbr-flow-dev-vault' }))).QueueUrl!;
    const before = await queued();
    const retried = await post(sent);
    expect(retried).toMatchObject({ status: 202, body: { created: false } });
    expect(await queued()).toBe(before + 1); // the hand-off the failed request could not send
    expect((await post(sent)).body).toMatchObject({ runId: retried.body.runId, created: false });
  });
});
