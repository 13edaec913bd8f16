// The emulator's verifier against the reference's official vectors (cbr-api.md §9.4: V1-V4 produced by the
// official Node pipeline, and both Go SDK unit-test vectors), plus a property test against our independent signer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, parseAuthorization, signatureFor, verifySignature } from '../../emulator/sigv';
import type { SignableRequest } from '../../emulator/sigv';
import { rawAuthorization } from './helpers';

const AK = 'HPUAEXAMPLEAK0000001';
const SK = 'ExampleSecretKey0000000000000000000000001';
const P = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const NODE_HEADERS = {
  'content-type': 'application/json',
  host: 'cbr.ap-southeast-1.myhuaweicloud.com',
  'x-project-id': P,
  'x-sdk-date': '20240115T103000Z',
};
const NODE_SIGNED = ['content-type', 'host', 'x-project-id', 'x-sdk-date'];

function req(method: string, rawPath: string, rawQuery: string, headers: Record<string, string>, body = ''): SignableRequest {
  return { method, rawPath, rawQuery, headers, body: Buffer.from(body, 'utf8') };
}

const auth = (ak: string, signed: string[], sig: string) => `SDK-HMAC-SHA256 Access=${ak}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;

describe('official signature vectors verify', () => {
  const cases = [
    {
      name: 'V1 ListVault (space in a query value)',
      r: req('GET', `/v3/${P}/vaults`, 'limit=10&offset=0&name=my%20vault', NODE_HEADERS),
      sig: 'a72e2f5a3a4caed63d0840d5178aa366c2f5a6adb3fb6679e454979bd2713e85',
    },
    {
      name: 'V2 CreateCheckpoint (body bytes)',
      r: req(
        'POST',
        `/v3/${P}/checkpoints`,
        '',
        NODE_HEADERS,
        '{"checkpoint":{"vault_id":"3b5816b5-f29c-4172-9d9a-76c719a659ce","parameters":{"auto_trigger":false,"description":"backup_description","incremental":true,"name":"backup_name","resources":["94eba8b2-acc9-4d82-badc-127144cc5526"]}}}',
      ),
      sig: '3f1cf4387bf75f4acde54ac6216048d4365eda57b5fcc69ba896806ea871b8ea',
    },
    {
      name: 'V3 DeleteBackup',
      r: req('DELETE', `/v3/${P}/backups/6df2b54c-dd62-4059-a07c-1b8f24f2725d`, '', NODE_HEADERS),
      sig: '4a3a745a22bb4d276708e1b5e7320306bdfba5e42e566016bd79f266ee6108ec',
    },
    {
      name: 'V4 ListBackups (repeated status, encoded colon)',
      r: req('GET', `/v3/${P}/backups`, 'vault_id=3b5816b5-f29c-4172-9d9a-76c719a659ce&status=available&status=error&sort=created_at%3Adesc&limit=5', NODE_HEADERS),
      sig: 'dd57fcb4a50a9746e7fe2cdd9d4535819af78c89f523e34a36c63a22ca9cb484',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(signatureFor(SK, '20240115T103000Z', canonicalRequest(c.r, NODE_SIGNED)!)).toBe(c.sig);
      expect(verifySignature(c.r, parseAuthorization(auth(AK, NODE_SIGNED, c.sig))!, SK, '20240115T103000Z')).toEqual({ ok: true });
    });
  }

  it('V4 canonical query is sorted by key then value', () => {
    const cr = canonicalRequest(cases[3]!.r, NODE_SIGNED)!;
    expect(cr.split('\n')[2]).toBe('limit=5&sort=created_at%3Adesc&status=available&status=error&vault_id=3b5816b5-f29c-4172-9d9a-76c719a659ce');
  });

  it('Go SDK vectors: only x-sdk-date signed, body hashed with its trailing newline', () => {
    const goHeaders = { 'x-sdk-date': '20060102T150405Z' };
    expect(signatureFor('SecretKey', '20060102T150405Z', canonicalRequest(req('GET', '/path', 'limit=1', goHeaders), ['x-sdk-date'])!)).toBe(
      '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    );
    const post = req('POST', '/path', 'key=value', goHeaders, '{"Name":"test","Id":1}\n');
    expect(signatureFor('SecretKey', '20060102T150405Z', canonicalRequest(post, ['x-sdk-date'])!)).toBe(
      'cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59',
    );
    const withoutNewline = req('POST', '/path', 'key=value', goHeaders, '{"Name":"test","Id":1}');
    expect(signatureFor('SecretKey', '20060102T150405Z', canonicalRequest(withoutNewline, ['x-sdk-date'])!)).toMatch(/^83599e52/);
  });

  it('rejects a signature when any signed part changes', () => {
    const base = cases[1]!;
    const parsed = parseAuthorization(auth(AK, NODE_SIGNED, base.sig))!;
    const tampered = [
      { ...base.r, body: Buffer.from(base.r.body.toString().replace('backup_name', 'backup_nam3')) },
      { ...base.r, rawPath: base.r.rawPath.replace('checkpoints', 'checkpoint') },
      { ...base.r, rawQuery: 'x=1' },
      { ...base.r, headers: { ...base.r.headers, 'x-project-id': 'ffffffffffffffffffffffffffffffff' } },
      { ...base.r, method: 'PUT' },
    ];
    for (const t of tampered) expect(verifySignature(t, parsed, SK, '20240115T103000Z')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySignature(base.r, parsed, 'wrong-sk', '20240115T103000Z').ok).toBe(false);
  });
});

describe('agrees with an independent signer on arbitrary input', () => {
  it('unicode and reserved characters in paths and query values, repeated keys, any body', () => {
    const segment = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'Z', '9', '-', '_', '.', '~', ' ', '!', "'", '(', '*', ':', '@', '中', 'é', '😀') });
    const qvalue = fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'b', ' ', '&', '=', '+', ':', ',', '/', '?', '#', '中', '%', '!', '*') });
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.constantFrom('status', 'name', 'limit', 'sort', 'ü'), qvalue), { maxLength: 5 }),
        fc.string({ maxLength: 40 }),
        (segs, params, body) => {
          const path = `/${segs.map(encodeURIComponent).join('/')}`;
          const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
          const headers = { 'content-type': 'application/json', host: '127.0.0.1:8080', 'x-sdk-date': '20240115T103000Z' };
          const signed = ['content-type', 'host', 'x-sdk-date'];
          const a = rawAuthorization({ method: 'POST', path, query, headers, body, ak: 'AK', sk: 'SK', signed });
          const r = req('POST', path, query, headers, body);
          expect(verifySignature(r, parseAuthorization(a)!, 'SK', '20240115T103000Z')).toEqual({ ok: true });
        },
      ),
      { numRuns: 300 },
    );
  });
});
