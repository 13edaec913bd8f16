import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { httpHandler } from '../../../lib/pipeline/edge/http';
import { ValidationError } from '../../../lib/errors';
import { verifiedWebhookOf, webhookAuth, WebhookAuthConfigError, type WebhookAuthOptions } from '../../../lib/webhooks/middleware';
import { makeContext, makeHttpEvent } from '../../helpers/factories';
import { KEY_1, KEY_2, KEY_OTHER, NOW, nowSeconds, signedEvent } from './helpers';

const body = JSON.stringify({ projectId: '0605767b5780d5762fc5c0118072a564', note: 'héllo' });

interface World {
  clock: { t: number; now(): number };
  handled: unknown[];
  logs: Array<{ level: string; msg: string; fields?: Record<string, unknown> }>;
  answer: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  call(event: APIGatewayProxyEventV2): Promise<{ statusCode: number; body: Record<string, unknown> }>;
}

function world(overrides: Partial<WebhookAuthOptions> = {}): World {
  const clock = { t: NOW, now: () => clock.t };
  const w = {
    clock,
    handled: [] as unknown[],
    logs: [] as World['logs'],
    answer: async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
      // The handler parses the body AFTER the middleware verified the raw bytes.
      const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
      w.handled.push(JSON.parse(text));
      return { statusCode: 202, body: JSON.stringify({ ok: true, webhookId: verifiedWebhookOf(event)?.messageId }) };
    },
  } as World;
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 })
    .use(
      webhookAuth({
        keys: async () => [KEY_1, KEY_2],
        clock,
        log: (level, msg, fields) => w.logs.push({ level, msg, ...(fields ? { fields } : {}) }),
        ...overrides,
      } as WebhookAuthOptions),
    )
    .handler((event) => w.answer(event));
  w.call = async (event) => {
    const res = (await handler(event, makeContext())) as APIGatewayProxyStructuredResultV2;
    return { statusCode: res.statusCode ?? 0, body: JSON.parse(String(res.body)) as Record<string, unknown> };
  };
  return w;
}

let w: World;
beforeEach(() => {
  w = world();
});

