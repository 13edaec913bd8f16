/**
 * The run-finished notifier: for each `run.finished` message on the events queue, POST the run's final
 * state to the notify URL of its request, signed the Standard Webhooks way (lib/notify), and record the
 * outcome on the run (`notification`: delivered, or why not — never the URL). `checkpoint.started`
 * messages share the queue and are acknowledged without doing anything. `share.pending` messages (the
 * share sweep: a member still pending too long) become a signed `share.pending` notification to the same
 * URL; their outcome is logged, not recorded on the run (`notification` is the run-finished one),
 * retryable failures are redelivered by SQS like run.finished's, and the webhook-id is per run and
 * member so a receiver de-duplicates a redelivered one.
 *
 * Retries: lib/notify retries 5xx/429/timeouts with backoff inside one invocation, bounded by the
 * Lambda's remaining time. When that is not enough (receiver still down), the record fails and SQS
 * redelivers it after the visibility timeout — a second, slower backoff — until the last receive,
 * which records the final failure on the run instead of failing again into the DLQ. Permanent
 * failures (4xx, redirect, forbidden URL) are recorded once and never retried. A duplicate delivery
 * after success sends nothing (the body and webhook-id are deterministic anyway, so a receiver that
 * got it twice de-duplicates on webhook-id).
 */
import { AppError } from '../errors';
import type { Message, MessageOf } from '../contracts';
import type { Config } from '../config';
import { notifyRunFinished, notifySharePending, toNotificationRecord, type NotifyOptions, type NotifyResult } from '../notify/send';
import { notificationMessageId, sharePendingNotification, type FinalState } from '../notify/payload';
import type { NotificationRecord } from '../store/run';
import type { Clock, NotificationStore } from '../ports';
import { isTerminal } from '../store/run';
import { webhookKeysLoader } from '../webhooks/setup';
import { errorFields } from '../wiring/log';
import type { Logger } from '../ports';

export interface NotifierSettings {
  /** NOTIFY_ALLOW_LOOPBACK (local stage only). */
  allowLoopback: boolean;
  maxAttempts: number;
  timeoutMs: number;
}

export interface NotifyDeps {
  store: NotificationStore;
  clock: Clock;
  /** The active signing keys; undefined when none is configured (local stage with auth off and no keys). */
  keys: (() => Promise<readonly string[]>) | undefined;
  settings: NotifierSettings;
  log: Logger;
  /** Test seams for lib/notify (fetch, sleep, random, lookup, base/max delay); production passes none. */
  transport?: Pick<NotifyOptions, 'fetch' | 'sleep' | 'random' | 'lookup' | 'baseDelayMs' | 'maxDelayMs'>;
}

export type NotifyOutcome = 'ignored' | 'no-url' | 'missing' | 'duplicate' | 'delivered' | 'failed';

/** Reasons not worth a second try: the receiver (or the URL) will say the same again. */
const PERMANENT = new Set(['blocked_url', 'rejected', 'redirect', 'no_signing_key']);

/** Delivery failed for now; SQS redelivers the message later. */
export class NotifyRetryError extends AppError {
  override readonly name = 'NotifyRetryError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: true });
  }
}

export interface DeliveryContext {
  /** Epoch ms by which the invocation must be done (from context.getRemainingTimeInMillis). */
  deadlineAt: number;
  /** SQS ApproximateReceiveCount of the record, and the queue's maxReceiveCount. */
  receiveCount: number;
  maxReceiveCount: number;
}

/** The signed POST's options for one delivery (both notification types): transport, keys, limits, attempt log. */
function sendOptions(deps: NotifyDeps, keys: readonly string[], ctx: DeliveryContext, fields: Record<string, unknown>) {
  return {
    ...deps.transport,
    keys,
    allowLoopback: deps.settings.allowLoopback,
    maxAttempts: deps.settings.maxAttempts,
    timeoutMs: deps.settings.timeoutMs,
    deadlineAt: ctx.deadlineAt,
    clock: deps.clock,
    onAttempt: (e: { status?: number }) => deps.log(e.status !== undefined && e.status < 300 ? 'info' : 'warn', 'notification attempt', { ...fields, ...e }),
  };
}

