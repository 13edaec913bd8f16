/**
 * Issue 6 item 6 — the HTTP edge under fuzzing: POST /runs (the webhook, through the real start-run
 * handler with API Gateway v2 events), GET /runs/{id} path parameters and GET /runs query parameters,
 * on the in-memory ports. Properties: never a 5xx, never an unhandled rejection, every 4xx names the
 * offending field (and for a one-field mutation: exactly the mutated field), nothing stored on a 4xx,
 * Object.prototype never polluted.
 *
 * The body-validation properties run with webhook authentication explicitly OFF (the local-stage
 * switch), so every random body reaches the parser; the authentication properties (item 7) run with it
 * ON: random, unsigned, malformed, stale, wrongly signed or tampered requests are always a 401 with a
 * reason — never a 5xx, never stored — and correctly signed random bodies are never refused by auth.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunRequest } from '../../lib/contracts/run-request';
import { getRunHandler } from '../../lib/pipeline/edge/get-run';
import { startRunHandler } from '../../lib/pipeline/edge/start-run';
import type { Logger } from '../../lib/wiring/log';
import type { WebhookAuthOptions } from '../../lib/webhooks/middleware';
import { signWebhook } from '../../lib/webhooks/verify';
import {
  anyJson,
  asParsed,
  assertNoPollution,
  formatPath,
  hostileId,
  hostileText,
  mutated,
  pointsAt,
  runRequest,
  runs,
  toJson,
  uuid,
  watchProcess,
} from '../helpers/arbitraries';
import { ALL_PROJECTS_READER, makeContext, makeHttpEvent } from '../helpers/factories';
import { AUTH_OFF, TEST_WEBHOOK_KEY, testWebhookAuth } from '../helpers/webhooks';
import { makeWorld } from '../unit/pipeline/world';

const ctx = makeContext('cbr-flow-fuzz');
const counts: Record<string, number> = {};
const count = (target: string) => (counts[target] = (counts[target] ?? 0) + 1);
const started = Date.now();

interface ErrorBody {
  error: string;
  message: string;
  field?: string;
  issues?: Array<{ field: string; message: string }>;
}

let watch: ReturnType<typeof watchProcess>;
beforeAll(() => {
  watch = watchProcess();
});
afterAll(() => {
  watch.stop();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`[fuzz-http] ${JSON.stringify(counts)} total=${total} in ${Date.now() - started} ms`);
});

/** A logger that keeps lines, so a test can see that nothing was logged as an unexpected error. */
function capture(): { log: Logger; errors: () => unknown[] } {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  return {
    log: (level, msg, fields) => void lines.push({ level, msg, ...(fields ? { fields } : {}) }),
    errors: () => lines.filter((l) => l.level === 'error' && l.msg === 'request failed'),
  };
}

function parseBody(res: APIGatewayProxyStructuredResultV2): unknown {
  expect(res.headers?.['content-type']).toBe('application/json');
  return JSON.parse(res.body ?? 'null') as unknown;
}

/** The shape every 4xx must have: an error name, a message and the offending field(s). */
function expectNamedError(res: APIGatewayProxyStructuredResultV2): ErrorBody {
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(res.statusCode).toBeLessThan(500);
  const body = parseBody(res) as ErrorBody;
  expect(typeof body.error).toBe('string');
  expect(typeof body.message).toBe('string');
  expect(typeof body.field).toBe('string');
  expect(body.field!.length).toBeGreaterThan(0);
  if (body.issues !== undefined) {
    expect(body.issues.length).toBeGreaterThan(0);
    for (const i of body.issues) {
      expect(typeof i.field).toBe('string');
      expect(i.field.length).toBeGreaterThan(0);
      expect(typeof i.message).toBe('string');
    }
    expect(body.issues[0]!.field).toBe(body.field);
  }
  return body;
}

function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, base64 = false): APIGatewayProxyEventV2 {
  const event = makeHttpEvent({ method: 'POST', path: '/runs', body: base64 ? Buffer.from(body).toString('base64') : body, headers });
  return { ...event, isBase64Encoded: base64 };
}

