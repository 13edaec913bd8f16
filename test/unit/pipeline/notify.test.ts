/**
 * The run-finished notifier (lib/pipeline/notify-run-finished.ts + its SQS edge): real HTTP to a
 * loopback receiver that verifies the Standard Webhooks signature with the `standardwebhooks` library
 * itself, the outcome recorded on the run (memory store here; DynamoDB on dynalite below), retries
 * inside the invocation and through SQS redelivery, and what is never retried or sent twice.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../../lib/contracts';
import { notifyHandler } from '../../../lib/pipeline/edge/notify-run-finished';
import { silentLogger } from '../../../lib/wiring/log';
import { notifyFinished, NotifyRetryError, type NotifyDeps } from '../../../lib/pipeline/notify-run-finished';
import { systemClock } from '../../../lib/ports';
import { DynamoRunStore } from '../../../lib/store/dynamodb/store';
import { createRunsTable } from '../../../lib/store/dynamodb/table';
import type { RunRecord } from '../../../lib/store/run';
import { startLocalDynamo, type LocalServer } from '../../../local/servers';
import { finishedRun } from '../notify/fixtures';
import { makeContext, makeSqsEvent, makeSqsRecord } from '../../helpers/factories';
import { startLoopbackServer, type LoopbackServer, type Reply } from '../../helpers/loopback-server';
import { makeWorld, request } from './world';

const KEY = `whsec_${Buffer.from('notifier unit tests key, 32 bytes').toString('base64')}`;
const ctx = { deadlineAt: Date.now() + 60_000, receiveCount: 1, maxReceiveCount: 5 };

let receiver: LoopbackServer;
let answers: Reply[] = [];
beforeAll(async () => {
  receiver = await startLoopbackServer(() => answers.shift() ?? { status: 200, body: { ok: true } });
});
afterAll(() => receiver.stop());
afterEach(() => {
  receiver.requests.length = 0;
  answers = [];
});

/** Every request the receiver got, verified by the reference library (throws on a bad signature). */
function verified(): Array<{ id: string; body: { type: string; data: { runId: string; state: string } } }> {
  return receiver.requests.map((r) => {
    const headers = { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) };
    return { id: headers['webhook-id'], body: new Webhook(KEY).verify(r.body, headers) as never };
  });
}

async function finished(notifyPath = '/hooks/cbr?token=s3cr3t-capability') {
  const w = makeWorld();
  const run = await w.runToEnd(request({ notifyUrl: `${receiver.url}${notifyPath}` }));
  expect(run.state).toBe('COMPLETED');
  const message = w.bus.on('events').find((m) => m.type === 'run.finished')!;
  const sleeps: number[] = [];
  const deps: NotifyDeps = {
    store: w.memory,
    clock: systemClock,
    keys: async () => [KEY],
    settings: { allowLoopback: true, maxAttempts: 3, timeoutMs: 2000 },
    log: silentLogger,
    transport: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  };
  return { w, run, message, deps, sleeps };
}

