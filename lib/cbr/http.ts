/**
 * One CBR/IAM call with per-attempt timeout, bounded retries (exponential backoff with full jitter,
 * Retry-After honoured) and fresh credentials on every attempt. Hand-written rather than undici's
 * RetryAgent/retry interceptor because those re-send the SAME headers, i.e. a stale `X-Sdk-Date` and
 * signature, and know nothing of our idempotency rule or of re-fetching an IAM token.
 */
import { backoffDelayMs, parseRetryAfterMs, type Sleep } from '../retry';
import { CbrApiError, httpError, redact } from './errors';
import type { RateLimiter } from './rate-limit';
import type { HttpResponse, Transport } from './transport';

export interface RetryOptions {
  /** Total attempts including the first one. Default 3. */
  maxAttempts?: number;
  /** Backoff base: the n-th retry waits random() * min(maxDelayMs, baseDelayMs * 2^(n-1)). Default 200. */
  baseDelayMs?: number;
  /** Default 5000. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown at once. Default 10000. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5_000, maxRetryAfterMs: 10_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;

/** One event per HTTP attempt. Carries no header, body or credential. */
export interface CallEvent {
  operation: string;
  method: string;
  /** Path without the query string. */
  path: string;
  attempt: number;
  status?: number;
  errorCode?: string;
  durationMs: number;
}


export interface ExecutorOptions {
  origin: string;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  onCall?: ((e: CallEvent) => void) | undefined;
  now: () => Date;
  sleep: Sleep;
  random: () => number;
  transport: Transport;
  /** Awaited before every attempt (retries included); told about every 429. */
  limiter?: RateLimiter | undefined;
}

export interface CallSpec {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path without query, already built from validated ids. */
  path: string;
  /** Serialized query ('' for none). */
  query: string;
  body?: string;
  /** POST/PUT are retried only when true; GET/DELETE always may be. */
  idempotent: boolean;
  signal?: AbortSignal | undefined;
  /** Auth + fixed headers for one attempt; called again for every attempt (fresh date / token). */
  headers: (url: string) => Promise<Record<string, string>>;
  /** Values that must never show up in an error message. */
  secrets: () => readonly (string | undefined)[];
  /** On an HTTP 401: return true to retry once with fresh credentials (token expired/revoked). */
  onAuthFailure?: (err: CbrApiError) => boolean;
}

export function resolveRetry(r: RetryOptions | undefined): Required<RetryOptions> {
  const out = { ...DEFAULT_RETRY };
  for (const k of Object.keys(DEFAULT_RETRY) as (keyof RetryOptions)[]) {
    const v = r?.[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const NON_RETRYABLE_NETWORK = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_URL', 'ERR_INVALID_CHAR']);

function networkError(operation: string, err: unknown, secrets: readonly (string | undefined)[]): CbrApiError {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  const msg = err instanceof Error ? err.message : String(err);
  return new CbrApiError(redact(`${operation} failed: network error${code ? ` ${code}` : ''}: ${msg}`, secrets), {
    kind: 'network',
    operation,
    errorCode: code,
    retryable: code === undefined || !NON_RETRYABLE_NETWORK.has(code),
    cause: err,
  });
}

const REPEATABLE = new Set(['GET', 'DELETE']);

export async function execute(ex: ExecutorOptions, spec: CallSpec): Promise<HttpResponse> {
  const pathAndQuery = spec.query ? `${spec.path}?${spec.query}` : spec.path;
  const url = `${ex.origin}${pathAndQuery}`;
  const mayRepeat = spec.idempotent || REPEATABLE.has(spec.method);
  let authRetried = false;
  for (let attempt = 1; ; attempt++) {
    spec.signal?.throwIfAborted();
    // Before the headers: a request that waited for the rate limit is still signed with a fresh date.
    if (ex.limiter) await ex.limiter.acquire(spec.signal);
    const headers = await spec.headers(url);
    const started = performance.now();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), ex.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout.signal]) : timeout.signal;
    let res: HttpResponse | undefined;
    let error: CbrApiError;
    try {
      res = await ex.transport({ origin: ex.origin, path: pathAndQuery, method: spec.method, headers, body: spec.body, signal });
    } catch (err) {
      if (spec.signal?.aborted) {
        ex.onCall?.({ operation: spec.operation, method: spec.method, path: spec.path, attempt, errorCode: 'Aborted', durationMs: performance.now() - started });
        throw spec.signal.reason;
      }
      error = timeout.signal.aborted
        ? new CbrApiError(`${spec.operation} failed: no response within ${ex.timeoutMs} ms`, {
            kind: 'timeout',
            operation: spec.operation,
            errorCode: 'Timeout',
            retryable: true,
            cause: err,
          })
        : networkError(spec.operation, err, spec.secrets());
    } finally {
      clearTimeout(timer);
    }
    const durationMs = performance.now() - started;
    if (res && res.status >= 200 && res.status < 300) {
      ex.onCall?.({ operation: spec.operation, method: spec.method, path: spec.path, attempt, status: res.status, durationMs });
      return res;
    }
    if (res) {
      error = httpError({ operation: spec.operation, status: res.status, bodyText: res.text, requestIdHeader: res.headers['x-request-id'], secrets: spec.secrets() });
    }
    error!.attempts = attempt;
    ex.onCall?.({
      operation: spec.operation,
      method: spec.method,
      path: spec.path,
      attempt,
      ...(res ? { status: res.status } : {}),
      ...(error!.errorCode ? { errorCode: error!.errorCode } : {}),
      durationMs,
    });
    // A gateway 401 for an expired/revoked token means the request was never processed: retry once
    // with a fresh token whatever the method.
    if (res?.status === 401 && !authRetried && spec.onAuthFailure?.(error!)) {
      authRetried = true;
      continue;
    }
    const retryAfter = parseRetryAfterMs(res?.headers['retry-after'], ex.now().getTime());
    if (res?.status === 429) ex.limiter?.throttled(retryAfter);
    // 429 is the gateway's throttle (APIGW.0308): CBR never saw the request, so repeating it is safe
    // whatever the method. Without this a throttled CreateCheckpoint/AddMember failed its whole step
    // (SQS redelivery, every read done again): test/reliability/api-faults.test.ts.
    const repeatable = mayRepeat || res?.status === 429;
    if (!error!.retryable || !repeatable || attempt >= ex.retry.maxAttempts) throw error!;
    if (retryAfter !== undefined && retryAfter > ex.retry.maxRetryAfterMs) throw error!;
    await ex.sleep(retryAfter ?? backoffDelayMs(attempt, ex.retry, ex.random), spec.signal);
  }
}
