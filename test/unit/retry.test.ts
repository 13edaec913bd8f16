/**
 * lib/retry.ts: the backoff, jitter, Retry-After and sleep that the CBR client and the notifier share
 * (their end-to-end retry behaviour: test/unit/cbr/client-retry.test.ts, test/unit/notify/send.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, backoffDelayMs, parseRetryAfterMs, sleep } from '../../lib/retry';

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  it('reads delta-seconds and HTTP-dates (a past date is 0)', () => {
    expect(parseRetryAfterMs('0', now)).toBe(0);
    expect(parseRetryAfterMs(' 7 ', now)).toBe(7_000);
    expect(parseRetryAfterMs('Sun, 22 Nov 2026 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfterMs('Sun, 22 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores what is absent or not a Retry-After (negative, fractional, an ISO date, words)', () => {
    for (const v of [undefined, null, '', 'soon', '-1', '1.5', '2027-01-01']) expect(parseRetryAfterMs(v, now), String(v)).toBeUndefined();
  });
});

describe('backoff with full jitter', () => {
  it('the n-th retry waits a whole number of ms, uniform in [0, min(maxDelayMs, base * 2^(n-1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, baseDelayMs, maxDelayMs, r) => {
          const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(64, n - 1));
          expect(backoffCeilingMs(n, { baseDelayMs, maxDelayMs })).toBe(cap);
          const d = backoffDelayMs(n, { baseDelayMs, maxDelayMs }, () => r);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(Math.max(0, cap - 1));
        },
      ),
    );
  });

  it('doubles from the base and stops at the cap', () => {
    const b = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 10_000].map((n) => backoffCeilingMs(n, b))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const t = performance.now();
    await sleep(20);
    expect(performance.now() - t).toBeGreaterThanOrEqual(15);
  });

  it('rejects at once with the reason when aborted, before or during the wait', async () => {
    await expect(sleep(10, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    const c = new AbortController();
    const t = performance.now();
    const p = sleep(60_000, c.signal);
    setTimeout(() => c.abort(new Error('stop')), 10);
    await expect(p).rejects.toThrow('stop');
    expect(performance.now() - t).toBeLessThan(5_000);
  });
});