export async function notifyFinished(deps: NotifyDeps, message: Message, ctx: DeliveryContext): Promise<NotifyOutcome> {
  if (message.type === 'share.pending') return notifyPending(deps, message, ctx);
  if (message.type !== 'run.finished') return 'ignored';
  const run = await deps.store.get(message.runId);
  if (!run) return 'missing';
  const url = run.request.notifyUrl;
  if (!url) return 'no-url';
  if (!isTerminal(run.state)) throw new NotifyRetryError(`run ${run.runId} is ${run.state}, not finished yet`);

  const messageId = notificationMessageId(run.runId, run.state as FinalState);
  const previous = run.notification;
  if (previous && previous.messageId === messageId && (previous.ok || (previous.reason !== undefined && PERMANENT.has(previous.reason)))) return 'duplicate';

  const record = async (r: NotificationRecord) => {
    const stored = await deps.store.recordNotification(run.runId, r);
    if (stored !== 'recorded') deps.log('warn', 'notification outcome not recorded', { runId: run.runId, why: stored });
  };
  if (!deps.keys) {
    await record({ messageId, ok: false, attempts: 0, reason: 'no_signing_key', message: 'no webhook key is configured to sign notifications (WEBHOOK_KEYS_SECRET / NOTIFY_KEYS_SECRET)', at: deps.clock.now() });
    return 'failed';
  }
  const keys = await deps.keys();
  const result = await notifyRunFinished(run, url, sendOptions(deps, keys, ctx, { runId: run.runId }));
  await record(toNotificationRecord(result, deps.clock.now()));
  if (result.ok) return 'delivered';
  if (result.error.retryable && ctx.receiveCount < ctx.maxReceiveCount) {
    throw new NotifyRetryError(`${result.error.message}; SQS will deliver it again`, { cause: result.error });
  }
  deps.log('error', 'notification not delivered', { runId: run.runId, ...errorFields(result.error), reason: result.reason });
  return 'failed';
}

async function notifyPending(deps: NotifyDeps, message: MessageOf<'share.pending'>, ctx: DeliveryContext): Promise<NotifyOutcome> {
  const run = await deps.store.get(message.runId);
  if (!run) return 'missing';
  const url = run.request.notifyUrl;
  if (!url) return 'no-url';
  const fields = { runId: run.runId, type: message.type, backupId: message.data.backupId, memberProjectId: message.data.projectId };
  if (!deps.keys) {
    deps.log('error', 'share.pending notification not sent: no webhook key is configured to sign notifications (WEBHOOK_KEYS_SECRET / NOTIFY_KEYS_SECRET)', fields);
    return 'failed';
  }
  const keys = await deps.keys();
  const result: NotifyResult = await notifySharePending(sharePendingNotification(run, message.data, message.occurredAt), url, sendOptions(deps, keys, ctx, fields));
  if (result.ok) return 'delivered';
  if (result.error.retryable && ctx.receiveCount < ctx.maxReceiveCount) {
    throw new NotifyRetryError(`${result.error.message}; SQS will deliver it again`, { cause: result.error });
  }
  deps.log('error', 'share.pending notification not delivered', { ...fields, ...errorFields(result.error), reason: result.reason });
  return 'failed';
}

/**
 * The signing keys of notifications: NOTIFY_KEYS_SECRET when set, else the inbound webhook keys
 * (WEBHOOK_KEYS_SECRET, or WEBHOOK_KEYS_JSON on the local stage). Undefined when none is configured.
 */
export function notifyKeys(config: Config): (() => Promise<readonly string[]>) | undefined {
  const env =
    config.NOTIFY_KEYS_SECRET !== undefined
      ? { ...config, WEBHOOK_KEYS_SECRET: config.NOTIFY_KEYS_SECRET, WEBHOOK_KEYS_JSON: undefined }
      : config;
  if (env.WEBHOOK_KEYS_SECRET === undefined && env.WEBHOOK_KEYS_JSON === undefined) return undefined;
  const loader = webhookKeysLoader(env, { region: config.AWS_REGION });
  return async () => (await loader.get()).keys;
}

export function notifierSettingsFrom(config: Config): NotifierSettings {
  return { allowLoopback: config.NOTIFY_ALLOW_LOOPBACK === 'true', maxAttempts: config.NOTIFY_MAX_ATTEMPTS, timeoutMs: config.NOTIFY_TIMEOUT_MS };
}
