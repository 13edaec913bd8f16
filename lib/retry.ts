/**
 * The one retry toolkit (the CBR client in lib/cbr/http.ts and the notifier in lib/notify/send.ts):
 * exponential backoff with full jitter, `Retry-After` parsing and an abortable sleep. Each caller keeps
 * its own policy (what is retryable, how many attempts, how a Retry-After bounds the wait).
 */

export interface Backoff {
  /** The first retry waits below this; each next one below twice as long. */
  baseDelayMs: number;
  /** No wait is ever this long or longer. */
  maxDelayMs: number;
}

/** The exponential ceiling of the n-th retry (1-based): min(maxDelayMs, baseDelayMs * 2^(n-1)). */
export function backoffCeilingMs(retryNumber: number, b: Backoff): number {
  // 2^1024 is Infinity: clamp the exponent so a huge retry number still gives maxDelayMs, not NaN.
  return Math.min(b.maxDelayMs, b.baseDelayMs * 2 ** Math.min(64, Math.max(0, retryNumber - 1)));
}

/**
 * Full jitter (AWS architecture blog "Exponential Backoff and Jitter"): uniform in
 * [0, backoffCeilingMs), whole milliseconds. `random` returns [0, 1) like Math.random.
 */
export function backoffDelayMs(retryNumber: number, b: Backoff, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(retryNumber, b));
}

/**
 * `Retry-After` (RFC 9110 10.2.3): delta-seconds or an HTTP-date, as ms from `nowMs` (a date in the
 * past is 0). Undefined when absent or unparseable, e.g. a negative or fractional number or a
 * numeric-only date (2027-01-01), which Date.parse would otherwise accept.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Waits `ms`; rejects with the signal's reason as soon as `signal` aborts (and clears the timer). */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