describe('webhookAuth middleware', () => {
  it.each([
    ['key 1', KEY_1],
    ['key 2', KEY_2],
  ])('accepts a body signed with %s of the rotated set', async (_, key) => {
    const res = await w.call(signedEvent({ keys: [key], id: `msg_${key.slice(-6)}`, body }));
    expect(res).toEqual({ statusCode: 202, body: { ok: true, webhookId: `msg_${key.slice(-6)}` } });
    expect(w.handled).toEqual([JSON.parse(body)]);
  });

  it('accepts a base64-encoded body (API Gateway isBase64Encoded), verified over the decoded bytes', async () => {
    const event = signedEvent({ keys: [KEY_1], id: 'msg_b64', body });
    event.body = Buffer.from(body, 'utf8').toString('base64');
    event.isBase64Encoded = true;
    expect((await w.call(event)).statusCode).toBe(202);
  });

  it('accepts header names in any case', async () => {
    const event = signedEvent({ keys: [KEY_1], id: 'msg_case', body });
    const h = event.headers;
    event.headers = { 'Webhook-Id': h['webhook-id']!, 'WEBHOOK-TIMESTAMP': h['webhook-timestamp']!, 'Webhook-Signature': h['webhook-signature']! };
    expect((await w.call(event)).statusCode).toBe(202);
  });

  const cases: Array<[string, () => APIGatewayProxyEventV2, string]> = [
    ['a wrong key', () => signedEvent({ keys: [KEY_OTHER], id: 'm1', body }), 'no_matching_signature'],
    ['a tampered body', () => signedEvent({ keys: [KEY_1], id: 'm2', body, sentBody: body.replace('héllo', 'hello') }), 'no_matching_signature'],
    ['no webhook-id', () => signedEvent({ keys: [KEY_1], id: 'm3', body, headers: { 'webhook-id': null } }), 'missing_webhook_id'],
    ['no webhook-timestamp', () => signedEvent({ keys: [KEY_1], id: 'm4', body, headers: { 'webhook-timestamp': null } }), 'missing_webhook_timestamp'],
    ['no webhook-signature', () => signedEvent({ keys: [KEY_1], id: 'm5', body, headers: { 'webhook-signature': null } }), 'missing_webhook_signature'],
    ['no headers at all', () => makeHttpEvent({ method: 'POST', path: '/runs', body }), 'missing_webhook_id'],
    ['a timestamp 5 min + 1 s old', () => signedEvent({ keys: [KEY_1], id: 'm6', body, at: nowSeconds - 301 }), 'timestamp_too_old'],
    ['a timestamp an hour old', () => signedEvent({ keys: [KEY_1], id: 'm7', body, at: nowSeconds - 3600 }), 'timestamp_too_old'],
    ['a timestamp 5 min + 1 s ahead', () => signedEvent({ keys: [KEY_1], id: 'm8', body, at: nowSeconds + 301 }), 'timestamp_too_new'],
    ['a malformed signature header', () => signedEvent({ keys: [KEY_1], id: 'm9', body, headers: { 'webhook-signature': 'sha256=abcdef' } }), 'malformed_signature'],
    ['a malformed timestamp', () => signedEvent({ keys: [KEY_1], id: 'm10', body, headers: { 'webhook-timestamp': '2026-11-22T10:00:00Z' } }), 'malformed_timestamp'],
  ];
  it.each(cases)('answers 401 with a reason for %s, and never runs the handler', async (_, make, reason) => {
    const res = await w.call(make());
    expect(res.statusCode).toBe(401);
    expect(res.body).toEqual({ message: expect.stringMatching(/^webhook authentication failed: /), reason });
    expect(w.handled).toEqual([]);
    expect(w.logs).toEqual([{ level: 'warn', msg: 'webhook rejected', fields: expect.objectContaining({ reason }) }]);
  });

  it('a reused id within the window reaches the handler (which answers with the same result: POST /runs keys its run by the id); a stale or forged copy is still 401', async () => {
    const h = world();
    expect((await h.call(signedEvent({ keys: [KEY_1], id: 'msg_again', body }))).statusCode).toBe(202);
    // The sender's retry (after our crash, say): same id, fresh timestamp, valid signature.
    h.clock.t += 60_000;
    const retry = await h.call(signedEvent({ keys: [KEY_2], id: 'msg_again', body, at: Math.floor(h.clock.t / 1000) }));
    expect(retry).toEqual({ statusCode: 202, body: { ok: true, webhookId: 'msg_again' } });
    expect(h.handled).toHaveLength(2);
    const stale = await h.call(signedEvent({ keys: [KEY_1], id: 'msg_again', body, at: Math.floor(h.clock.t / 1000) - 301 }));
    expect([stale.statusCode, stale.body.reason]).toEqual([401, 'timestamp_too_old']);
    const forged = await h.call(signedEvent({ keys: [KEY_OTHER], id: 'msg_again', body, at: Math.floor(h.clock.t / 1000) }));
    expect([forged.statusCode, forged.body.reason]).toEqual([401, 'no_matching_signature']);
    expect(h.handled).toHaveLength(2);
  });

  it('answers 503 (never 500, never a pass) when the keys cannot be read', async () => {
    const noKeys = world({ keys: async () => Promise.reject(new Error('SecretsManager throttled')) });
    const a = await noKeys.call(signedEvent({ keys: [KEY_1], id: 'k', body }));
    expect(a).toEqual({ statusCode: 503, body: { message: expect.any(String), reason: 'auth_unavailable' } });
    expect(noKeys.handled).toEqual([]);

    const emptyKeys = world({ keys: async () => [] });
    expect((await emptyKeys.call(signedEvent({ keys: [KEY_1], id: 'k', body }))).body.reason).toBe('no_active_keys');
  });

  it('never puts key material or signatures in answers or logs', async () => {
    const event = signedEvent({ keys: [KEY_OTHER], id: 'msg_leak', body });
    const res = await w.call(event);
    const all = JSON.stringify({ res, logs: w.logs });
    for (const secret of [KEY_1, KEY_2, KEY_1.slice(6), KEY_2.slice(6), event.headers['webhook-signature']!.slice(3)]) expect(all).not.toContain(secret);
  });

  it('can be turned off explicitly on the local stage only', async () => {
    const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 })
      .use(webhookAuth({ mode: 'off', stage: 'local' }))
      .handler(async () => ({ statusCode: 202, body: '{}' }));
    expect(await handler(makeHttpEvent({ method: 'POST', path: '/runs', body }), makeContext())).toMatchObject({ statusCode: 202 });
    expect(() => webhookAuth({ mode: 'off', stage: 'prod' })).toThrow(WebhookAuthConfigError);
  });

  it('composes with the pipeline HTTP edge: auth runs before the JSON body is parsed', async () => {
    const seen: unknown[] = [];
    const route = httpHandler(async (event) => {
      const parsed = JSON.parse(event.body ?? '') as { projectId?: unknown };
      if (typeof parsed.projectId !== 'string') throw new ValidationError('projectId', 'is required');
      seen.push(parsed);
      return { statusCode: 202, body: { ok: true } };
    }).use(webhookAuth({ keys: async () => [KEY_1], clock: w.clock }));
    const unsigned = (await route(makeHttpEvent({ method: 'POST', path: '/runs', body: 'not json at all' }), makeContext())) as APIGatewayProxyStructuredResultV2;
    expect(unsigned.statusCode).toBe(401);
    const signedBad = (await route(signedEvent({ keys: [KEY_1], id: 'edge-1', body: '{}' }), makeContext())) as APIGatewayProxyStructuredResultV2;
    expect(signedBad.statusCode).toBe(400);
    const signed = (await route(signedEvent({ keys: [KEY_1], id: 'edge-2', body }), makeContext())) as APIGatewayProxyStructuredResultV2;
    expect(signed.statusCode).toBe(202);
    expect(seen).toHaveLength(1);
  });
});
