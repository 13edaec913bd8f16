import { describe, expect, it } from 'vitest';
import { isSensitiveKey, redact, redactingLogger, redactText, REDACTED, redactUrl, SecretRegistry } from '../../../lib/secrets/redact';
import type { Logger } from '../../../lib/ports';

const SK = 'Sk7yQ2mN9pL4xR8tV3wZ';
const PASSWORD = 'p@ss "word"/1';
const KEY = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('redact', () => {
  it('replaces known secrets nested in objects, arrays, errors and their causes', () => {
    const inner = Object.assign(new Error(`IAM refused password ${PASSWORD}`), { requestId: 'req-1', securityToken: 'sts-token-value', detail: { token: 'x' } });
    const outer = new Error(`call failed with sk=${SK}`, { cause: inner });
    const value = { run: 'r1', list: [{ deep: { deeper: [`prefix-${SK}-suffix`] } }], error: outer, count: 3 };
    const out = redact(value, [SK, PASSWORD]) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toContain(SK);
    expect(text).not.toContain('p@ss');
    expect(out).toMatchObject({
      run: 'r1',
      count: 3,
      list: [{ deep: { deeper: [`prefix-${REDACTED}-suffix`] } }],
      error: { name: 'Error', message: `call failed with sk=${REDACTED}`, cause: { message: `IAM refused password ${REDACTED}`, requestId: 'req-1', securityToken: REDACTED, detail: { token: REDACTED } } },
    });
  });

  it('catches URL-encoded and JSON-escaped forms and the body of a whsec_ key', () => {
    const text = `u=https://h/?p=${encodeURIComponent(PASSWORD)} j=${JSON.stringify({ p: PASSWORD })} raw=${KEY.slice(6)}`;
    const out = redactText(text, [PASSWORD, KEY]);
    expect(out).not.toContain('p%40ss');
    expect(out).not.toContain('p@ss');
    expect(out).not.toContain(KEY.slice(6));
  });

  it('blanks sensitive keys whatever their value, in any case or separator style', () => {
    const headers = {
      Authorization: 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc',
      'X-Auth-Token': 'MIIfresh-token',
      'x-security-token': 'sts',
      'webhook-signature': 'v1,abc=',
      password: 'pw',
      sk: 'short',
      secretAccessKey: 'aws',
      clientSecret: 'c',
      secretName: 'cbr-flow/prod/keys',
      host: 'cbr.example.com',
    };
    expect(redact({ headers }, [])).toEqual({
      headers: {
        Authorization: REDACTED,
        'X-Auth-Token': REDACTED,
        'x-security-token': REDACTED,
        'webhook-signature': REDACTED,
        password: REDACTED,
        sk: REDACTED,
        secretAccessKey: REDACTED,
        clientSecret: REDACTED,
        secretName: 'cbr-flow/prod/keys',
        host: 'cbr.example.com',
      },
    });
    expect(isSensitiveKey('X_SECURITY_TOKEN')).toBe(true);
    expect(isSensitiveKey('runId')).toBe(false);
  });

  it('survives cycles and does not modify its input', () => {
    const a: Record<string, unknown> = { sk: SK, note: SK };
    a.self = a;
    const out = redact(a, [SK]) as Record<string, unknown>;
    expect(out.self).toBe('[Circular]');
    expect(out.note).toBe(REDACTED);
    expect(a.note).toBe(SK);
  });

  it('ignores secrets too short to search for without wrecking the log', () => {
    expect(redactText('a cat sat', ['a'])).toBe('a cat sat');
  });
});

describe('redactingLogger', () => {
  it('redacts message and fields with secrets registered after the logger was built', () => {
    const registry = new SecretRegistry();
    const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
    const inner: Logger = (level, msg, fields) => lines.push([level, msg, fields]);
    const log = redactingLogger(inner, registry);
    registry.add([SK]);
    log('warn', `retrying with ${SK}`, { error: new Error('x', { cause: new Error(`sk ${SK}`) }), headers: { 'X-Auth-Token': 'tok' } });
    log('info', 'plain');
    expect(JSON.stringify(lines)).not.toContain(SK);
    expect(lines[0]![1]).toBe(`retrying with ${REDACTED}`);
    expect(lines[0]![2]).toMatchObject({ error: { cause: { message: `sk ${REDACTED}` } }, headers: { 'X-Auth-Token': REDACTED } });
    expect(lines[1]).toEqual(['info', 'plain', undefined]);
  });
});

describe('notifyUrl', () => {
  it('a notifyUrl field is blanked in log lines; redactUrl keeps only the origin', () => {
    expect(isSensitiveKey('notifyUrl')).toBe(true);
    expect(redact({ runId: 'r', notifyUrl: 'https://u:p@h.example.com/x?token=t' }, [])).toEqual({ runId: 'r', notifyUrl: REDACTED });
    expect(redactUrl('https://u:p@h.example.com/T0/B1/secret?token=t#f')).toBe(`https://h.example.com/${REDACTED}`);
    expect(redactUrl('https://h.example.com:8443/')).toBe('https://h.example.com:8443');
    expect(redactUrl('not a url with a secret')).toBe(REDACTED);
  });
});
