/** Test senders: sign exactly as a Standard Webhooks sender does, with the library itself. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { makeHttpEvent } from '../../helpers/factories';

export const KEY_1 = 'whsec_' + Buffer.from('cbr-flow key one: 32 random-ish bytes!').toString('base64');
export const KEY_2 = 'whsec_' + Buffer.from('cbr-flow key two: rotated in today!!!').toString('base64');
export const KEY_OTHER = 'whsec_' + Buffer.from('an attacker guessed this key......').toString('base64');

export const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
export const nowSeconds = Math.floor(NOW / 1000);

export function signedHeaders(opts: { keys: string[]; id: string; body: string; at?: number }): Record<string, string> {
  const at = new Date((opts.at ?? nowSeconds) * 1000);
  return {
    'webhook-id': opts.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': opts.keys.map((k) => new Webhook(k).sign(opts.id, at, opts.body)).join(' '),
  };
}

export function signedEvent(opts: { keys: string[]; id: string; body: string; at?: number; headers?: Record<string, string | null>; sentBody?: string }): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...signedHeaders(opts) };
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  return makeHttpEvent({ method: 'POST', path: '/runs', body: opts.sentBody ?? opts.body, headers });
}