function webhook(webhookAuth: WebhookAuthOptions = AUTH_OFF) {
  const w = makeWorld();
  const logger = capture();
  const handler = startRunHandler(w.deps, { webhookAuth, log: logger.log });
  const call = async (event: APIGatewayProxyEventV2) => (await handler(event, ctx)) as APIGatewayProxyStructuredResultV2;
  return { w, logger, call };
}

describe('POST /runs (webhook) under fuzzing', () => {
  it('random JSON bodies: 202 or a 400 naming a field; nothing stored on a 400', async () => {
    const { w, logger, call } = webhook();
    await fc.assert(
      fc.asyncProperty(anyJson, async (json) => {
        count('post.randomJson');
        const before = w.memory.runs.size;
        const res = await call(post(toJson(json)));
        if (res.statusCode === 202) {
          expect(RunRequest.safeParse(asParsed(json)).success).toBe(true);
        } else {
          expect(res.statusCode).toBe(400);
          expectNamedError(res);
          expect(w.memory.runs.size).toBe(before);
        }
        assertNoPollution();
      }),
      { numRuns: runs(1000) },
    );
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });

  it('near-valid run requests with one field mutated: the 400 names exactly the mutated field', async () => {
    const { w, logger, call } = webhook();
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(mutated(runRequest), async (m) => {
        count('post.mutatedRequest');
        const before = w.memory.runs.size;
        const text = toJson(m.value);
        const res = await call(post(text));
        outcomes[`${m.kind}:${res.statusCode}`] = (outcomes[`${m.kind}:${res.statusCode}`] ?? 0) + 1;
        if (res.statusCode === 202) {
          expect(m.mustFail, `${m.note} was accepted`).toBe(false);
          expect(RunRequest.safeParse(JSON.parse(text)).success).toBe(true);
          expect(w.memory.runs.size).toBe(before + 1);
          return;
        }
        expect(res.statusCode, m.note).toBe(400);
        const body = expectNamedError(res);
        const want = formatPath(m.expect);
        expect(pointsAt(body.field!, m.expect), `${m.note}: field '${body.field}' should name '${want}'`).toBe(true);
        for (const issue of body.issues ?? []) {
          expect(pointsAt(issue.field, m.expect), `${m.note}: issue on '${issue.field}' (${issue.message}) is not about '${want}'`).toBe(true);
        }
        expect(w.memory.runs.size).toBe(before);
        assertNoPollution();
      }),
      { numRuns: runs(2000) },
    );
    // Every kind of mutation was exercised, and the always-invalid ones were refused.
    for (const kind of ['wrong-type', 'missing', 'null', 'huge', 'unicode', 'proto-key', 'nested', 'hostile-id', 'extra-key']) {
      expect(Object.keys(outcomes).some((k) => k.startsWith(`${kind}:`)), kind).toBe(true);
    }
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });

  it('raw bodies, encodings and headers: only 202/400/413/415, each naming what is wrong', async () => {
    const { w, logger, call } = webhook();
    const contentType = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.cbr+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', ''),
      hostileText,
    );
    const body = fc.oneof(
      anyJson.map(toJson),
      runRequest.map(toJson),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('', ' ', '{', '{"projectId":', 'null', '[]', '"x"', '\ufeff{}', '{"a":1}{"a":2}', 'NaN', '1e999', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}'),
      runRequest.map((r) => `${toJson(r)}garbage`),
      fc.integer({ min: 256 * 1024 + 1, max: 300 * 1024 }).map((n) => `{"projectId":"${'a'.repeat(n)}"}`),
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, fc.option(hostileText, { nil: undefined }), fc.boolean(), async (text, type, key, base64) => {
        count('post.rawBody');
        const before = w.memory.runs.size;
        const headers: Record<string, string> = {};
        if (type !== undefined) headers['content-type'] = type;
        if (key !== undefined) headers['idempotency-key'] = key;
        const res = await call(post(text, headers, base64));
        expect([202, 400, 413, 415]).toContain(res.statusCode);
        if (res.statusCode === 202) {
          expect(w.memory.runs.size).toBeLessThanOrEqual(before + 1);
          return;
        }
        const err = expectNamedError(res);
        if (res.statusCode === 415) expect(err.field).toBe('headers.content-type');
        if (res.statusCode === 413) expect(err.field).toBe('body');
        expect(w.memory.runs.size).toBe(before);
        assertNoPollution();
      }),
      { numRuns: runs(600), examples: [['{"a":1}', 'text/plain', undefined, false], ['', undefined, undefined, false]] },
    );
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });
});

