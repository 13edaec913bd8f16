/**
 * Client-side rate limit per CBR project: a token bucket awaited before every HTTP attempt (retries
 * included), FIFO among waiters, that backs off when the gateway answers 429 (APIGW.0308).
 *
 * Guarantee (what the tests check): over ANY window of length T, at most `burst + rate * T` requests
 * are let through, and in the long run at most `rate` per second. On a 429 the bucket is emptied,
 * paused for the Retry-After (or `defaultPauseMs` when there is none), and its rate cut by
 * `backoffFactor` (not below `minRatePerSecond`); the rate then climbs linearly back to the configured
 * rate over `recoveryMs`. 429s that arrive while already paused (requests sent before the first 429
 * was seen) only extend the pause: one throttling episode costs one cut, not one per request in flight.
 *
 * Hand-written (~150 lines) because no rate-limit library is among the project's dependencies and
 * the common ones (limiter, bottleneck, p-throttle) have no notion of a server-imposed pause with an
 * adaptive rate; this also lets tests drive it with a fake clock.
 *
 * CBR documents no per-API rate limit (cbr-api.md §7.3, only the generic 429), so the defaults of
 * lib/config.ts (10 req/s, burst 20) are a conservative guess, well above what one project needs
 * (a sweep of 100 vaults is ~100 calls a minute).
 */
import { CbrValidationError } from './errors';

export interface RateLimitSettings {
  /** Sustained requests per second, > 0. */
  ratePerSecond: number;
  /** Bucket size: requests that may go back to back after a quiet period, >= 1. */
  burst: number;
  /** On a 429 the rate is multiplied by this, 0 < f <= 1. Default 0.5. */
  backoffFactor?: number;
  /** Floor of the adaptive rate. Default ratePerSecond / 16. */
  minRatePerSecond?: number;
  /** After a pause, time to climb linearly from the cut rate back to ratePerSecond. Default 10 000. */
  recoveryMs?: number;
  /** Pause after a 429 without a usable Retry-After. Default 1 000. */
  defaultPauseMs?: number;
  /** A Retry-After longer than this pauses only this long (a Lambda must not sleep past its timeout). Default 30 000. */
  maxPauseMs?: number;
}

/** Time source and timer; injectable so tests run on a fake clock. Times in ms, monotonic. */
export interface LimiterClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemLimiterClock: LimiterClock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export interface RateLimiterStats {
  /** Permits handed out. */
  acquired: number;
  /** Of those, how many had to wait. */
  waited: number;
  /** 429s reported, and how many of them cut the rate (the others fell in a pause already running). */
  throttled: number;
  cuts: number;
}

export interface RateLimiter {
  /** Resolves when the caller may send one request (FIFO). Rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** The gateway answered 429: pause (Retry-After in ms, if any) and cut the rate. */
  throttled(retryAfterMs?: number): void;
  /** The rate currently enforced (the configured one unless recovering from a 429). */
  currentRate(): number;
  readonly settings: Readonly<Required<RateLimitSettings>>;
  readonly stats: Readonly<RateLimiterStats>;
}

export function isRateLimiter(v: unknown): v is RateLimiter {
  return typeof v === 'object' && v !== null && typeof (v as RateLimiter).acquire === 'function' && typeof (v as RateLimiter).throttled === 'function';
}

export function resolveRateLimitSettings(s: RateLimitSettings, field = 'rateLimit'): Required<RateLimitSettings> {
  if (typeof s !== 'object' || s === null) throw new CbrValidationError(field, 'must be { ratePerSecond, burst }');
  const positive = (k: keyof RateLimitSettings, v: number | undefined, min: number, inclusive: boolean): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (inclusive ? v < min : v <= min)) {
      throw new CbrValidationError(`${field}.${k}`, `must be a number ${inclusive ? '>=' : '>'} ${min}`);
    }
  };
  positive('ratePerSecond', s.ratePerSecond, 0, false);
  positive('burst', s.burst, 1, true);
  const out: Required<RateLimitSettings> = {
    ratePerSecond: s.ratePerSecond,
    burst: s.burst,
    backoffFactor: s.backoffFactor ?? 0.5,
    minRatePerSecond: s.minRatePerSecond ?? s.ratePerSecond / 16,
    recoveryMs: s.recoveryMs ?? 10_000,
    defaultPauseMs: s.defaultPauseMs ?? 1_000,
    maxPauseMs: s.maxPauseMs ?? 30_000,
  };
  positive('backoffFactor', out.backoffFactor, 0, false);
  if (out.backoffFactor > 1) throw new CbrValidationError(`${field}.backoffFactor`, 'must be <= 1');
  positive('minRatePerSecond', out.minRatePerSecond, 0, false);
  if (out.minRatePerSecond > out.ratePerSecond) throw new CbrValidationError(`${field}.minRatePerSecond`, 'must be <= ratePerSecond');
  for (const k of ['recoveryMs', 'defaultPauseMs', 'maxPauseMs'] as const) positive(k, out[k], 0, true);
  return out;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal | undefined;
  onAbort?: () => void;
}

