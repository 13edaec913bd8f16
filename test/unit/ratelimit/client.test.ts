// The CBR client awaits its rate limiter before EVERY HTTP attempt (retries included), signs after the
// wait, and reports each 429 with its Retry-After. Real HTTP on loopback; the limiter is a recorder.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCbrClient } from '../../../lib/cbr/client';
import { CbrApiError, CbrValidationError } from '../../../lib/cbr/errors';
import type { RateLimiter, RateLimiterStats } from '../../../lib/cbr/rate-limit';
import { resolveRateLimitSettings } from '../../../lib/cbr/rate-limit';
import { formatSdkDate } from '../../../lib/cbr/signer';
import { startLoopbackServer, verifyAkSk } from '../../helpers/loopback-server';
import type { LoopbackServer, Reply } from '../../helpers/loopback-server';
import { AK, P, SK, VAULT, VAULT_ID } from '../cbr/fixtures';

let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer();
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
});

const throttle: Reply = { status: 429, headers: { 'retry-after': '2' }, body: { error_code: 'APIGW.0308', error_msg: 'The throttling threshold has been reached.' } };
const ok: Reply = { status: 200, body: { vault: VAULT } };

/** Each acquire moves the client's clock by a minute (as if it waited), and is logged. */
function harness() {
  let t = Date.UTC(2026, 10, 22, 12, 0, 0);
  const log: string[] = [];
  const stats: RateLimiterStats = { acquired: 0, waited: 0, throttled: 0, cuts: 0 };
  const limiter: RateLimiter = {
    settings: resolveRateLimitSettings({ ratePerSecond: 1, burst: 1 }),
    stats,
    currentRate: () => 1,
    async acquire() {
      t += 60_000;
      stats.acquired++;
      log.push(`acquire@${formatSdkDate(new Date(t))}`);
    },
    throttled(ms) {
      stats.throttled++;
      log.push(`throttled:${ms}`);
    },
  };
  const client = createCbrClient({
    region: 'ap-southeast-1',
    projectId: P,
    endpoint: server.url,
    auth: { type: 'aksk', ak: AK, sk: SK },
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    now: () => new Date(t),
    sleep: async (ms) => {
      log.push(`sleep:${ms}`);
    },
    rateLimit: limiter,
  });
  return { client, log };
}

describe('CBR client rate limit', () => {
  it('acquires before every attempt, signs after the wait, and reports the 429 with its Retry-After', async () => {
    const h = harness();
    server.respond((_, i) => (i < 2 ? throttle : ok));
    const r = await h.client.showVault(VAULT_ID);
    expect(r.vault.id).toBe(VAULT_ID);
    expect(server.requests).toHaveLength(3);
    const acquires = h.log.filter((l) => l.startsWith('acquire@'));
    expect(acquires).toHaveLength(3); // one per HTTP attempt
    expect(h.log.map((l) => l.replace(/@.*/, ''))).toEqual(['acquire', 'throttled:2000', 'sleep:2000', 'acquire', 'throttled:2000', 'sleep:2000', 'acquire']);
    // Each request carries the date of ITS acquire (signed after the wait) and a valid signature.
    server.requests.forEach((req, i) => {
      expect(req.headers['x-sdk-date']).toBe(acquires[i]!.slice('acquire@'.length));
      expect(verifyAkSk(req, { [AK]: SK }).ok).toBe(true);
    });
  });

  it('a 429 on the last attempt is still reported to the limiter before the error is thrown', async () => {
    const h = harness();
    server.respond(() => throttle);
    const e = await h.client.showVault(VAULT_ID).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CbrApiError);
    expect((e as CbrApiError).httpStatus).toBe(429);
    expect(h.log.filter((l) => l.startsWith('throttled'))).toHaveLength(3);
  });

  it('settings are validated when the client is built (field named)', () => {
    expect(() =>
      createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'aksk', ak: AK, sk: SK }, rateLimit: { ratePerSecond: -1, burst: 5 } }),
    ).toThrow(CbrValidationError);
    expect(() =>
      createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'aksk', ak: AK, sk: SK }, rateLimit: { ratePerSecond: 5, burst: 0 } }),
    ).toThrow('options.rateLimit.burst');
  });
});
