/**
 * Standard Webhooks verification (https://www.standardwebhooks.com): the sender signs
 * `${webhook-id}.${webhook-timestamp}.${body}` with HMAC-SHA256 under a shared `whsec_` key and sends
 * `webhook-signature: v1,<base64> [v1,<base64> ...]`.
 *
 * The signature itself is computed by the `standardwebhooks` library (`Webhook.sign`). We do not call
 * its `verify()` because it (a) reads `Date.now()` itself, so the clock cannot be injected, (b) takes
 * one key where rotation needs several, and (c) throws one error class with free-text messages, where
 * the HTTP edge needs a reason code per failure. The checks are the library's, made explicit:
 * all three headers present, integer-seconds timestamp within 5 minutes either way, and a
 * constant-time match of any `v1` signature. Stricter than the library: the timestamp must be all
 * digits (the library's parseInt accepts "123abc"), the id must be printable ASCII of bounded length
 * (it becomes a DynamoDB key), and the signature header is bounded in size.
 */
import { timingSafeEqual } from 'node:crypto';
import { WebhookAuthError, WebhookKeyError } from './errors';
import { signersFor } from './keys';

/** The Standard Webhooks tolerance, and the library's: 5 minutes each way. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export interface WebhookRequest {
  /** Header names in any case (API Gateway v2 lower-cases them; others may not). */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received (decode base64 first when API Gateway says isBase64Encoded). */
  rawBody: string | Buffer;
}

export interface VerifiedWebhook {
  messageId: string;
  /** webhook-timestamp, epoch seconds. */
  timestamp: number;
  /** Position of the key that matched (rotation metrics: is the old key still used?). */
  keyIndex: number;
  /** Epoch ms after which a copy of this message is refused as too old. */
  acceptableUntil: number;
}

const ID = /^[\x21-\x7e]{1,256}$/;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^v[0-9]+[a-z]*,[A-Za-z0-9+/=_-]{1,512}$/;
const MAX_SIGNATURE_HEADER = 4096;

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/**
 * Verify a webhook against every active key. Returns what was verified, or throws WebhookAuthError
 * with the reason. `now` is epoch ms (or a Date). Replay protection is separate (ReplayGuard): it
 * needs I/O and must only run for authentic messages.
 */
export function verifyWebhook(
  request: WebhookRequest,
  keys: readonly string[],
  now: number | Date = Date.now(),
  options: { toleranceSeconds?: number } = {},
): VerifiedWebhook {
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  const id = header(request.headers, 'webhook-id');
  const ts = header(request.headers, 'webhook-timestamp');
  const sig = header(request.headers, 'webhook-signature');
  if (!id) throw new WebhookAuthError('missing_webhook_id');
  if (!ts) throw new WebhookAuthError('missing_webhook_timestamp');
  if (!sig) throw new WebhookAuthError('missing_webhook_signature');
  if (!ID.test(id)) throw new WebhookAuthError('malformed_webhook_id');
  if (!TIMESTAMP.test(ts.trim())) throw new WebhookAuthError('malformed_timestamp');
  if (sig.length > MAX_SIGNATURE_HEADER) throw new WebhookAuthError('malformed_signature');
  const entries = sig.split(' ').filter((s) => s !== '');
  if (entries.length === 0 || !entries.every((e) => SIGNATURE.test(e))) throw new WebhookAuthError('malformed_signature');

  const timestamp = Number(ts.trim());
  const nowSeconds = Math.floor((typeof now === 'number' ? now : now.getTime()) / 1000);
  if (nowSeconds - timestamp > tolerance) throw new WebhookAuthError('timestamp_too_old');
  if (timestamp - nowSeconds > tolerance) throw new WebhookAuthError('timestamp_too_new');

  if (keys.length === 0) throw new WebhookAuthError('no_active_keys');
  const offered = entries
    .map((e) => e.split(','))
    .filter(([version]) => version === 'v1')
    .map(([, b64]) => Buffer.from(b64 ?? '', 'utf8'));
  const payload = typeof request.rawBody === 'string' ? request.rawBody : request.rawBody.toString('utf8');
  const signedAt = new Date(timestamp * 1000);
  const signers = signersFor(keys);
  for (let k = 0; k < signers.length; k++) {
    const expected = Buffer.from(signers[k]!.sign(id, signedAt, payload).slice('v1,'.length), 'utf8');
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        return { messageId: id, timestamp, keyIndex: k, acceptableUntil: (timestamp + tolerance + 1) * 1000 };
      }
    }
  }
  throw new WebhookAuthError('no_matching_signature');
}

/** Headers for an outbound message signed with every key (Standard Webhooks, `Webhook.sign`). */
export function signWebhook(keys: readonly string[], messageId: string, body: string, now: number | Date = Date.now()): Record<string, string> {
  if (keys.length === 0) throw new WebhookKeyError(0, 'is missing: no signing key is configured');
  const seconds = Math.floor((typeof now === 'number' ? now : now.getTime()) / 1000);
  const at = new Date(seconds * 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(seconds),
    'webhook-signature': signersFor(keys)
      .map((w) => w.sign(messageId, at, body))
      .join(' '),
  };
}
