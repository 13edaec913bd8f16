import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { buildMessage } from '../../../lib/contracts';
import { createVault } from '../../../lib/pipeline/create-vault';
import { SWEEP_LEASE_KEY } from '../../../lib/pipeline/check-status';
import { checkStatusHandler } from '../../../lib/pipeline/edge/check-status';
import { getRunHandler } from '../../../lib/pipeline/edge/get-run';
import { sqsStepHandler } from '../../../lib/pipeline/edge/sqs';
import { startRunHandler } from '../../../lib/pipeline/edge/start-run';
import { silentLogger } from '../../../lib/wiring/log';
import { ALL_PROJECTS_READER, makeContext, makeHttpEvent, makeScheduledEvent, makeSqsEvent, makeSqsRecord } from '../../helpers/factories';
import { AUTH_OFF, signedPost, testWebhookAuth } from '../../helpers/webhooks';
import { makeWorld, request } from './world';

const ctx = makeContext();
const json = (r: unknown) => JSON.parse((r as APIGatewayProxyStructuredResultV2).body!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('start-run handler', () => {
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => makeHttpEvent({ method: 'POST', path: '/runs', body, headers });

  it('POST /runs answers 202 with the run id and its status URL', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: testWebhookAuth(), log: silentLogger });
    const res = (await handler(signedPost(JSON.stringify(request())), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(202);
    const body = json(res);
    expect(body).toMatchObject({ runId: expect.any(String), state: 'PENDING', created: true });
    expect(body.statusUrl).toBe(`https://api.example.com/runs/${body.runId}`);
    expect(await w.memory.get(body.runId)).toBeDefined();
    expect(w.bus.on('vault')).toHaveLength(1);
  });

  it('POST /runs refuses an unsigned, a wrongly signed and a stale request with 401 and the reason; nothing is stored', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: testWebhookAuth(), log: silentLogger });
    const call = async (e: ReturnType<typeof post>) => (await handler(e, ctx)) as APIGatewayProxyStructuredResultV2;
    const body = JSON.stringify(request());
    const unsigned = await call(post(body));
    expect(unsigned.statusCode).toBe(401);
    expect(json(unsigned)).toMatchObject({ reason: 'missing_webhook_id' });
    const tampered = signedPost(body);
    tampered.body = JSON.stringify({ ...request(), shareWith: [] });
    expect(json(await call(tampered))).toMatchObject({ reason: 'no_matching_signature' });
    const other = signedPost(body, { keys: [`whsec_${Buffer.from('some other sender key, 32 bytes!!').toString('base64')}`] });
    expect(json(await call(other))).toMatchObject({ reason: 'no_matching_signature' });
    expect(w.memory.runs.size).toBe(0);
    const stale = await call(signedPost(body, { id: 'msg_stale', now: Date.now() - 301_000 }));
    expect([stale.statusCode, json(stale).reason]).toEqual([401, 'timestamp_too_old']);
    expect(w.memory.runs.size).toBe(0);
    const first = signedPost(body, { id: 'msg_once' });
    expect((await call(first)).statusCode).toBe(202);
    // A copy of the same message (a replay or the sender's retry) answers with the same run, starts none.
    const replay = await call(signedPost(body, { id: 'msg_once' }));
    expect(replay.statusCode).toBe(202);
    expect(json(replay)).toMatchObject({ runId: json(await call(first)).runId, created: false });
    expect(w.memory.runs.size).toBe(1);
    // The same copy more than 5 minutes old is still refused.
    const late = await call(signedPost(body, { id: 'msg_once', now: Date.now() - 301_000 }));
    expect([late.statusCode, json(late).reason]).toEqual([401, 'timestamp_too_old']);
  });

  it("POST /runs: the sender's retry after we died mid-request (same webhook-id) gets the same run, not 401 'replayed'", async () => {
    const w = makeWorld();
    let die = true;
    // The first invocation dies after recording the run, before answering (nothing after it runs).
    w.deps.crashPoint = (point) => (point === 'start-run:after-record' && die ? ((die = false), new Promise<never>(() => {})) : undefined);
    const handler = startRunHandler(w.deps, { webhookAuth: testWebhookAuth(), log: silentLogger });
    const body = JSON.stringify(request());
    void handler(signedPost(body, { id: 'msg_retry_after_crash' }), ctx);
    await new Promise((r) => setTimeout(r, 20));
    expect(w.memory.runs.size).toBe(1);
    expect(w.bus.on('vault')).toHaveLength(0);
    const retry = (await handler(signedPost(body, { id: 'msg_retry_after_crash' }), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(retry.statusCode).toBe(202);
    expect(json(retry)).toMatchObject({ runId: [...w.memory.runs.keys()][0], created: false, state: 'PENDING' });
    expect(w.memory.runs.size).toBe(1);
    expect(w.bus.on('vault')).toHaveLength(1); // the hand-off the dead invocation never sent
  });

  it('a missing field answers "is required" naming the path as sent, every problem at once; a wrong value keeps its rule', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const { projectId: _omit, ...rest } = request();
    const body = { ...rest, vault: { name: 'v1' }, resources: [{ type: 'OS::Nova::Server' }, { id: 'not-an-id', type: 'OS::Nova::Server' }] };
    const res = (await handler(post(JSON.stringify(body)), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(400);
    const answer = json(res);
    expect(answer.issues).toEqual([
      { field: 'projectId', message: 'is required' },
      { field: 'vault.mode', message: "is required: one of 'reuse' | 'create'" },
      { field: 'resources[0].id', message: 'is required' },
      { field: 'resources[1].id', message: 'must be a UUID' },
    ]);
    expect(answer).toMatchObject({ field: 'projectId', message: 'projectId: is required' });
    expect(JSON.stringify(answer)).not.toContain('received undefined');
    // Sent but null is not "missing": the rule of the field is said.
    const nul = (await handler(post(JSON.stringify({ ...request(), projectId: null })), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(json(nul).issues).toEqual([{ field: 'projectId', message: expect.not.stringContaining('required') }]);
    expect(w.memory.runs.size).toBe(0);
  });

  it('answers 400 naming the field, 400 for malformed JSON, 415 for a non-JSON body; nothing is stored', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const bad = (await handler(post(JSON.stringify({ ...request(), completionWindowMinutes: 1 })), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(bad.statusCode).toBe(400);
    expect(json(bad)).toMatchObject({ error: 'ValidationError', field: 'completionWindowMinutes' });
    const malformed = (await handler(post('{"projectId":'), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(malformed.statusCode).toBe(400);
    expect(json(malformed)).toMatchObject({ field: 'body', message: expect.stringContaining('not valid JSON') });
    const empty = (await handler(post(''), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(json(empty)).toMatchObject({ field: 'body' });
    const form = (await handler(post('a=b', { 'content-type': 'application/x-www-form-urlencoded' }), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(form.statusCode).toBe(415);
    expect(w.memory.runs.size).toBe(0);
  });

  it('POST /runs with retention rules: kept on the run record; a rule set that keeps nothing is a 400 naming the field', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const none = (await handler(post(JSON.stringify({ ...request(), retention: { keepLast: 0 } })), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(none.statusCode).toBe(400);
    expect(json(none)).toMatchObject({ field: 'retention.keepLast', message: expect.stringContaining('keeps nothing') });
    expect(w.memory.runs.size).toBe(0);
    const retention = { keepLast: 7, gfs: { weeks: 4 }, floor: 2, timezone: 'Europe/Berlin' };
    const ok = (await handler(post(JSON.stringify({ ...request(), retention })), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(ok.statusCode).toBe(202);
    const [record] = [...w.memory.runs.values()] as Array<{ request: { retention?: unknown } }>;
    expect(record?.request.retention).toEqual({ ...retention, gfs: { days: 0, weeks: 4, months: 0, years: 0 } });
  });

  it('the same Idempotency-Key starts one run (two signed messages, two webhook-ids)', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: testWebhookAuth(), log: silentLogger });
    const headers = { 'idempotency-key': 'nightly-2026-11-22' };
    const a = json(await handler(signedPost(JSON.stringify(request()), { headers }), ctx));
    const b = json(await handler(signedPost(JSON.stringify(request()), { headers }), ctx));
    expect(b.runId).toBe(a.runId);
    expect([a.created, b.created]).toEqual([true, false]);
    expect(w.memory.runs.size).toBe(1);
  });

  it('intake queue: a bad record fails alone (partial batch response)', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const good = buildMessage('run.requested', { runId: '0c9d6a1e-8f2b-4c3d-9e4f-5a6b7c8d9e0f', occurredAt: w.clock.now(), data: { request: request() as never } });
    const records = [makeSqsRecord(good), makeSqsRecord('{not json'), makeSqsRecord({ ...good, version: 3 } as never)];
    const res = (await handler(makeSqsEvent(records), ctx)) as SQSBatchResponse;
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.messageId }, { itemIdentifier: records[2]!.messageId }]);
    expect(w.memory.runs.has(good.runId)).toBe(true);
  });

  it('a plan schedule delivered twice starts one run; an unfilled time placeholder is refused', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const trigger = { source: 'cbr-flow.plan', plan: 'nightly', scheduledTime: '2026-11-22T18:00:00Z', request: request() };
    const a = (await handler(trigger, ctx)) as { runId: string; created: boolean };
    const b = (await handler({ ...trigger }, ctx)) as { runId: string; created: boolean };
    expect(b.runId).toBe(a.runId);
    expect([a.created, b.created]).toEqual([true, false]);
    expect((await w.memory.get(a.runId))!.source).toEqual({ kind: 'schedule', plan: 'nightly', scheduledTime: '2026-11-22T18:00:00Z' });
    await expect(handler({ ...trigger, scheduledTime: '<aws.scheduler.scheduled-time>' }, ctx)).rejects.toMatchObject({ field: 'scheduledTime' });
  });

  it('a direct invoke with a run.requested envelope starts that run', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const m = buildMessage('run.requested', { runId: '7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', occurredAt: w.clock.now(), data: { request: request() as never } });
    expect(await handler(m, ctx)).toEqual({ runId: m.runId, created: true, state: 'PENDING' });
    expect((await w.memory.get(m.runId))!.source.kind).toBe('invoke');
  });
});

describe('get-run handler', () => {
  it('GET /runs/{id} returns the record with ISO timestamps; 404 unknown; 400 for a bad id', async () => {
    const w = makeWorld();
    const run = await w.runToEnd();
    const handler = getRunHandler(w.memory, silentLogger);
    const ok = await handler(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: `/runs/${run.runId}`, routeKey: 'GET /runs/{id}', pathParameters: { id: run.runId } }), ctx);
    expect(ok.statusCode).toBe(200);
    const body = json(ok);
    expect(body).toMatchObject({ runId: run.runId, state: 'COMPLETED', createdAt: new Date(run.createdAt).toISOString() });
    expect(body.timeline[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const missing = await handler(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs/x', routeKey: 'GET /runs/{id}', pathParameters: { id: '7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' } }), ctx);
    expect(missing.statusCode).toBe(404);
    const bad = await handler(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs/..%2F', routeKey: 'GET /runs/{id}', pathParameters: { id: '../etc' } }), ctx);
    expect(bad.statusCode).toBe(400);
    expect(json(bad)).toMatchObject({ field: 'id' });
  });

  it('GET /runs lists recent runs, newest first; a bad limit is a 400', async () => {
    const w = makeWorld();
    const a = await w.runToEnd();
    w.clock.advance(1000);
    const b = await w.runToEnd(request({ vault: { mode: 'create', name: 'other', billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: '0b1d9f3e-2c4a-4e6b-8d0f-1a3c5e7b9d2f', type: 'OS::Nova::Server' }] }));
    const handler = getRunHandler(w.memory, silentLogger);
    const res = await handler(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs', queryStringParameters: { limit: '10' } }), ctx);
    expect(json(res).runs.map((r: { runId: string }) => r.runId)).toEqual([b.runId, a.runId]);
    const bad = await handler(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs', queryStringParameters: { limit: 'all' } }), ctx);
    expect(bad.statusCode).toBe(400);
    expect(json(bad).field).toBe('query.limit');
  });
});

describe('SQS step handler', () => {
  it('processes good records, reports only the bad ones, and records the failure on the run', async () => {
    const w = makeWorld({ maxReceiveCount: 3 });
    const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, silentLogger);
    const ok = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const r1 = json(await ok(makeHttpEvent({ method: 'POST', path: '/runs', body: JSON.stringify(request()), headers: { 'content-type': 'application/json' } }), ctx));
    const good = w.bus.drain('vault')[0]!.message;
    const wrongType = buildMessage('vault.ready', { runId: r1.runId, occurredAt: w.clock.now(), data: { vaultId: 'ea7b8717-2543-478a-a92d-3ca7ee448f67', vaultName: 'x', created: true } });
    const records = [makeSqsRecord(wrongType, { receiveCount: 1 }), makeSqsRecord(good), makeSqsRecord('💥')];
    const res = await handler(makeSqsEvent(records), ctx);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[0]!.messageId, records[2]!.messageId]);
    let run = (await w.memory.get(r1.runId))!;
    expect(run.vault).toBeDefined(); // the good record went through
    // A record that is not a valid message for this queue is noted on the run it names, with the reason...
    expect(run.attempts.refused).toBe(1);
    expect(run.timeline.find((e) => e.event === 'message-refused')).toMatchObject({ detail: expect.stringContaining("expected a 'run.requested' message") });
    // ...and even on its last receive before the DLQ it never fails the run (its own messages are fine).
    await handler(makeSqsEvent([makeSqsRecord(wrongType, { receiveCount: 3 })]), ctx);
    run = (await w.memory.get(r1.runId))!;
    expect(run.state).toBe('RUNNING');
    expect(run.timeline.find((e) => e.event === 'message-dead-lettered')).toMatchObject({ detail: expect.stringContaining('dead-letter queue') });
  });
});

describe('check-status handler', () => {
  it('runs one sweep per scheduled event and returns its figures', async () => {
    const w = makeWorld();
    await startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger })(makeHttpEvent({ method: 'POST', path: '/runs', body: JSON.stringify(request()), headers: { 'content-type': 'application/json' } }), ctx);
    await w.pump();
    w.cbr.finishAll();
    w.clock.advance(60_000);
    const result = await checkStatusHandler(w.deps, silentLogger)(makeScheduledEvent(), ctx);
    expect(result).toMatchObject({ due: 1, vaults: 1, finished: 1, errors: 0 });
    expect(w.bus.on('share')).toHaveLength(1);
  });

  it('a sweep that finds the sweep lease held does nothing; once it expires the next sweep runs; a finished sweep gives it back', async () => {
    const w = makeWorld();
    await startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger })(makeHttpEvent({ method: 'POST', path: '/runs', body: JSON.stringify(request()), headers: { 'content-type': 'application/json' } }), ctx);
    await w.pump();
    w.cbr.finishAll();
    w.clock.advance(60_000);
    // A sweep still running (another container) holds the lease.
    expect((await w.deps.store.acquireLease(SWEEP_LEASE_KEY, 'other-sweep', w.clock.now(), w.deps.settings.sweepLeaseMs)).acquired).toBe(true);
    const sweep = checkStatusHandler(w.deps, silentLogger);
    expect(await sweep(makeScheduledEvent(), ctx)).toMatchObject({ skipped: true, due: 0, finished: 0 });
    expect(w.bus.on('share')).toHaveLength(0);
    w.clock.advance(w.deps.settings.sweepLeaseMs); // the other sweep died: its lease runs out
    expect(await sweep(makeScheduledEvent(), ctx)).toMatchObject({ due: 1, finished: 1 });
    expect(w.bus.on('share')).toHaveLength(1);
    expect((await w.deps.store.getLease(SWEEP_LEASE_KEY))?.holder).toBeUndefined();
    expect((await sweep(makeScheduledEvent(), ctx)).skipped).toBeUndefined();
  });
});
