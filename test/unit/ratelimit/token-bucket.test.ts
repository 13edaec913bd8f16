import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CbrValidationError } from '../../../lib/cbr/errors';
import { createRateLimiter, projectRateLimiter, resolveRateLimitSettings } from '../../../lib/cbr/rate-limit';
import type { RateLimiter } from '../../../lib/cbr/rate-limit';
import { FakeLimiterClock, settle } from './fake-clock';

/** Starts acquire() now and records the fake time it resolves at (undefined while waiting). */
function request(limiter: RateLimiter, clock: FakeLimiterClock, signal?: AbortSignal) {
  const r: { grantedAt?: number; error?: unknown } = {};
  limiter.acquire(signal).then(
    () => {
      r.grantedAt = clock.now();
    },
    (e: unknown) => {
      r.error = e;
    },
  );
  return r;
}

/** Largest count of grants inside any window of `windowMs` (half-open [t, t + windowMs)). */
function maxInWindow(times: number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('token bucket', () => {
  it('lets a full burst through at once, then exactly one request per 1/rate', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 5 }, clock);
    const reqs = Array.from({ length: 8 }, () => request(limiter, clock));
    await settle();
    expect(reqs.map((r) => r.grantedAt)).toEqual([0, 0, 0, 0, 0, undefined, undefined, undefined]);
    await clock.advanceTo(1_000);
    expect(reqs.map((r) => r.grantedAt)).toEqual([0, 0, 0, 0, 0, 100, 200, 300]);
    expect(limiter.stats).toMatchObject({ acquired: 8, waited: 3 });
  });

  it('refills up to the burst only: a long quiet period does not bank more than `burst` requests', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3 }, clock);
    await clock.advanceTo(60_000);
    const reqs = Array.from({ length: 5 }, () => request(limiter, clock));
    await clock.advanceTo(62_000);
    expect(reqs.map((r) => r.grantedAt)).toEqual([60_000, 60_000, 60_000, 60_500, 61_000]);
  });

  it('never lets more than burst + rate * T through in any window T, and serves waiters in arrival order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 80 }),
        async (rate, burst, gaps) => {
          const clock = new FakeLimiterClock();
          const limiter = createRateLimiter({ ratePerSecond: rate, burst }, clock);
          const reqs: Array<{ grantedAt?: number }> = [];
          for (const gap of gaps) {
            await clock.advance(gap);
            reqs.push(request(limiter, clock));
          }
          await clock.advance(((gaps.length + burst) * 1000) / rate + 1000);
          const granted = reqs.map((r) => r.grantedAt);
          expect(granted.every((g) => g !== undefined)).toBe(true);
          const g = granted as number[];
          // FIFO: grant times never go backwards in request order.
          for (let i = 1; i < g.length; i++) expect(g[i]!).toBeGreaterThanOrEqual(g[i - 1]!);
          // Every window [g_i, g_j] holds j - i + 1 grants: at most burst + rate * (g_j - g_i).
          for (let i = 0; i < g.length; i++) {
            for (let j = i; j < g.length; j++) expect(j - i + 1).toBeLessThanOrEqual(burst + (rate * (g[j]! - g[i]!)) / 1000 + 1e-9);
          }
          // ...so in any 1 s window at most rate + burst.
          expect(maxInWindow(g, 1000)).toBeLessThanOrEqual(rate + burst);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('serves concurrent waiters FIFO; an aborted waiter leaves the queue without using a permit', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 4, burst: 1 }, clock);
    const order: number[] = [];
    const abort = new AbortController();
    const promises = Array.from({ length: 10 }, (_, i) =>
      limiter.acquire(i === 3 ? abort.signal : undefined).then(
        () => order.push(i),
        () => order.push(-i),
      ),
    );
    await settle();
    expect(order).toEqual([0]);
    abort.abort(new Error('caller gave up'));
    await settle();
    expect(order).toEqual([0, -3]);
    await clock.advanceTo(10_000);
    await Promise.all(promises);
    expect(order).toEqual([0, -3, 1, 2, 4, 5, 6, 7, 8, 9]);
    // 9 permits at 4/s: 0 at t=0, then every 250 ms; the aborted one did not take a slot.
    expect(limiter.stats.acquired).toBe(9);
  });

  it('a request arriving while others wait queues behind them even when a late timer left a token ready', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 1 }, clock);
    const a = request(limiter, clock);
    const b = request(limiter, clock);
    await settle();
    clock.lag(150); // b's timer (due at 100) has not run yet; a token is ready
    const c = request(limiter, clock);
    await settle();
    expect(c.grantedAt).toBeUndefined();
    await clock.advanceTo(300);
    // b goes when its late timer runs (the bucket holds 1 = burst); c waits a full 1/rate after it.
    expect([a.grantedAt, b.grantedAt, c.grantedAt]).toEqual([0, 150, 250]);
  });

  it('on a 429: pauses for Retry-After, halves the rate, then climbs back to the configured rate', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 10, recoveryMs: 10_000 }, clock);
    for (let i = 0; i < 10; i++) await limiter.acquire();
    limiter.throttled(2_000);
    expect(limiter.stats).toMatchObject({ throttled: 1, cuts: 1 });
    const reqs = Array.from({ length: 4 }, () => request(limiter, clock));
    await clock.advanceTo(1_999);
    expect(reqs.every((r) => r.grantedAt === undefined)).toBe(true); // nothing during the pause
    await clock.advanceTo(3_000);
    // Bucket emptied by the 429; after the pause tokens come at the cut rate (5/s, i.e. one per
    // ~200 ms, slightly faster as the rate climbs).
    const g = reqs.map((r) => r.grantedAt!);
    expect(g[0]).toBeGreaterThanOrEqual(2_190);
    expect(g[0]).toBeLessThanOrEqual(2_201);
    for (let i = 1; i < g.length; i++) expect(g[i]! - g[i - 1]!).toBeGreaterThanOrEqual(180);
    expect(limiter.currentRate()).toBeGreaterThan(5);
    expect(limiter.currentRate()).toBeLessThan(10);
    // Recovered after recoveryMs: the configured rate again, and the burst refills.
    await clock.advanceTo(2_000 + 10_000 + 5_000);
    expect(limiter.currentRate()).toBe(10);
    const burst = Array.from({ length: 10 }, () => request(limiter, clock));
    await settle();
    expect(burst.every((r) => r.grantedAt === 17_000)).toBe(true);
  });

  it('429s from requests already in flight extend the pause but cut the rate once; a later 429 cuts again, never below the floor', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 16, burst: 1, minRatePerSecond: 3, defaultPauseMs: 500 }, clock);
    limiter.throttled(); // no Retry-After: defaultPauseMs
    limiter.throttled(1_000);
    limiter.throttled(200);
    expect(limiter.stats).toMatchObject({ throttled: 3, cuts: 1 });
    expect(limiter.currentRate()).toBe(8);
    const r = request(limiter, clock);
    await clock.advanceTo(999);
    expect(r.grantedAt).toBeUndefined(); // paused until max(500, 1000, 200)
    await clock.advanceTo(1_200);
    expect(r.grantedAt).toBe(1_125); // one token at 8/s after the pause
    limiter.throttled(0);
    expect(limiter.currentRate()).toBeCloseTo(4, 0);
    await clock.advance(1);
    limiter.throttled(0);
    expect(limiter.currentRate()).toBe(3); // floor
    expect(limiter.stats.cuts).toBe(3);
  });

  it('caps a huge Retry-After at maxPauseMs', async () => {
    const clock = new FakeLimiterClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 1, maxPauseMs: 5_000 }, clock);
    limiter.throttled(3_600_000);
    const r = request(limiter, clock);
    await clock.advanceTo(5_000 + 200);
    expect(r.grantedAt).toBe(5_200);
  });

  it('rejects bad settings naming the field', () => {
    expect(() => resolveRateLimitSettings({ ratePerSecond: 0, burst: 1 })).toThrow(CbrValidationError);
    expect(() => resolveRateLimitSettings({ ratePerSecond: 0, burst: 1 })).toThrow('rateLimit.ratePerSecond: must be a number > 0');
    expect(() => resolveRateLimitSettings({ ratePerSecond: 5, burst: 0.5 })).toThrow('rateLimit.burst: must be a number >= 1');
    expect(() => resolveRateLimitSettings({ ratePerSecond: 5, burst: 5, backoffFactor: 2 })).toThrow('rateLimit.backoffFactor: must be <= 1');
    expect(() => resolveRateLimitSettings({ ratePerSecond: 5, burst: 5, minRatePerSecond: 6 })).toThrow('rateLimit.minRatePerSecond');
    expect(() => resolveRateLimitSettings({ ratePerSecond: Number.NaN, burst: 5 })).toThrow('rateLimit.ratePerSecond');
  });

  it('one bucket per project in the container', () => {
    const a = projectRateLimiter('0a1b2c3d4e5f60718293a4b5c6d7e8f9', { ratePerSecond: 7, burst: 3 });
    const b = projectRateLimiter('0a1b2c3d4e5f60718293a4b5c6d7e8f9', { ratePerSecond: 7, burst: 3 });
    const other = projectRateLimiter('ffeeddccbbaa99887766554433221100', { ratePerSecond: 7, burst: 3 });
    expect(b).toBe(a);
    expect(other).not.toBe(a);
  });
});
