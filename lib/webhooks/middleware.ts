/**
 * Inbound webhook authentication at the HTTP edge (API Gateway HTTP API, payload v2).
 *
 * `webhookAuth(...)` is a middy middleware whose `before` runs ahead of any body parsing: it
 * verifies the Standard Webhooks signature over the RAW body (base64-decoded when API Gateway says
 * isBase64Encoded). It answers early:
 *   401 `{ message, reason }`  for a missing/malformed/wrong/expired signature (a copy more than
 *       5 minutes old included);
 *   503 `{ message, reason: 'auth_unavailable' }` (+ retry-after) when the keys cannot be read (the
 *       sender retries; a 5xx from us is never a 500 and never a pass).
 *
 * A reused webhook-id is not refused here: the handler keys its effect by the id and de-duplicates
 * atomically itself (POST /runs: run id derived from the id, conditional create in the run store), so
 * a copy, replayed or retried after our crash, is answered with the same result instead of 401. A
 * replay then gains an attacker nothing (same signed body, same run), and stale copies still get 401
 * from the timestamp check. (Claiming the id up front would refuse every retry of a request we died
 * in the middle of.) A new handler behind this middleware must be idempotent by webhook-id too.
 *
 * Off switch: `{ mode: 'off', stage: 'local' }` — explicit, and refused at construction for any other
 * stage, so a deployed stage cannot run unauthenticated by accident. The default is on.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError } from '../errors';
import { WebhookAuthError } from './errors';
import type { Logger } from '../ports';
import { verifyWebhook, WEBHOOK_TOLERANCE_SECONDS, type VerifiedWebhook } from './verify';


export interface WebhookAuthOn {
  mode?: 'on';
  /**
   * The active keys (a cached secret loader's get()); read per request, so rotation needs no deploy.
   * With `projects` (per key, same order; null = any project) the verified webhook carries the
   * projects its key may start runs for.
   */
  keys: () => Promise<readonly string[] | WebhookKeySet>;
  clock?: { now(): number };
  toleranceSeconds?: number;
  log?: Logger;
}
export interface WebhookAuthOff {
  mode: 'off';
  /** Must be 'local': turning authentication off anywhere else throws at cold start. */
  stage: string;
  log?: Logger;
}
export type WebhookAuthOptions = WebhookAuthOn | WebhookAuthOff;

export interface WebhookKeySet {
  keys: readonly string[];
  projects?: ReadonlyArray<readonly string[] | null> | undefined;
}

/** A verified webhook and the projects its key may start runs for (null = any project). */
export type AuthenticatedWebhook = VerifiedWebhook & { projects: readonly string[] | null };

export class WebhookAuthConfigError extends AppError {
  override readonly name = 'WebhookAuthConfigError';
}

export type AuthOutcome =
  | { ok: true; verified: AuthenticatedWebhook | undefined }
  | { ok: false; response: APIGatewayProxyStructuredResultV2; reason: string };

/** The raw body as API Gateway delivered it. */
export function rawBodyOf(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): string | Buffer {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
}

function json(statusCode: number, body: Record<string, string>, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function unauthorized(error: WebhookAuthError): APIGatewayProxyStructuredResultV2 {
  return json(401, { message: `webhook authentication failed: ${error.message}`, reason: error.reason });
}

const unavailable = () =>
  json(503, { message: 'webhook authentication is temporarily unavailable, retry later', reason: 'auth_unavailable' }, { 'retry-after': '5' });

function assertLegalOff(options: WebhookAuthOptions): void {
  if (options.mode === 'off' && options.stage !== 'local') {
    throw new WebhookAuthConfigError(`webhook authentication may only be turned off on the local stage, not on '${options.stage}'`);
  }
}

/**
 * Authenticate one HTTP request (verify its signature with the active keys). Never throws; every failure is an answer
 * (401 or 503). Usable without middy.
 */
export async function authenticateWebhook(event: APIGatewayProxyEventV2, options: WebhookAuthOptions): Promise<AuthOutcome> {
  assertLegalOff(options);
  if (options.mode === 'off') return { ok: true, verified: undefined };
  const log = options.log;
  const now = (options.clock ?? Date).now();
  const source = event.requestContext?.http?.sourceIp;
  let keys: readonly string[];
  let scopes: WebhookKeySet['projects'];
  try {
    const set = await options.keys();
    keys = isKeyList(set) ? set : set.keys;
    scopes = isKeyList(set) ? undefined : set.projects;
  } catch (error) {
    log?.('error', 'webhook keys unavailable', { error: (error as Error)?.name, message: (error as Error)?.message });
    return { ok: false, response: unavailable(), reason: 'auth_unavailable' };
  }
  let verified: AuthenticatedWebhook;
  try {
    const v = verifyWebhook({ headers: event.headers ?? {}, rawBody: rawBodyOf(event) }, keys, now, { toleranceSeconds: options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS });
    verified = { ...v, projects: scopes?.[v.keyIndex] ?? null };
  } catch (error) {
    if (error instanceof WebhookAuthError) {
      log?.('warn', 'webhook rejected', { reason: error.reason, sourceIp: source });
      return { ok: false, response: unauthorized(error), reason: error.reason };
    }
    log?.('error', 'webhook keys unusable', { error: (error as Error)?.name, message: (error as Error)?.message });
    return { ok: false, response: unavailable(), reason: 'auth_unavailable' };
  }
  return { ok: true, verified };
}

function isKeyList(set: readonly string[] | WebhookKeySet): set is readonly string[] {
  return Array.isArray(set);
}

const verifiedByEvent = new WeakMap<object, AuthenticatedWebhook>();

/** The verified webhook of a request the middleware let through (undefined when auth is off). */
export function verifiedWebhookOf(event: APIGatewayProxyEventV2): AuthenticatedWebhook | undefined {
  return verifiedByEvent.get(event);
}

export function webhookAuth(
  options: WebhookAuthOptions,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error> {
  assertLegalOff(options);
  if (options.mode === 'off') {
    options.log?.('warn', 'webhook authentication is OFF (local stage)', { stage: options.stage });
    return { name: 'webhookAuth', before: () => undefined };
  }
  return {
    name: 'webhookAuth',
    before: async (request) => {
      const outcome = await authenticateWebhook(request.event, options);
      if (!outcome.ok) return outcome.response;
      // Keyed by the event object (one per invocation), not middy's request.internal, which middy
      // shares between requests when a plugin passes one.
      if (outcome.verified) verifiedByEvent.set(request.event, outcome.verified);
      return undefined;
    },
  };
}
