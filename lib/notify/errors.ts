import { AppError } from '../errors';

/**
 * Why a notification was not delivered:
 * - blocked_url: not http(s), credentials in the URL, or a link-local/metadata (or, unless allowed,
 *   loopback) address — never sent;
 * - rejected: the receiver answered a 4xx other than 429 (not retried: it will say the same again);
 * - redirect: the receiver answered 3xx (redirects are not followed: they could point anywhere);
 * - exhausted: every attempt failed with a 5xx, 429, timeout or network error;
 * - deadline: the next attempt would not fit before the caller's deadline (the Lambda's time left);
 * - not_finished: the run is not in a terminal state (caller bug).
 */
export type NotifyFailureReason = 'blocked_url' | 'rejected' | 'redirect' | 'exhausted' | 'deadline' | 'not_finished';

/**
 * A notification that could not be delivered. Names the receiver by ORIGIN only: a notify URL's path
 * or query often is itself a credential (Slack/Teams-style capability URLs).
 */
export class NotifyError extends AppError {
  override readonly name = 'NotifyError';
  readonly reason: NotifyFailureReason;
  readonly origin: string;
  readonly attempts: number;
  readonly status: number | undefined;

  constructor(
    reason: NotifyFailureReason,
    message: string,
    init: { origin: string; attempts: number; status?: number | undefined; cause?: unknown },
  ) {
    super(message, { cause: init.cause, retryable: reason === 'exhausted' || reason === 'deadline' });
    this.reason = reason;
    this.origin = init.origin;
    this.attempts = init.attempts;
    this.status = init.status;
  }
}
