import { AppError } from '../errors';

/** Why an inbound webhook was refused. Sent back to the caller as `reason`; safe to disclose. */
export type WebhookAuthReason =
  | 'missing_webhook_id'
  | 'missing_webhook_timestamp'
  | 'missing_webhook_signature'
  | 'malformed_webhook_id'
  | 'malformed_timestamp'
  | 'malformed_signature'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature'
  | 'no_active_keys';

const MESSAGES: Record<WebhookAuthReason, string> = {
  missing_webhook_id: 'the webhook-id header is missing',
  missing_webhook_timestamp: 'the webhook-timestamp header is missing',
  missing_webhook_signature: 'the webhook-signature header is missing',
  malformed_webhook_id: 'the webhook-id header must be 1..256 printable ASCII characters without spaces',
  malformed_timestamp: 'the webhook-timestamp header must be integer seconds since the Unix epoch',
  malformed_signature: "the webhook-signature header must be a space-separated list of 'v1,<base64>' signatures",
  timestamp_too_old: 'the webhook-timestamp is more than 5 minutes in the past',
  timestamp_too_new: 'the webhook-timestamp is more than 5 minutes in the future',
  no_matching_signature: 'no signature in webhook-signature matches the body with an active key',
  no_active_keys: 'no webhook key is configured, every request is refused',
};

/**
 * An inbound webhook failed authentication. Carries a reason code and a fixed human message; never a
 * key, a signature or the body. The HTTP edge answers 401 `{ message, reason }`.
 */
export class WebhookAuthError extends AppError {
  override readonly name = 'WebhookAuthError';
  readonly reason: WebhookAuthReason;
  readonly statusCode = 401;

  constructor(reason: WebhookAuthReason, options: { cause?: unknown } = {}) {
    super(MESSAGES[reason], { cause: options.cause, retryable: false });
    this.reason = reason;
  }
}

/** A configured webhook key is unusable (deployment error). Names the key's position, never the key. */
export class WebhookKeyError extends AppError {
  override readonly name = 'WebhookKeyError';
  readonly keyIndex: number;

  constructor(keyIndex: number, message: string) {
    super(`webhook key #${keyIndex + 1} ${message}`, { retryable: false });
    this.keyIndex = keyIndex;
  }
}
