/**
 * Every log line written during an invocation carries that invocation's Lambda fields
 * (function_request_id, function_name, cold_start: Powertools Logger's names), through the real
 * handlers and the production JSON logger; secrets are still redacted by value.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createVault } from '../../../lib/pipeline/create-vault';
import { getRunHandler } from '../../../lib/pipeline/edge/get-run';
import { sqsStepHandler } from '../../../lib/pipeline/edge/sqs';
import { startRunHandler } from '../../../lib/pipeline/edge/start-run';
import { knownSecrets } from '../../../lib/secrets/redact';
import { jsonLogger } from '../../../lib/wiring/log';
import { makeContext, makeHttpEvent, makeSqsEvent, makeSqsRecord } from '../../helpers/factories';
import { AUTH_OFF } from '../../helpers/webhooks';
import { makeWorld, request } from './world';

let lines: Array<Record<string, unknown>>;
beforeEach(() => {
  lines = [];
  const capture = (line: unknown) => void lines.push(JSON.parse(String(line)) as Record<string, unknown>);
  vi.spyOn(console, 'log').mockImplementation(capture);
  vi.spyOn(console, 'error').mockImplementation(capture);
});
afterEach(() => vi.restoreAllMocks());

const post = () => makeHttpEvent({ method: 'POST', path: '/runs', body: JSON.stringify(request()), headers: { 'content-type': 'application/json' } });

describe('log lines carry the invocation', () => {
  it('the first invocation in the container is the cold start, the next ones are not', async () => {
    // A fresh container: new module instances (the unit project shares modules between files).
    vi.resetModules();
    const fresh = { ...(await import('../../../lib/pipeline/edge/start-run')), ...(await import('../../../lib/wiring/log')) };
    const w = makeWorld();
    const handler = fresh.startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: fresh.jsonLogger });
    await handler(post(), makeContext('cbr-flow-dev-start-run'));
    await handler(post(), makeContext('cbr-flow-dev-start-run'));
    const accepted = lines.filter((l) => l.msg === 'run accepted');
    expect(accepted).toHaveLength(2);
    expect(accepted.map((l) => l.cold_start)).toEqual([true, false]);
    expect(accepted[0]).toMatchObject({ function_name: 'cbr-flow-dev-start-run', function_request_id: expect.stringMatching(/^aws-\d+$/) });
    expect(accepted[0]!.function_request_id).not.toBe(accepted[1]!.function_request_id);
  });

  it('concurrent invocations keep their own request id in every line, awaited work included', async () => {
    const w = makeWorld();
    const intake = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: jsonLogger });
    await intake(post(), makeContext());
    await intake(post(), makeContext());
    const [m1, m2] = w.bus.drain('vault').map((d) => d.message);
    const step = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, jsonLogger);
    lines.length = 0;
    const c1 = makeContext('cbr-flow-dev-create-vault');
    const c2 = makeContext('cbr-flow-dev-create-vault');
    await Promise.all([step(makeSqsEvent([makeSqsRecord(m1!), makeSqsRecord('{broken')]), c1), step(makeSqsEvent([makeSqsRecord(m2!)]), c2)]);
    const byRequest = (id: string) => lines.filter((l) => l.function_request_id === id);
    expect(byRequest(c1.awsRequestId).map((l) => l.msg).sort()).toEqual(['step done', 'step failed']);
    expect(byRequest(c1.awsRequestId).find((l) => l.msg === 'step done')!.runId).toBe(m1!.runId);
    expect(byRequest(c2.awsRequestId).map((l) => [l.msg, l.runId])).toEqual([['step done', m2!.runId]]);
    expect(lines.every((l) => l.function_name === 'cbr-flow-dev-create-vault' && l.cold_start === false)).toBe(true);
  });

  it('a handler called by another (start-run hands queue records to its step handler) keeps the outer invocation', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: jsonLogger });
    await handler(post(), makeContext());
    const message = w.bus.drain('vault')[0]!.message;
    lines.length = 0;
    const ctx = makeContext('cbr-flow-dev-start-run');
    await handler(makeSqsEvent([makeSqsRecord(message)]), ctx);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.function_request_id === ctx.awsRequestId && l.function_name === 'cbr-flow-dev-start-run')).toBe(true);
  });

  it('a line outside any invocation has no invocation fields; secrets are still redacted in a line that has them', async () => {
    jsonLogger('info', 'module scope');
    expect(lines[0]).not.toHaveProperty('function_request_id');
    const secret = 'sk-very-secret-value-for-logs-0001';
    knownSecrets.add([secret]);
    const w = makeWorld();
    const get = getRunHandler({ ...w.memory, get: async () => Promise.reject(new Error(`store down, credential ${secret}`)) } as never, jsonLogger);
    const ctx = makeContext('cbr-flow-dev-get-run');
    const res = await get(makeHttpEvent({ method: 'GET', path: '/runs/0c9d6a1e-8f2b-4c3d-9e4f-5a6b7c8d9e0f', pathParameters: { id: '0c9d6a1e-8f2b-4c3d-9e4f-5a6b7c8d9e0f' }, claims: { cbr_projects: '*' } }), ctx);
    expect(res.statusCode).toBe(500);
    const failed = lines.find((l) => l.msg === 'request failed')!;
    expect(failed).toMatchObject({ function_request_id: ctx.awsRequestId, function_name: 'cbr-flow-dev-get-run', message: expect.stringContaining('[REDACTED]') });
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
