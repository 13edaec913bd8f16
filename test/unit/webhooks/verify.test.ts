import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WebhookAuthError, WebhookKeyError } from '../../../lib/webhooks/errors';
import { WebhookKeys } from '../../../lib/webhooks/keys';
import { signWebhook, verifyWebhook, WEBHOOK_TOLERANCE_SECONDS } from '../../../lib/webhooks/verify';
import { KEY_1, KEY_2, KEY_OTHER, NOW, nowSeconds, signedHeaders } from './helpers';

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof WebhookAuthError) return e.reason;
    throw e;
  }
  return 'accepted';
};

describe('verifyWebhook', () => {
  const body = '{"projectId":"0605767b5780d5762fc5c0118072a564"}';

  it('accepts a signature from any active key and says which one matched', () => {
    expect(verifyWebhook({ headers: signedHeaders({ keys: [KEY_1], id: 'msg_1', body }), rawBody: body }, [KEY_1, KEY_2], NOW)).toEqual({
      messageId: 'msg_1',
      timestamp: nowSeconds,
      keyIndex: 0,
      acceptableUntil: (nowSeconds + WEBHOOK_TOLERANCE_SECONDS + 1) * 1000,
    });
    expect(verifyWebhook({ headers: signedHeaders({ keys: [KEY_2], id: 'msg_2', body }), rawBody: body }, [KEY_1, KEY_2], NOW).keyIndex).toBe(1);
    expect(verifyWebhook({ headers: signedHeaders({ keys: [KEY_OTHER, KEY_2], id: 'm', body }), rawBody: Buffer.from(body) }, [KEY_1, KEY_2], NOW).keyIndex).toBe(1);
  });

  it('applies the 5-minute tolerance at its exact edges', () => {
    const at = (offset: number) => reasonOf(() => verifyWebhook({ headers: signedHeaders({ keys: [KEY_1], id: 'x', body, at: nowSeconds + offset }), rawBody: body }, [KEY_1], NOW));
    expect(at(-300)).toBe('accepted');
    expect(at(-301)).toBe('timestamp_too_old');
    expect(at(300)).toBe('accepted');
    expect(at(301)).toBe('timestamp_too_new');
  });

  it('refuses malformed headers with a specific reason', () => {
    const good = signedHeaders({ keys: [KEY_1], id: 'x', body });
    const v = (h: Record<string, string>) => reasonOf(() => verifyWebhook({ headers: { ...good, ...h }, rawBody: body }, [KEY_1], NOW));
    expect(v({ 'webhook-timestamp': `${nowSeconds}abc` })).toBe('malformed_timestamp');
    expect(v({ 'webhook-timestamp': '-5' })).toBe('malformed_timestamp');
    expect(v({ 'webhook-signature': 'not-a-signature' })).toBe('malformed_signature');
    expect(v({ 'webhook-signature': `v1,${'A'.repeat(5000)}` })).toBe('malformed_signature');
    expect(v({ 'webhook-id': 'has space' })).toBe('malformed_webhook_id');
    expect(v({ 'webhook-id': 'x'.repeat(257) })).toBe('malformed_webhook_id');
    expect(v({ 'webhook-signature': good['webhook-signature']!.replace('v1,', 'v2,') })).toBe('no_matching_signature');
  });

  it('fails closed with no keys, and names a bad configured key only by position', () => {
    const headers = signedHeaders({ keys: [KEY_1], id: 'x', body });
    expect(reasonOf(() => verifyWebhook({ headers, rawBody: body }, [], NOW))).toBe('no_active_keys');
    const bad = 'whsec_tooshort';
    let err: unknown;
    try {
      verifyWebhook({ headers, rawBody: body }, [KEY_1.replace('Y', 'Z'), bad], NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebhookKeyError);
    expect((err as WebhookKeyError).message).toMatch(/^webhook key #2 /);
    expect((err as WebhookKeyError).message).not.toContain('tooshort');
  });

  it('interoperates with the standardwebhooks library both ways', () => {
    const id = 'msg_interop';
    const realNow = Date.now();
    const ours = signWebhook([KEY_1, KEY_2], id, body, realNow);
    expect(ours['webhook-signature']!.split(' ')).toHaveLength(2);
    // The library's own verify (real clock) accepts what we sign, with either key alone.
    expect(new Webhook(KEY_1).verify(body, ours)).toEqual(JSON.parse(body));
    expect(new Webhook(KEY_2).verify(body, ours)).toEqual(JSON.parse(body));
    expect(() => new Webhook(KEY_OTHER).verify(body, ours)).toThrow();
    // And we accept what the library signs.
    const theirs = signedHeaders({ keys: [KEY_2], id, body, at: Math.floor(realNow / 1000) });
    expect(verifyWebhook({ headers: theirs, rawBody: body }, [KEY_1, KEY_2], realNow).keyIndex).toBe(1);
  });

  it('property: any body verifies as signed, and any change to body, id or timestamp is refused', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300, unit: 'grapheme' }),
        fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/),
        fc.nat({ max: 200 }),
        fc.integer({ min: 0, max: 2 }),
        (payload, id, skew, what) => {
          const at = nowSeconds - skew;
          const headers = signedHeaders({ keys: [KEY_2], id, body: payload, at });
          expect(verifyWebhook({ headers, rawBody: payload }, [KEY_1, KEY_2], NOW).messageId).toBe(id);
          const tampered =
            what === 0
              ? { headers, rawBody: payload + ' ' }
              : what === 1
                ? { headers: { ...headers, 'webhook-id': `${id}x` }, rawBody: payload }
                : { headers: { ...headers, 'webhook-timestamp': String(at - 1) }, rawBody: payload };
          expect(reasonOf(() => verifyWebhook(tampered, [KEY_1, KEY_2], NOW))).toBe('no_matching_signature');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('WebhookKeys (the keys secret)', () => {
  it('accepts an array or {keys}, and refuses bad, duplicate or too many keys by position', () => {
    expect(WebhookKeys.parse([KEY_1, KEY_2])).toEqual({ keys: [KEY_1, KEY_2] });
    expect(WebhookKeys.parse({ keys: [KEY_1] })).toEqual({ keys: [KEY_1] });
    const fields = (v: unknown) => WebhookKeys.safeParse(v).error?.issues.map((i) => i.path.join('.'));
    expect(fields([KEY_1, 'whsec_' + Buffer.alloc(8).toString('base64')])).toEqual(['keys.1']);
    expect(fields(['sk_live_not_a_whsec'])).toEqual(['keys.0']);
    expect(fields([KEY_1, KEY_1])).toEqual(['keys']);
    expect(fields([])).toEqual(['keys']);
    expect(fields({ keys: [KEY_1], extra: 1 })).toEqual(['']);
  });
});