export function createRateLimiter(settings: RateLimitSettings, clock: LimiterClock = systemLimiterClock): RateLimiter {
  const s = resolveRateLimitSettings(settings);
  let tokens = s.burst;
  let at = clock.now();
  let pausedUntil = -Infinity;
  /** After a 429: the cut rate, and when the linear climb back starts (= end of the pause). */
  let cut: { rate: number; from: number } | undefined;
  const queue: Waiter[] = [];
  let cancelTimer: (() => void) | undefined;
  const stats: RateLimiterStats = { acquired: 0, waited: 0, throttled: 0, cuts: 0 };

  const rateAt = (t: number): number => {
    if (!cut) return s.ratePerSecond;
    if (t <= cut.from) return cut.rate;
    const climbed = s.recoveryMs === 0 ? 1 : (t - cut.from) / s.recoveryMs;
    if (climbed >= 1) {
      cut = undefined;
      return s.ratePerSecond;
    }
    return cut.rate + (s.ratePerSecond - cut.rate) * climbed;
  };
  /** While recovering, the bucket is proportionally smaller (no full burst right after a 429). */
  const capacityAt = (t: number): number => Math.max(1, (s.burst * rateAt(t)) / s.ratePerSecond);

  const refill = (now: number): void => {
    const from = Math.max(at, pausedUntil);
    // The rate only rises between two refills (a cut refills first), so the rate at the start of the
    // interval never over-counts tokens.
    if (now > from) tokens = Math.min(capacityAt(now), tokens + (rateAt(from) * (now - from)) / 1000);
    at = Math.max(at, now);
  };

  const drain = (): void => {
    const now = clock.now();
    refill(now);
    while (queue.length > 0 && now >= pausedUntil && tokens >= 1) {
      tokens -= 1;
      const w = queue.shift()!;
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      stats.acquired++;
      stats.waited++;
      w.resolve();
    }
    if (queue.length > 0) schedule(now);
  };

  const schedule = (now: number): void => {
    if (cancelTimer) return;
    const start = Math.max(now, pausedUntil);
    const missing = Math.max(0, 1 - tokens);
    // Rounded up, so a float remainder (0.9999 tokens) costs one more 1 ms timer, never a busy loop.
    const wait = start - now + (missing > 0 ? Math.ceil((missing * 1000) / rateAt(start)) : 0);
    cancelTimer = clock.setTimer(() => {
      cancelTimer = undefined;
      drain();
    }, Math.max(0, wait));
  };

  return {
    settings: s,
    stats,
    currentRate: () => rateAt(clock.now()),
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const now = clock.now();
      refill(now);
      if (queue.length === 0 && now >= pausedUntil && tokens >= 1) {
        tokens -= 1;
        stats.acquired++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const w: Waiter = { resolve, reject, signal };
        if (signal) {
          w.onAbort = () => {
            const i = queue.indexOf(w);
            if (i >= 0) queue.splice(i, 1);
            reject(signal.reason);
          };
          signal.addEventListener('abort', w.onAbort, { once: true });
        }
        queue.push(w);
        schedule(now);
      });
    },
    throttled(retryAfterMs) {
      const now = clock.now();
      refill(now);
      stats.throttled++;
      const pause = Math.min(s.maxPauseMs, retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? retryAfterMs : s.defaultPauseMs);
      const alreadyPaused = now < pausedUntil;
      pausedUntil = Math.max(pausedUntil, now + pause);
      tokens = 0;
      if (alreadyPaused && cut) {
        cut.from = pausedUntil; // the climb starts when the (extended) pause ends
      } else {
        stats.cuts++;
        cut = { rate: Math.max(s.minRatePerSecond, rateAt(now) * s.backoffFactor), from: pausedUntil };
      }
      // A timer set before the pause would fire early; re-arm it for the pause's end.
      if (cancelTimer) {
        cancelTimer();
        cancelTimer = undefined;
      }
      if (queue.length > 0) schedule(now);
    },
  };
}

/**
 * One bucket per project for the whole container (module scope), so every client and every call of a
 * project draws from the same budget. A project is bound to one region in Huawei Cloud, so the project
 * id alone is the key. Different settings for the same project (a misconfiguration) get separate buckets.
 */
const shared = new Map<string, RateLimiter>();

export function projectRateLimiter(projectId: string, settings: RateLimitSettings, field = 'rateLimit'): RateLimiter {
  const s = resolveRateLimitSettings(settings, field);
  const key = `${projectId}|${JSON.stringify(s)}`;
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = createRateLimiter(s);
    shared.set(key, limiter);
  }
  return limiter;
}
