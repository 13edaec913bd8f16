/**
 * Inbound webhook authentication for handler tests: a test key, the start-run option with that key, the explicit "off" (local stage) for tests that are about something else,
 * and a signer that makes a POST /runs event exactly as a Standard Webhooks sender would.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signWebhook } from '../../lib/webhooks/verify';
import type { WebhookAuthOff, WebhookAuthOn } from '../../lib/webhooks/middleware';
import { makeHttpEvent } from './factories';

export const TEST_WEBHOOK_KEY = `whsec_${Buffer.from('cbr-flow handler tests: 32 bytes!!').toString('base64')}`;

/** Authentication explicitly off — only legal on the local stage; for tests about body validation. */
export const AUTH_OFF: WebhookAuthOff = { mode: 'off', stage: 'local' };

/** Authentication on with TEST_WEBHOOK_KEY (or `keys`). */
export function testWebhookAuth(keys: readonly string[] = [TEST_WEBHOOK_KEY], clock: { now(): number } = Date): WebhookAuthOn {
  return { keys: async () => keys, clock };
}

let counter = 0;

/** A POST /runs event with `body`, signed under a fresh webhook-id (unless one is given). */
export function signedPost(
  body: string,
  opts: { headers?: Record<string, string>; keys?: readonly string[]; id?: string; now?: number } = {},
): APIGatewayProxyEventV2 {
  const id = opts.id ?? `msg_test_${process.pid}_${++counter}`;
  const signature = signWebhook(opts.keys ?? [TEST_WEBHOOK_KEY], id, body, opts.now ?? Date.now());
  return makeHttpEvent({ method: 'POST', path: '/runs', body, headers: { 'content-type': 'application/json', ...(opts.headers ?? {}), ...signature } });
}