const AUTH_REASONS = [
  'missing_webhook_id', 'missing_webhook_timestamp', 'missing_webhook_signature', 'malformed_webhook_id', 'malformed_timestamp',
  'malformed_signature', 'timestamp_too_old', 'timestamp_too_new', 'no_matching_signature',
];
const OTHER_KEY = `whsec_${Buffer.from('not the key the API holds, 32 B!!').toString('base64')}`;

describe('POST /runs with webhook authentication ON under fuzzing', () => {
  /** Header values an attacker might send: absent, empty, hostile, plausible-but-wrong. */
  const headerValue = (plausible: fc.Arbitrary<string>) => fc.option(fc.oneof(plausible, hostileText, fc.constant('')), { nil: undefined });
  const nowS = () => Math.floor(Date.now() / 1000);
  const forged = fc.record({
    id: headerValue(fc.oneof(fc.uuid(), fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/))),
    timestamp: headerValue(fc.oneof(fc.integer({ min: -400, max: 400 }).map((d) => String(nowS() + d)), fc.constantFrom('0', '99999999999', '1e9', '-1', '17000000000000'))),
    signature: headerValue(
      fc.oneof(
        fc.base64String({ minLength: 44, maxLength: 44 }).map((b) => `v1,${b}`),
        fc.array(fc.base64String({ minLength: 4, maxLength: 60 }).map((b) => `v1,${b}`), { minLength: 1, maxLength: 4 }).map((a) => a.join(' ')),
        fc.constantFrom('v1,', 'v2,abcd', 'v1a,QUJD', 'v1 ,QUJD', 'v1,' + 'A'.repeat(5000)),
      ),
    ),
  });

  it('random, unsigned or forged requests: always 401 naming the reason, never a 5xx, nothing stored', async () => {
    const { w, logger, call } = webhook(testWebhookAuth());
    const seen: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson.map(toJson), runRequest.map(toJson)), forged, fc.boolean(), async (text, h, base64) => {
        count('post.auth.forged');
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (h.id !== undefined) headers['webhook-id'] = h.id;
        if (h.timestamp !== undefined) headers['webhook-timestamp'] = h.timestamp;
        if (h.signature !== undefined) headers['webhook-signature'] = h.signature;
        const res = await call(post(text, headers, base64));
        expect(res.statusCode).toBe(401);
        const body = parseBody(res) as { message: string; reason: string };
        expect(AUTH_REASONS).toContain(body.reason);
        expect(body.message).toMatch(/^webhook authentication failed: /);
        seen[body.reason] = (seen[body.reason] ?? 0) + 1;
        expect(w.memory.runs.size).toBe(0);
        assertNoPollution();
      }),
      {
        numRuns: runs(1000),
        // One fixed case per reason, so the coverage check below never depends on the random draw.
        examples: ((): Array<[string, { id?: string; timestamp?: string; signature?: string }, boolean]> => {
          const body = '{"projectId":"x"}';
          const ts = String(nowS());
          const sig = `v1,${'A'.repeat(43)}=`;
          return [
            [body, { timestamp: ts, signature: sig }, false],
            [body, { id: 'msg_missing_ts', signature: sig }, false],
            [body, { id: 'msg_missing_sig', timestamp: ts }, false],
            [body, { id: 'msg_bad_ts', timestamp: '1e9', signature: sig }, false],
            [body, { id: 'msg_bad_sig', timestamp: ts, signature: 'v2,abcd' }, false],
            [body, { id: 'msg_no_match', timestamp: ts, signature: sig }, false],
          ];
        })(),
      },
    );
    for (const reason of ['missing_webhook_id', 'missing_webhook_timestamp', 'missing_webhook_signature', 'malformed_timestamp', 'malformed_signature', 'no_matching_signature']) {
      expect(seen[reason], reason).toBeGreaterThan(0);
    }
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });

  it('signed with the wrong key, tampered after signing, stale or from the future: 401 with that reason; replayed: the same run, no new one', async () => {
    const { w, logger, call } = webhook(testWebhookAuth());
    const attack = fc.constantFrom('wrong-key', 'tampered', 'stale', 'future', 'replayed');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(runRequest.map(toJson), attack, fc.integer({ min: 301, max: 86_400 }), async (text, kind, skew) => {
        count('post.auth.attack');
        const id = `msg_fuzz_${++n}`;
        const now = Date.now();
        const sign = (keys: string[], at: number, t = text) => signWebhook(keys, id, t, at);
        let headers: Record<string, string>;
        let sent = text;
        if (kind === 'wrong-key') headers = sign([OTHER_KEY], now);
        else if (kind === 'stale') headers = sign([TEST_WEBHOOK_KEY], now - skew * 1000);
        else if (kind === 'future') headers = sign([TEST_WEBHOOK_KEY], now + skew * 1000);
        else if (kind === 'tampered') {
          headers = sign([TEST_WEBHOOK_KEY], now);
          sent = text.replace(/.$/, ' }');
        } else {
          headers = sign([TEST_WEBHOOK_KEY], now);
          const first = await call(post(text, { 'content-type': 'application/json', ...headers }));
          expect([202, 400]).toContain(first.statusCode);
          if (first.statusCode === 400) return; // a refused body starts no run; its id may be reused
        }
        const before = w.memory.runs.size;
        const res = await call(post(sent, { 'content-type': 'application/json', ...headers }));
        if (kind === 'replayed') {
          // The run id is derived from the webhook-id: a copy answers with the run the first one started.
          expect(res.statusCode).toBe(202);
          expect(parseBody(res)).toMatchObject({ created: false });
          expect(w.memory.runs.size).toBe(before);
          return;
        }
        expect(res.statusCode).toBe(401);
        const want = { 'wrong-key': 'no_matching_signature', tampered: 'no_matching_signature', stale: 'timestamp_too_old', future: 'timestamp_too_new' }[kind];
        expect((parseBody(res) as { reason: string }).reason).toBe(want);
        expect(w.memory.runs.size).toBe(before);
      }),
      { numRuns: runs(500) },
    );
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });

  it('correctly signed random bodies are never refused by authentication: 202, or a 400/413/415 naming the field', async () => {
    const { logger, call } = webhook(testWebhookAuth());
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson.map(toJson), runRequest.map(toJson), fc.string({ unit: 'binary', maxLength: 100 })), fc.boolean(), async (text, base64) => {
        count('post.auth.signed');
        const res = await call(post(text, { 'content-type': 'application/json', ...signWebhook([TEST_WEBHOOK_KEY], `msg_ok_${++n}`, text) }, base64));
        expect([202, 400, 413, 415]).toContain(res.statusCode);
        if (res.statusCode !== 202) expectNamedError(res);
      }),
      { numRuns: runs(500) },
    );
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });
});

