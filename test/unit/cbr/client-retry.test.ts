import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCbrClient } from '../../../lib/cbr/client';
import type { CbrClientOptions } from '../../../lib/cbr/client';
import { CbrApiError } from '../../../lib/cbr/errors';
import type { CallEvent } from '../../../lib/cbr/http';
import { startLoopbackServer, verifyAkSk } from '../../helpers/loopback-server';
import type { LoopbackServer, Reply } from '../../helpers/loopback-server';
import { AK, BACKUP_ID, CHECKPOINT, P, SK, VAULT, VAULT_ID } from './fixtures';

let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer();
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
});

/** A client with a deterministic clock, jitter source and a sleep that records instead of waiting. */
function harness(over: Partial<CbrClientOptions> = {}, randoms: number[] = [0.5]) {
  const sleeps: number[] = [];
  const events: CallEvent[] = [];
  let t = Date.UTC(2026, 10, 22, 12, 0, 0);
  let r = 0;
  const client = createCbrClient({
    region: 'ap-southeast-1',
    projectId: P,
    endpoint: server.url,
    auth: { type: 'aksk', ak: AK, sk: SK },
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, maxRetryAfterMs: 5_000 },
    timeoutMs: 2_000,
    now: () => new Date(t),
    random: () => randoms[r++ % randoms.length]!,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms + 60_000; // a minute passes between attempts: the date must move with it
    },
    onCall: (e) => events.push(e),
    ...over,
  });
  return { client, sleeps, events, now: () => new Date(t) };
}

/** Answers from a script, then repeats the last entry. */
const script = (...replies: Reply[]) => (_: unknown, i: number) => replies[Math.min(i, replies.length - 1)]!;
const ok = (body: object): Reply => ({ status: 200, body });
const e503: Reply = { status: 503, body: { error_code: 'APIGW.0201', error_msg: 'backend unavailable' } };

describe('retries', () => {
  it('GET: 503, 503, 200 -> three attempts, exponential full-jitter delays, success', async () => {
    const h = harness({}, [0.5, 0.999]);
    server.respond(script(e503, e503, ok({ vault: VAULT })));
    const r = await h.client.showVault(VAULT_ID);
    expect(r.vault.id).toBe(VAULT_ID);
    expect(server.requests).toHaveLength(3);
    // retry 1: 0.5 * min(250, 100) = 50; retry 2: floor(0.999 * min(250, 200)) = 199
    expect(h.sleeps).toEqual([50, 199]);
    expect(h.events.map((e) => [e.attempt, e.status, e.errorCode])).toEqual([
      [1, 503, 'APIGW.0201'],
      [2, 503, 'APIGW.0201'],
      [3, 200, undefined],
    ]);
    expect(h.events.every((e) => e.operation === 'ShowVault' && e.method === 'GET' && e.path === `/v3/${P}/vaults/${VAULT_ID}` && e.durationMs >= 0)).toBe(true);
  });

  it('bounded: always 500 -> exactly maxAttempts requests, then a retryable CbrApiError with attempts', async () => {
    const h = harness();
    server.respond(() => ({ status: 500, body: { error_code: 'BackupService.9910', error_msg: 'Unknown error.' } }));
    const e = await h.client.showBackup(BACKUP_ID).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CbrApiError);
    expect(e).toMatchObject({ httpStatus: 500, retryable: true, attempts: 4 });
    expect(server.requests).toHaveLength(4);
    expect(h.sleeps).toHaveLength(3);
  });

  it('every retry is re-signed with a fresh X-Sdk-Date (never a stale one)', async () => {
    const h = harness();
    server.respond(script(e503, e503, ok({ vault: VAULT })));
    await h.client.showVault(VAULT_ID);
    const dates = server.requests.map((r) => r.headers['x-sdk-date']);
    expect(new Set(dates).size).toBe(3);
    expect(new Set(server.requests.map((r) => r.headers.authorization)).size).toBe(3);
    // each attempt verifies against the clock at the time it was sent (15-minute window)
    let t = Date.UTC(2026, 10, 22, 12, 0, 0);
    for (const [i, req] of server.requests.entries()) {
      expect(verifyAkSk(req, { [AK]: SK }, new Date(t)).ok).toBe(true);
      t += h.sleeps[i]! + 60_000;
    }
  });

  it('DELETE is retried freely', async () => {
    const h = harness();
    server.respond(script(e503, { status: 204 }));
    await h.client.deleteBackup(BACKUP_ID);
    expect(server.requests.map((r) => r.method)).toEqual(['DELETE', 'DELETE']);
  });

  it('POST is NOT retried unless the caller marks it idempotent', async () => {
    const h = harness();
    server.respond(script(e503, ok({ checkpoint: CHECKPOINT })));
    const body = { checkpoint: { vault_id: VAULT_ID } };
    const e = await h.client.createCheckpoint(body).catch((x: unknown) => x);
    expect(e).toMatchObject({ httpStatus: 503, retryable: true, attempts: 1 });
    expect(server.requests).toHaveLength(1);
    expect(h.sleeps).toEqual([]);

    server.requests.length = 0;
    server.respond(script(e503, ok({ checkpoint: CHECKPOINT })));
    const r = await h.client.createCheckpoint(body, { idempotent: true });
    expect(r.checkpoint.id).toBe(CHECKPOINT.id);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.body).toBe(server.requests[1]!.body);
  });

  it('PUT is NOT retried unless idempotent', async () => {
    const h = harness();
    server.respond(script(e503, ok({ vault: VAULT })));
    await expect(h.client.updateVault(VAULT_ID, { vault: { threshold: 70 } })).rejects.toMatchObject({ httpStatus: 503 });
    expect(server.requests).toHaveLength(1);
    server.requests.length = 0;
    server.respond(script(e503, ok({ vault: VAULT })));
    await h.client.updateVault(VAULT_ID, { vault: { threshold: 70 } }, { idempotent: true });
    expect(server.requests).toHaveLength(2);
  });

  it('a network error (connection reset) is retried for a GET', async () => {
    const h = harness();
    server.respond(script({ destroy: true }, ok({ vault: VAULT })));
    const r = await h.client.showVault(VAULT_ID);
    expect(r.vault.id).toBe(VAULT_ID);
    expect(server.requests).toHaveLength(2);
    expect(h.events[0]).toMatchObject({ attempt: 1 });
    expect(h.events[0]!.status).toBeUndefined();
    expect(h.events[0]!.errorCode).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
  });

  it('a network error on a non-idempotent POST is not retried and is reported as kind "network"', async () => {
    const h = harness();
    server.respond(script({ destroy: true }, ok({ checkpoint: CHECKPOINT })));
    const e = await h.client.createCheckpoint({ checkpoint: { vault_id: VAULT_ID } }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'CbrApiError', kind: 'network', retryable: true, httpStatus: undefined });
    expect(server.requests).toHaveLength(1);
  });

  it('connection refused is a retryable network error after maxAttempts', async () => {
    const dead = await startLoopbackServer();
    const url = dead.url;
    await dead.stop();
    const h = harness({ endpoint: url, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const e = await h.client.showVault(VAULT_ID).catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'network', errorCode: 'ECONNREFUSED', retryable: true, attempts: 2 });
  });
});

