/**
 * Outbound notifications: a JSON body POSTed to a receiver, signed the Standard Webhooks way
 * (`Webhook.sign` from `standardwebhooks`, one `v1,` signature per active key so receivers holding
 * either key of a rotation verify), retried with exponential backoff and full jitter on 5xx, 429,
 * timeouts and network errors, bounded in attempts, per-attempt time and (optionally) total time.
 * Every attempt is re-signed with a fresh webhook-timestamp (receivers refuse signatures older than
 * 5 minutes); webhook-id and body stay the same, so the receiver can tell a retry from a new message.
 *
 * Global fetch, not undici: the notifier must stay light (no CBR client, no undici in its bundle).
 * Redirects are never followed (a 3xx could send the signed body anywhere). The outcome is always a
 * returned NotifyResult — never a throw — so the caller can record it on the run.
 */
import { signWebhook } from '../webhooks/verify';
import { signersFor } from '../webhooks/keys';
import { knownSecrets, redact } from '../secrets/redact';
import type { RunRecord } from '../store/run';
import { NotifyError, type NotifyFailureReason } from './errors';
import { notificationFromRun, notificationMessageId, sharePendingMessageId, SharePendingNotification, type FinalState } from './payload';
import type { NotificationRecord } from '../store/run';
import { checkNotifyUrl, type HostLookup } from './url-guard';
import { backoffDelayMs, parseRetryAfterMs, sleep as abortableSleep } from '../retry';

export interface NotifyOptions {
  /** Active whsec_ keys; the body is signed with each. */
  keys: readonly string[];
  /** Total attempts including the first. Default 5. */
  maxAttempts?: number;
  /** Backoff base and cap (full jitter: delay = random() * min(cap, base * 2^(n-1))). Defaults 500 / 20 000 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout, connect to last header. Default 5 000 ms. */
  timeoutMs?: number;
  /** Allow loopback receivers (local stage and tests only). Default false. */
  allowLoopback?: boolean;
  /** Epoch ms: no attempt is started that could not finish before it (e.g. the Lambda's remaining time). */
  deadlineAt?: number;
  clock?: { now(): number };
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  fetch?: typeof fetch;
  lookup?: HostLookup;
  userAgent?: string;
  /** One event per attempt (metrics/logs): no URL, no body, no headers. */
  onAttempt?: (event: AttemptEvent) => void;
}

export interface AttemptEvent {
  messageId: string;
  attempt: number;
  status?: number;
  error?: string;
  durationMs: number;
  /** Set when another attempt follows after this delay. */
  retryInMs?: number;
}

export type NotifyResult =
  | { ok: true; messageId: string; attempts: number; status: number }
  | { ok: false; messageId: string; attempts: number; status?: number; reason: NotifyFailureReason; error: NotifyError };

const DEFAULTS = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 20_000, timeoutMs: 5_000 };

