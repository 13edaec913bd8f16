import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotifyError } from '../../../lib/notify/errors';
import { notificationMessageId, RunFinishedNotification } from '../../../lib/notify/payload';
import { notifyRunFinished, postSignedWebhook, toNotificationRecord, type NotifyOptions } from '../../../lib/notify/send';
import { knownSecrets } from '../../../lib/secrets/redact';
import { startLoopbackServer, type LoopbackServer, type RecordedRequest } from '../../helpers/loopback-server';
import { finishedRun, RUN_ID } from './fixtures';

const KEY_1 = 'whsec_' + Buffer.from('notify key one, 32 bytes of entropy!').toString('base64');
const KEY_2 = 'whsec_' + Buffer.from('notify key two, the rotated-in one!!').toString('base64');

let receiver: LoopbackServer;
beforeAll(async () => {
  receiver = await startLoopbackServer();
});
afterAll(() => receiver.stop());
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.respond(() => ({ status: 204 }));
});

/** What a real receiver does: verify with the library, rejecting anything it would reject. */
function verifies(req: RecordedRequest, key: string): boolean {
  try {
    new Webhook(key).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

function opts(extra: Partial<NotifyOptions> = {}): NotifyOptions & { delays: number[] } {
  const delays: number[] = [];
  return { keys: [KEY_1, KEY_2], allowLoopback: true, sleep: async (ms) => void delays.push(ms), delays, ...extra };
}

describe('notifyRunFinished', () => {
  it('POSTs the run-finished payload signed with every active key; the receiver verifies it with either', async () => {
    const run = finishedRun();
    const result = await notifyRunFinished(run, `${receiver.url}/hooks/cbr`, opts());
    expect(result).toEqual({ ok: true, messageId: notificationMessageId(RUN_ID, 'PARTIAL'), attempts: 1, status: 204 });
    const [req] = receiver.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/hooks/cbr' });
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['webhook-id']).toBe(`run-finished_${RUN_ID}_partial`);
    expect(verifies(req!, KEY_1)).toBe(true);
    expect(verifies(req!, KEY_2)).toBe(true);
    expect(verifies(req!, 'whsec_' + Buffer.from('some other key of 32 bytes length').toString('base64'))).toBe(false);
    const payload = RunFinishedNotification.parse(JSON.parse(req!.body));
    expect(payload).toMatchObject({
      type: 'run.finished',
      timestamp: '2026-11-22T02:10:00.000Z',
      data: {
        runId: RUN_ID,
        state: 'PARTIAL',
        reason: '1 of 2 resources failed; 1 of 2 shares failed',
        error: { code: 'BackupService.6008', message: 'disk busy', requestId: 'req-42', step: 'check-status' },
        timings: { createdAt: '2026-11-22T02:00:00.000Z', finishedAt: '2026-11-22T02:10:00.000Z', durationMs: 600_000 },
        vault: { id: 'a1b2c3d4-0000-4000-8000-000000000001' },
        checkpointIds: ['c0ffee00-0000-4000-8000-000000000002'],
        members: [
          { projectId: '1a2b3c4d5e6f708192a3b4c5d6e7f801', status: 'pending' },
          { projectId: '2a2b3c4d5e6f708192a3b4c5d6e7f802', status: 'failed', code: 'BackupService.6250' },
        ],
        failedResources: [{ id: '97595625-198e-4e4d-879b-9d53f68ba551' }],
      },
    });
  });

  it('a duplicated notification is recognisably the same message (same webhook-id, same body)', async () => {
    await notifyRunFinished(finishedRun(), receiver.url, opts());
    await notifyRunFinished(finishedRun({ version: 10, updatedAt: 1 }), receiver.url, opts());
    const [a, b] = receiver.requests;
    expect(a!.headers['webhook-id']).toBe(b!.headers['webhook-id']);
    expect(a!.body).toBe(b!.body);
    await notifyRunFinished(finishedRun({ state: 'FAILED' }), receiver.url, opts());
    expect(receiver.requests[2]!.headers['webhook-id']).toBe(`run-finished_${RUN_ID}_failed`);
  });

  it('scrubs known secrets from the body as a last line of defence', async () => {
    knownSecrets.add(['SK-leaked-into-an-error-0042']);
    await notifyRunFinished(finishedRun({ lastError: { code: 'X', message: 'signing with SK-leaked-into-an-error-0042 failed', at: 1 } }), receiver.url, opts());
    expect(receiver.requests[0]!.body).not.toContain('SK-leaked');
    expect(verifies(receiver.requests[0]!, KEY_1)).toBe(true);
  });

  it('refuses a run that has not finished', async () => {
    await expect(notifyRunFinished(finishedRun({ state: 'RUNNING' }), receiver.url, opts())).rejects.toMatchObject({ name: 'NotifyError', reason: 'not_finished' });
  });
});

describe('postSignedWebhook retries', () => {
  it('retries 503 then succeeds; every attempt is freshly signed with the same id and body', async () => {
    receiver.respond((_, i) => (i < 2 ? { status: 503 } : { status: 200, body: { ok: true } }));
    const o = opts({ random: () => 0.999, baseDelayMs: 100 });
    const result = await postSignedWebhook(receiver.url, 'msg_1', '{"a":1}', o);
    expect(result).toEqual({ ok: true, messageId: 'msg_1', attempts: 3, status: 200 });
    expect(receiver.requests).toHaveLength(3);
    for (const r of receiver.requests) {
      expect(r.headers['webhook-id']).toBe('msg_1');
      expect(r.body).toBe('{"a":1}');
      expect(verifies(r, KEY_2)).toBe(true);
    }
    expect(o.delays).toEqual([99, 199]);
  });

  it('uses full jitter: each delay is uniform in [0, min(cap, base * 2^(n-1))]', async () => {
    receiver.respond(() => ({ status: 500 }));
    const o = opts({ maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 });
    await postSignedWebhook(receiver.url, 'm', '{}', o);
    expect(o.delays).toEqual([99, 199, 399, 799, 999]);
    const low = opts({ maxAttempts: 3, random: () => 0 });
    await postSignedWebhook(receiver.url, 'm', '{}', low);
    expect(low.delays).toEqual([0, 0]);
  });

  it('honours Retry-After on 429 (capped at maxDelayMs)', async () => {
    receiver.respond((_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '3' } } : i === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 202 }));
    const o = opts({ random: () => 0, maxDelayMs: 10_000 });
    expect(await postSignedWebhook(receiver.url, 'm', '{}', o)).toMatchObject({ ok: true, attempts: 3 });
    expect(o.delays).toEqual([3000, 10_000]);
  });

  it('honours a Retry-After HTTP-date and ignores an unparseable one (the same parser as the CBR client)', async () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    receiver.respond((_, i) => (i === 0 ? { status: 503, headers: { 'retry-after': 'Sun, 22 Nov 2026 12:00:04 GMT' } } : i === 1 ? { status: 503, headers: { 'retry-after': '-1' } } : { status: 202 }));
    const o = opts({ random: () => 0, clock: { now: () => now } });
    expect(await postSignedWebhook(receiver.url, 'm', '{}', o)).toMatchObject({ ok: true, attempts: 3 });
    expect(o.delays).toEqual([4000, 0]);
  });

  it('gives up after maxAttempts with a typed failure naming only the origin', async () => {
    receiver.respond(() => ({ status: 502 }));
    const result = await postSignedWebhook(`${receiver.url}/secret-path/T0KEN?x=1`, 'msg_gone', '{}', opts({ maxAttempts: 4 }));
    expect(receiver.requests).toHaveLength(4);
    expect(result).toMatchObject({ ok: false, messageId: 'msg_gone', attempts: 4, status: 502, reason: 'exhausted' });
    if (result.ok) throw new Error('unreachable');
    expect(result.error).toBeInstanceOf(NotifyError);
    expect(result.error).toMatchObject({ reason: 'exhausted', attempts: 4, status: 502, retryable: true, origin: receiver.url });
    expect(result.error.message).toContain('HTTP 502');
    expect(result.error.message).not.toContain('T0KEN');
    expect(toNotificationRecord(result, 123)).toEqual({ messageId: 'msg_gone', ok: false, attempts: 4, status: 502, reason: 'exhausted', message: result.error.message, at: 123 });
  });

  it.each([400, 401, 403, 404, 410, 413, 422])('never retries HTTP %i', async (status) => {
    receiver.respond(() => ({ status }));
    const result = await postSignedWebhook(receiver.url, 'm', '{}', opts());
    expect(receiver.requests).toHaveLength(1);
    expect(result).toMatchObject({ ok: false, attempts: 1, status, reason: 'rejected', error: { retryable: false } });
  });

  it('does not follow redirects', async () => {
    receiver.respond((req) => (req.path === '/start' ? { status: 307, headers: { location: '/elsewhere' } } : { status: 200 }));
    const result = await postSignedWebhook(`${receiver.url}/start`, 'm', '{}', opts());
    expect(receiver.requests.map((r) => r.path)).toEqual(['/start']);
    expect(result).toMatchObject({ ok: false, reason: 'redirect', status: 307, attempts: 1 });
  });

  it('times out a hanging attempt and retries it', async () => {
    receiver.respond((_, i) => (i === 0 ? { status: 200, delayMs: 400 } : { status: 200 }));
    const result = await postSignedWebhook(receiver.url, 'm', '{}', opts({ timeoutMs: 80 }));
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('retries network errors (connection reset) and reports the last one', async () => {
    receiver.respond(() => ({ destroy: true }));
    const events: unknown[] = [];
    const result = await postSignedWebhook(receiver.url, 'm', '{}', opts({ maxAttempts: 3, onAttempt: (e) => events.push(e) }));
    expect(receiver.requests).toHaveLength(3);
    expect(result).toMatchObject({ ok: false, attempts: 3, reason: 'exhausted' });
    expect(result.ok ? undefined : result.status).toBeUndefined();
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ attempt: 1, error: expect.stringMatching(/TypeError/), retryInMs: expect.any(Number) });
  });

  it('stops early when another attempt would not fit before the deadline', async () => {
    receiver.respond(() => ({ status: 503 }));
    const start = Date.now();
    const result = await postSignedWebhook(receiver.url, 'm', '{}', opts({ deadlineAt: start + 2_000, timeoutMs: 1_900, random: () => 0.9, baseDelayMs: 1_000 }));
    expect(result).toMatchObject({ ok: false, reason: 'deadline', attempts: 1, status: 503 });
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('postSignedWebhook URL guard', () => {
  const neverFetch = (async () => {
    throw new Error('must not be called');
  }) as unknown as typeof fetch;

  it.each([
    ['ftp://example.com/hook', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['http://169.254.169.254/latest/meta-data/', /link-local|metadata/],
    ['http://169.254.170.2/v2/credentials', /link-local|metadata/],
    ['http://[fd00:ec2::254]/latest/meta-data/', /link-local|metadata/],
    ['http://[::ffff:169.254.169.254]/', /link-local|metadata/],
    ['http://2852039166/', /link-local|metadata/],
    ['http://0.0.0.0:9001/', /forbidden/],
    ['http://user:pw@example.com/', /credentials/],
    ['not a url', /not a valid URL/],
  ])('blocks %s without sending anything', async (url, why) => {
    const result = await postSignedWebhook(url, 'm', '{}', opts({ fetch: neverFetch, allowLoopback: true }));
    expect(result).toMatchObject({ ok: false, reason: 'blocked_url', attempts: 0 });
    expect(result.ok ? '' : result.error.message).toMatch(why);
  });

  it('blocks loopback unless explicitly allowed', async () => {
    const blocked = await postSignedWebhook(receiver.url, 'm', '{}', opts({ allowLoopback: false }));
    expect(blocked).toMatchObject({ ok: false, reason: 'blocked_url' });
    expect(await postSignedWebhook('http://localhost:1/', 'm', '{}', opts({ allowLoopback: false, fetch: neverFetch }))).toMatchObject({ reason: 'blocked_url' });
    expect(await postSignedWebhook('http://[::1]:1/', 'm', '{}', opts({ allowLoopback: false, fetch: neverFetch }))).toMatchObject({ reason: 'blocked_url' });
    expect(receiver.requests).toHaveLength(0);
  });

  it('checks every address a host name resolves to', async () => {
    const lookup = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ];
    const result = await postSignedWebhook('https://hooks.attacker.example/', 'm', '{}', opts({ lookup, fetch: neverFetch }));
    expect(result).toMatchObject({ ok: false, reason: 'blocked_url' });
    let called = 0;
    const ok = await postSignedWebhook('https://hooks.example.com/x', 'm', '{}', opts({
      lookup: async () => [{ address: '93.184.216.34', family: 4 }],
      fetch: (async () => {
        called++;
        return new Response(null, { status: 204 });
      }) as unknown as typeof fetch,
    }));
    expect(ok).toMatchObject({ ok: true });
    expect(called).toBe(1);
  });

  it('throws (does not send unsigned) when no key is configured', async () => {
    await expect(postSignedWebhook(receiver.url, 'm', '{}', opts({ keys: [] }))).rejects.toMatchObject({ name: 'WebhookKeyError' });
    expect(receiver.requests).toHaveLength(0);
  });
});