describe('notifyFinished', () => {
  it('POSTs the signed run.finished payload to the notifyUrl and records the delivery on the run (never the URL)', async () => {
    const { w, run, message, deps } = await finished();
    expect(await notifyFinished(deps, message, ctx)).toBe('delivered');
    const [got] = verified();
    expect(receiver.requests[0]!.url).toBe('/hooks/cbr?token=s3cr3t-capability');
    expect(got!.id).toBe(`run-finished_${run.runId}_completed`);
    expect(got!.body).toMatchObject({ type: 'run.finished', data: { runId: run.runId, state: 'COMPLETED' } });
    const stored = (await w.memory.get(run.runId))!;
    expect(stored.notification).toEqual({ messageId: got!.id, ok: true, attempts: 1, status: 200, at: expect.any(Number) });
    expect(JSON.stringify(stored.notification)).not.toContain('s3cr3t');
  });

  it('retries 503s with backoff (honouring Retry-After) inside one invocation, re-signing each attempt', async () => {
    const { w, run, message, deps, sleeps } = await finished();
    answers = [{ status: 503, headers: { 'retry-after': '2' } }, { status: 503 }];
    expect(await notifyFinished(deps, message, ctx)).toBe('delivered');
    expect(verified().map((v) => v.id)).toEqual(Array(3).fill(`run-finished_${run.runId}_completed`));
    expect(sleeps).toEqual([2000, 500]); // floor of Retry-After, then 0.5 x min(20 s, 500 ms x 2^1)
    expect((await w.memory.get(run.runId))!.notification).toMatchObject({ ok: true, attempts: 3, status: 200 });
  });

  it('a duplicate delivery after success sends nothing', async () => {
    const { message, deps } = await finished();
    await notifyFinished(deps, message, ctx);
    expect(await notifyFinished(deps, message, ctx)).toBe('duplicate');
    expect(receiver.requests).toHaveLength(1);
  });

  it('a 4xx is recorded once and never retried, by this invocation or a redelivery', async () => {
    const { w, run, message, deps } = await finished();
    answers = [{ status: 410 }];
    expect(await notifyFinished(deps, message, ctx)).toBe('failed');
    expect(await notifyFinished(deps, message, ctx)).toBe('duplicate');
    expect(receiver.requests).toHaveLength(1);
    expect((await w.memory.get(run.runId))!.notification).toMatchObject({ ok: false, attempts: 1, status: 410, reason: 'rejected' });
  });

  it('a receiver that stays down: recorded and thrown for SQS to redeliver, until the last receive records the final failure', async () => {
    const { w, run, message, deps } = await finished();
    answers = Array(3).fill({ status: 503 });
    await expect(notifyFinished(deps, message, ctx)).rejects.toBeInstanceOf(NotifyRetryError);
    expect((await w.memory.get(run.runId))!.notification).toMatchObject({ ok: false, attempts: 3, status: 503, reason: 'exhausted' });
    answers = Array(3).fill({ status: 503 });
    expect(await notifyFinished(deps, message, { ...ctx, receiveCount: 5 })).toBe('failed');
    expect(receiver.requests).toHaveLength(6);
  });

  it('loopback receivers are refused unless allowed (local stage); nothing is sent', async () => {
    const { w, run, message, deps } = await finished();
    expect(await notifyFinished({ ...deps, settings: { ...deps.settings, allowLoopback: false } }, message, ctx)).toBe('failed');
    expect(receiver.requests).toHaveLength(0);
    expect((await w.memory.get(run.runId))!.notification).toMatchObject({ ok: false, attempts: 0, reason: 'blocked_url' });
  });

  it('ignores checkpoint.started, runs without a notifyUrl and unknown runs; without signing keys it records why', async () => {
    const { w, run, message, deps } = await finished();
    const started = w.bus.on('events').find((m) => m.type === 'checkpoint.started')!;
    expect(await notifyFinished(deps, started, ctx)).toBe('ignored');
    expect(await notifyFinished(deps, { ...message, runId: '7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' } as Message, ctx)).toBe('missing');
    const plain = await w.runToEnd(request({ vault: { mode: 'create', name: 'other', billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: '0b1d9f3e-2c4a-4e6b-8d0f-1a3c5e7b9d2f', type: 'OS::Nova::Server' }] }));
    expect(await notifyFinished(deps, { ...message, runId: plain.runId } as Message, ctx)).toBe('no-url');
    expect(await notifyFinished({ ...deps, keys: undefined }, message, ctx)).toBe('failed');
    expect((await w.memory.get(run.runId))!.notification).toMatchObject({ ok: false, attempts: 0, reason: 'no_signing_key' });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('notify-run-finished SQS edge', () => {
  it('reports only the failing records; a poison record fails alone', async () => {
    const { w, run, message, deps } = await finished();
    const started = w.bus.on('events').find((m) => m.type === 'checkpoint.started')!;
    const records = [makeSqsRecord(message), makeSqsRecord('{"not":"a message"}'), makeSqsRecord(started)];
    const res = await notifyHandler(deps, { maxReceiveCount: 5, log: silentLogger })(makeSqsEvent(records), makeContext());
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.messageId }]);
    expect(verified()).toHaveLength(1);
    expect((await w.memory.get(run.runId))!.notification?.ok).toBe(true);
  });
});

describe('DynamoRunStore.recordNotification (dynalite)', () => {
  let dynamo: LocalServer;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await createRunsTable(client, 'notify-runs');
  });
  afterAll(async () => {
    client?.destroy();
    await dynamo?.stop();
  });

  it('sets `notification` on a finished run only; missing and unfinished runs are said so', async () => {
    const store = new DynamoRunStore(client, 'notify-runs', systemClock);
    const done: RunRecord = finishedRun({ expiresAt: Math.ceil(Date.now() / 1000) + 86_400 });
    const running: RunRecord = finishedRun({ runId: '0c9d6a1e-8f2b-4c3d-9e4f-5a6b7c8d9e0f', state: 'RUNNING', step: 'check-status', expiresAt: undefined });
    await store.create(done);
    await store.create(running);
    const record = { messageId: `run-finished_${done.runId}_partial`, ok: true, attempts: 2, status: 204, at: Date.now() };
    expect(await store.recordNotification(done.runId, record)).toBe('recorded');
    expect((await store.get(done.runId))!.notification).toEqual(record);
    expect((await store.get(done.runId))!.version).toBe(done.version); // an annotation, not a new version
    expect(await store.recordNotification(running.runId, record)).toBe('not_terminal');
    expect((await store.get(running.runId))!.notification).toBeUndefined();
    expect(await store.recordNotification('7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', record)).toBe('missing');
  });
});
