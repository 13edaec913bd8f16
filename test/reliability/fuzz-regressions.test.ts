/**
 * One plain test per finding of the fuzz suite (test/reliability/fuzz-*.test.ts), so each bug stays
 * fixed even if the generators change. Each test names the file that was fixed.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseWith } from '../../lib/contracts/parse';
import { RunRequest } from '../../lib/contracts/run-request';
import { createVault } from '../../lib/pipeline/create-vault';
import { getRunHandler } from '../../lib/pipeline/edge/get-run';
import { sqsStepHandler } from '../../lib/pipeline/edge/sqs';
import { startRunHandler } from '../../lib/pipeline/edge/start-run';
import { silentLogger } from '../../lib/wiring/log';
import { startRun } from '../../lib/pipeline/start-run';
import { ALL_PROJECTS_READER, makeContext, makeHttpEvent, makeSqsEvent, makeSqsRecord } from '../helpers/factories';
import { AUTH_OFF } from '../helpers/webhooks'; // these properties are about bodies/contracts; auth is fuzzed in fuzz-http
import { makeWorld, request } from '../unit/pipeline/world';

const ctx = makeContext('cbr-flow-fuzz-regressions');
const body = (res: unknown) => JSON.parse((res as APIGatewayProxyStructuredResultV2).body!) as { field?: string; issues?: Array<{ field: string }> };
const post = (text: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => makeHttpEvent({ method: 'POST', path: '/runs', body: text, headers });

describe('fuzz findings (regressions)', () => {
  it('lib/contracts/parse.ts: an unknown key — `__proto__`, `constructor` or a typo — is named itself, not its parent', () => {
    const text = JSON.stringify(request()).replace('"vault":{', '"vault":{"__proto__":{"polluted":true},"nmae":"x",');
    const error = (() => {
      try {
        parseWith(RunRequest, JSON.parse(text));
      } catch (e) {
        return e as { field: string; issues: Array<{ field: string }> };
      }
      throw new Error('accepted');
    })();
    expect(error.issues.map((i) => i.field).sort()).toEqual(['vault.__proto__', 'vault.nmae']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lib/contracts/parse.ts: a key that looks like an index or a path ("[ ", "a.b") stays one key', async () => {
    const w = makeWorld();
    const res = await getRunHandler(w.memory, silentLogger)(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs', routeKey: 'GET /runs', queryStringParameters: { '[ ': '1' } }), ctx);
    expect(body(res).field).toBe('query.[ ');
  });

  it('lib/pipeline/edge/http.ts: 415 and 413 name the offending part; 404 names `id`', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const form = (await handler(post('a=b', { 'content-type': 'text/plain' }), ctx)) as APIGatewayProxyStructuredResultV2;
    expect([form.statusCode, body(form).field]).toEqual([415, 'headers.content-type']);
    const huge = (await handler(post(`{"projectId":"${'a'.repeat(300 * 1024)}"}`), ctx)) as APIGatewayProxyStructuredResultV2;
    expect([huge.statusCode, body(huge).field]).toEqual([413, 'body']);
    const missing = (await getRunHandler(w.memory, silentLogger)(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs/x', routeKey: 'GET /runs/{id}', pathParameters: { id: '0c9d6a1e-8f2b-4c3d-9e4f-5a6b7c8d9e0f' } }), ctx)) as APIGatewayProxyStructuredResultV2;
    expect([missing.statusCode, body(missing).field]).toEqual([404, 'id']);
  });

  it('lib/pipeline/edge/http.ts: a body that is not a string, or no event at all, is a 400 (was a 500 TypeError)', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const event = { ...post('{}'), body: { projectId: 'x' } } as unknown as APIGatewayProxyEventV2;
    const res = (await handler(event, ctx)) as APIGatewayProxyStructuredResultV2;
    expect([res.statusCode, body(res).field]).toEqual([400, 'body']);
    const none = (await getRunHandler(w.memory, silentLogger)(null as unknown as APIGatewayProxyEventV2, ctx)) as APIGatewayProxyStructuredResultV2;
    expect([none.statusCode, body(none).field]).toEqual([400, 'event']);
  });

  it("lib/pipeline/edge/get-run.ts: limit takes decimal digits only ('0x10', '1e1', ' 5', '0b11' were read as numbers)", async () => {
    const w = makeWorld();
    const get = getRunHandler(w.memory, silentLogger);
    for (const limit of ['0x10', '1e1', ' 5', '0b11', '+3', '2.0']) {
      const res = (await get(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs', routeKey: 'GET /runs', queryStringParameters: { limit } }), ctx)) as APIGatewayProxyStructuredResultV2;
      expect([limit, res.statusCode, body(res).field]).toEqual([limit, 400, 'query.limit']);
    }
    const ok = (await get(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs', routeKey: 'GET /runs', queryStringParameters: { limit: '007' } }), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(ok.statusCode).toBe(200);
  });

  it('lib/pipeline/edge/start-run.ts: null, a number or junk `Records` invoked directly are ValidationErrors (were TypeErrors)', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    await expect(handler(null as never, ctx)).rejects.toMatchObject({ name: 'ValidationError', field: 'event' });
    await expect(handler(42 as never, ctx)).rejects.toMatchObject({ name: 'ValidationError', field: 'event' });
    await expect(handler({ Records: [null] }, ctx)).rejects.toMatchObject({ name: 'ValidationError', field: 'Records[0]' });
    await expect(handler({ Records: [1] }, ctx)).rejects.toMatchObject({ name: 'ValidationError', field: 'Records[0]' });
  });

  it('lib/pipeline/edge/start-run.ts: a bad request in a plan trigger is named where it sits (`request.…`)', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const trigger = { source: 'cbr-flow.plan', plan: 'nightly', scheduledTime: '2026-11-22T18:00:00Z' };
    await expect(handler({ ...trigger, request: 'str' }, ctx)).rejects.toMatchObject({ field: 'request' });
    await expect(handler({ ...trigger, request: { ...request(), projectId: 5 } }, ctx)).rejects.toMatchObject({ field: 'request.projectId' });
  });

  it('lib/pipeline/edge/sqs.ts: a refused record without a runId attribute is still recorded on the run its body names', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    const good = w.bus.drain('vault')[0]!.message;
    const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, silentLogger);
    const broken = makeSqsRecord(JSON.stringify({ ...good, id: 42 }), { receiveCount: 5, messageAttributes: {} });
    const res = (await handler(makeSqsEvent([broken]), ctx)) as SQSBatchResponse;
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: broken.messageId }]);
    const run = (await w.memory.get(runId))!;
    // Refused (not a valid message): noted on its run with the reason, but a stray or forged copy never
    // fails the run; its own valid message (`good`) is still on its way.
    expect(run.attempts.refused).toBe(1);
    expect(run.state).not.toBe('FAILED');
    const noted = run.timeline.at(-1)!;
    expect(noted.event).toBe('message-dead-lettered'); // receive 5 of 5: it goes to the DLQ
    expect(noted.detail).toContain('id');
    expect(w.bus.on('events').map((m) => m.type)).toEqual([]);
  });
});