/** The receiver as errors and logs may show it: scheme://host[:port], never the path or query. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string } };
  const code = e?.cause?.code ?? (e as { code?: string })?.code;
  return `${e?.name ?? 'Error'}${code ? ` ${code}` : ''}`;
}

/** POST `body` to `url` signed with `keys` under `messageId`, with retries. Never throws for delivery failures. */
export async function postSignedWebhook(url: string, messageId: string, body: string, options: NotifyOptions): Promise<NotifyResult> {
  const o = { ...DEFAULTS, ...options };
  const clock = o.clock ?? Date;
  const sleep = o.sleep ?? abortableSleep;
  const random = o.random ?? Math.random;
  const fetchImpl = o.fetch ?? globalThis.fetch;
  const origin = originOf(url);
  signersFor(o.keys); // a bad key is a deployment error: throw now, before any attempt
  if (o.keys.length === 0) signWebhook(o.keys, messageId, body); // throws WebhookKeyError (no key)

  const fail = (reason: NotifyFailureReason, attempts: number, detail: string, status?: number, cause?: unknown): NotifyResult => ({
    ok: false,
    messageId,
    attempts,
    ...(status !== undefined ? { status } : {}),
    reason,
    error: new NotifyError(reason, `notification ${messageId} to ${origin} ${detail}`, { origin, attempts, status, cause }),
  });

  let lastStatus: number | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= o.maxAttempts; attempt++) {
    const started = clock.now();
    let retryFloor: number | undefined;
    try {
      const verdict = await checkNotifyUrl(url, { allowLoopback: o.allowLoopback ?? false, ...(o.lookup ? { lookup: o.lookup } : {}) });
      if (!verdict.ok) return fail('blocked_url', attempt - 1, `was not sent: the URL ${verdict.reason}`);
      const response = await fetchImpl(verdict.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': o.userAgent ?? 'cbr-flow-notify/1',
          ...signWebhook(o.keys, messageId, body, clock.now()),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      lastStatus = response.status;
      lastError = undefined;
      if (response.status >= 200 && response.status < 300) {
        o.onAttempt?.({ messageId, attempt, status: response.status, durationMs: clock.now() - started });
        return { ok: true, messageId, attempts: attempt, status: response.status };
      }
      if (response.status >= 300 && response.status < 400) {
        o.onAttempt?.({ messageId, attempt, status: response.status, durationMs: clock.now() - started });
        return fail('redirect', attempt, `was answered with redirect HTTP ${response.status} (redirects are not followed)`, response.status);
      }
      if (response.status !== 429 && response.status < 500) {
        o.onAttempt?.({ messageId, attempt, status: response.status, durationMs: clock.now() - started });
        return fail('rejected', attempt, `was rejected with HTTP ${response.status}`, response.status);
      }
      retryFloor = parseRetryAfterMs(response.headers.get('retry-after'), clock.now());
    } catch (error) {
      lastStatus = undefined;
      lastError = error;
    }
    const durationMs = clock.now() - started;
    const event = { messageId, attempt, durationMs, ...(lastStatus !== undefined ? { status: lastStatus } : { error: describe(lastError) }) };
    if (attempt === o.maxAttempts) {
      o.onAttempt?.(event);
      break;
    }
    // Retry-After is a floor under the jittered backoff, never past maxDelayMs.
    const delay = Math.min(o.maxDelayMs, Math.max(backoffDelayMs(attempt, o, random), retryFloor ?? 0));
    if (o.deadlineAt !== undefined && clock.now() + delay + o.timeoutMs > o.deadlineAt) {
      o.onAttempt?.(event);
      const why = lastStatus !== undefined ? `HTTP ${lastStatus}` : describe(lastError);
      return fail('deadline', attempt, `gave up after ${attempt} attempt(s) (${why}): no time left for another`, lastStatus, lastError);
    }
    o.onAttempt?.({ ...event, retryInMs: delay });
    await sleep(delay);
  }
  const why = lastStatus !== undefined ? `HTTP ${lastStatus}` : describe(lastError);
  return fail('exhausted', o.maxAttempts, `failed after ${o.maxAttempts} attempt(s), last: ${why}`, lastStatus, lastError);
}

/**
 * Notify the run's receiver that it finished. `url` is normally `run.request.notifyUrl` (or the
 * run.finished message's notifyUrl). Known secrets are scrubbed from the body as a last line of defence.
 */
export async function notifyRunFinished(run: RunRecord, url: string, options: NotifyOptions): Promise<NotifyResult> {
  const payload = notificationFromRun(run);
  const body = JSON.stringify(redact(payload, knownSecrets.values()));
  return postSignedWebhook(url, notificationMessageId(run.runId, payload.data.state as FinalState), body, options);
}

/** Notify the run's receiver that a share member is still pending (body checked against its schema). */
export async function notifySharePending(notification: SharePendingNotification, url: string, options: NotifyOptions): Promise<NotifyResult> {
  const payload = SharePendingNotification.parse(notification);
  const body = JSON.stringify(redact(payload, knownSecrets.values()));
  return postSignedWebhook(url, sharePendingMessageId(payload.data.runId, payload.data.backupId, payload.data.memberProjectId), body, options);
}

/** The result as the run records it (no URL, no body). */
export function toNotificationRecord(result: NotifyResult, at: number): NotificationRecord {
  if (result.ok) return { messageId: result.messageId, ok: true, attempts: result.attempts, status: result.status, at };
  return {
    messageId: result.messageId,
    ok: false,
    attempts: result.attempts,
    ...(result.status !== undefined ? { status: result.status } : {}),
    reason: result.reason,
    message: result.error.message.slice(0, 512),
    at,
  };
}