describe('GET /runs/{id} and GET /runs under fuzzing', () => {
  async function seeded() {
    const { w, call } = webhook();
    const ids: string[] = [];
    for (const r of fc.sample(runRequest, { numRuns: 5, seed: 42 })) {
      const res = await call(post(toJson(r)));
      ids.push((JSON.parse(res.body!) as { runId: string }).runId);
    }
    const logger = capture();
    const handler = getRunHandler(w.memory, logger.log);
    const get = async (event: APIGatewayProxyEventV2) => (await handler(event, ctx)) as APIGatewayProxyStructuredResultV2;
    return { w, ids, logger, get };
  }

  it('path ids: 200 for a known run, 404 for an unknown UUID, 400 naming `id` for anything else', async () => {
    const { ids, logger, get } = await seeded();
    const id = fc.oneof(hostileId, uuid, fc.constantFrom(...ids), fc.constantFrom(...ids).map((i) => i.toUpperCase()), fc.string({ unit: 'binary', maxLength: 50 }));
    await fc.assert(
      fc.asyncProperty(id, fc.boolean(), async (value, withRouteKey) => {
        count('get.pathId');
        const event = makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: `/runs/${encodeURIComponent(value)}`, pathParameters: { id: value }, ...(withRouteKey ? { routeKey: 'GET /runs/{id}' } : { routeKey: '$default' }) });
        const res = await get(event);
        if (ids.includes(value)) {
          expect(res.statusCode).toBe(200);
          expect((parseBody(res) as { runId: string }).runId).toBe(value);
        } else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(value)) {
          expect(res.statusCode).toBe(404);
          expect(expectNamedError(res).field).toBe('id');
        } else {
          expect(res.statusCode).toBe(400);
          expect(expectNamedError(res).field).toBe('id');
        }
      }),
      { numRuns: runs(600), examples: [['../runs', true], ['%2e%2e%2f', true], ['', true]] },
    );
    // The route without its parameter is a 400 on `id`, not a listing or a crash.
    const bare = await get(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs/', routeKey: 'GET /runs/{id}' }));
    expect(bare.statusCode).toBe(400);
    expect(expectNamedError(bare).field).toBe('id');
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });

  it('query parameters: 200 only for a decimal limit in 1..100; any other key or value is a 400 naming it', async () => {
    const { ids, logger, get } = await seeded();
    const limitValue = fc.oneof(fc.integer({ min: -5, max: 150 }).map(String), hostileText, fc.constantFrom('', ' 5', '5 ', '0x10', '1e1', '0b11', '2.0', '+3', '-0', 'Infinity', 'NaN', '007', '1,2', '100', '101'));
    const key = fc.oneof(fc.constant('limit'), fc.constantFrom('offset', 'Limit', '__proto__', 'constructor', 'toString', 'limit[]', 'limit '), fc.string({ minLength: 1, maxLength: 10 }));
    const query = fc.option(fc.dictionary(key, limitValue, { maxKeys: 3, noNullPrototype: true }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(query, async (params) => {
        count('get.query');
        const event = makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: '/runs', routeKey: 'GET /runs', ...(params ? { queryStringParameters: params } : {}) });
        const res = await get(event);
        const keys = Object.keys(params ?? {});
        const unknown = keys.filter((k) => k !== 'limit');
        const limit = params?.limit;
        const limitOk = limit === undefined || (/^[0-9]+$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 100);
        if (unknown.length === 0 && limitOk) {
          expect(res.statusCode).toBe(200);
          const listed = (parseBody(res) as { runs: Array<{ runId: string }> }).runs;
          expect(listed.length).toBe(Math.min(ids.length, limit === undefined ? 20 : Number(limit)));
          return;
        }
        expect(res.statusCode).toBe(400);
        const err = expectNamedError(res);
        const named = (err.issues ?? []).map((i) => i.field);
        for (const k of unknown) expect(named, `unknown query key ${JSON.stringify(k)}`).toContain(formatPath([k], 'query'));
        if (!limitOk) expect(named).toContain('query.limit');
        assertNoPollution();
      }),
      { numRuns: runs(600), examples: [[{ limit: '0x10' }], [{ limit: '1e1' }], [{ x: '1' }]] },
    );
    expect(logger.errors()).toEqual([]);
    await watch.check();
  });
});