describe('timeouts', () => {
  it('an attempt that exceeds timeoutMs is abandoned and retried', async () => {
    const h = harness({ timeoutMs: 150 });
    server.respond(script({ ...ok({ vault: VAULT }), delayMs: 1_000 }, ok({ vault: VAULT })));
    const started = Date.now();
    const r = await h.client.showVault(VAULT_ID);
    expect(r.vault.id).toBe(VAULT_ID);
    expect(server.requests).toHaveLength(2);
    expect(h.events[0]).toMatchObject({ attempt: 1, errorCode: 'Timeout' });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('all attempts timing out -> kind "timeout", retryable', async () => {
    const h = harness({ timeoutMs: 80, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    server.respond(() => ({ ...ok({ vault: VAULT }), delayMs: 400 }));
    const e = await h.client.showVault(VAULT_ID).catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'timeout', errorCode: 'Timeout', retryable: true, attempts: 2, message: 'ShowVault failed: no response within 80 ms' });
  });
});

describe('Retry-After', () => {
  it('seconds: waits exactly that long instead of the jittered backoff', async () => {
    const h = harness();
    server.respond(script({ status: 429, headers: { 'Retry-After': '2' }, body: { error_code: 'APIGW.0308', error_msg: 'throttled' } }, ok({ vault: VAULT })));
    await h.client.showVault(VAULT_ID);
    expect(h.sleeps).toEqual([2_000]);
  });

  it('HTTP date: waits until that date (by the injected clock)', async () => {
    const h = harness();
    const at = new Date(h.now().getTime() + 3_000).toUTCString();
    server.respond(script({ status: 503, headers: { 'Retry-After': at }, body: {} }, ok({ vault: VAULT })));
    await h.client.showVault(VAULT_ID);
    expect(h.sleeps).toEqual([3_000]);
  });

  it('longer than maxRetryAfterMs: no retry before the server allows it, the error is thrown at once', async () => {
    const h = harness();
    server.respond(script({ status: 429, headers: { 'Retry-After': '60' }, body: { error_code: 'APIGW.0308', error_msg: 'throttled' } }, ok({ vault: VAULT })));
    await expect(h.client.showVault(VAULT_ID)).rejects.toMatchObject({ httpStatus: 429, retryable: true, attempts: 1 });
    expect(server.requests).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

});

describe('jitter bounds', () => {
  it('end to end, every recorded sleep is within its cap (random source at the extremes)', async () => {
    const h = harness({ retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 250 } }, [0, 0.9999999, 0.9999999, 0.9999999]);
    server.respond(() => e503);
    await expect(h.client.showVault(VAULT_ID)).rejects.toMatchObject({ attempts: 5 });
    expect(h.sleeps).toEqual([0, 199, 249, 249]);
  });
});

describe('cancellation', () => {
  it('an aborted signal sends nothing', async () => {
    const h = harness();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(h.client.showVault(VAULT_ID, { signal: ac.signal })).rejects.toThrow('stop');
    expect(server.requests).toHaveLength(0);
  });

  it('aborting during an in-flight request rejects with the reason and does not retry', async () => {
    const h = harness({ timeoutMs: 5_000 });
    server.respond(() => ({ ...ok({ vault: VAULT }), delayMs: 2_000 }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user cancelled')), 50);
    await expect(h.client.showVault(VAULT_ID, { signal: ac.signal })).rejects.toThrow('user cancelled');
    expect(server.requests).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it('aborting during the backoff sleep (real sleep) stops the retries', async () => {
    const ac = new AbortController();
    const client = createCbrClient({
      region: 'ap-southeast-1',
      projectId: P,
      endpoint: server.url,
      auth: { type: 'aksk', ak: AK, sk: SK },
      retry: { maxAttempts: 3, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      random: () => 0.99,
    });
    server.respond(() => e503);
    setTimeout(() => ac.abort(new Error('give up')), 100);
    const started = Date.now();
    await expect(client.showVault(VAULT_ID, { signal: ac.signal })).rejects.toThrow('give up');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(1);
  });
});
