// bench/p3/fast-signer.ts is P3's proposed signer: it must be a pure speed-up of lib/cbr's signRequest,
// i.e. the same headers (or the same error) for every input, not only for the benchmark's request.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signRequest as fast } from '../../bench/p3/fast-signer';
import { signRequest as shipped } from '../../lib/cbr/signer';
import type { SigningCredentials } from '../../lib/cbr/signer';

type Outcome = { ok: Record<string, string> } | { error: string };
function outcome(f: () => Record<string, string>): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

const segment = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[0-9a-f]{32}$/),
  fc.constantFrom('v3', 'checkpoints', 'backups', 'vaults', 'members', '', '.', '..'),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('%', '2', '0', 'A', 'g', '+', ' ', '~', 'é', '/'), maxLength: 8 }),
);
const origin = fc.constantFrom(
  'https://cbr.ap-southeast-1.myhuaweicloud.com',
  'http://127.0.0.1:41234',
  'https://EXAMPLE.com:443',
  'http://example.com:80',
  'http://[::1]:9000',
  'not a url',
  'http://bad host',
);
const queryPart = fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), fc.boolean()).map(([k, v, enc]) => (enc ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`));
const url = fc
  .tuple(origin, fc.array(segment, { maxLength: 6 }), fc.array(queryPart, { maxLength: 4 }), fc.boolean())
  .map(([o, segs, q, slash]) => `${o}${segs.length ? `/${segs.join('/')}` : ''}${slash ? '/' : ''}${q.length ? `?${q.join('&')}` : ''}`);
const headerName = fc.constantFrom('Content-Type', 'content-type', 'X-Project-Id', 'Host', 'host', 'X-Sdk-Content-Sha256', 'User-Agent', 'X-Sdk-Date', 'Authorization', 'x-security-token', 'X-Custom');
const headerValue = fc.oneof(fc.constantFrom('application/json', ' padded ', 'UNSIGNED-PAYLOAD', '0605767b5780d5762fc5c0118072a564', 'a\r\nb', ''), fc.string({ maxLength: 10 }));
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 4 });
const creds: fc.Arbitrary<SigningCredentials> = fc.record(
  { ak: fc.constantFrom('HPUAEXAMPLEAK0000001', ''), sk: fc.constantFrom('ExampleSecretKey0000000000000000000000001', 'sk'), securityToken: fc.constantFrom('tok', 'bad\ntoken', '') },
  { requiredKeys: ['ak', 'sk'] },
);
const now = fc.oneof(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }), fc.constant(new Date(Number.NaN)));

describe('bench/p3/fast-signer.ts (P3 proposal) is lib/cbr signRequest, faster', () => {
  it('same headers or the same error on generated requests', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), url, headers, fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), creds, now, (method, u, h, body, c, d) => {
        const req = { method, url: u, headers: h, ...(body === undefined ? {} : { body }) };
        expect(outcome(() => fast(req, c, d))).toEqual(outcome(() => shipped(req, c, d)));
      }),
      { numRuns: 3000 },
    );
  });

  it('signs the benchmark request (a CBR path of validated ids) identically', () => {
    const req = {
      method: 'GET',
      url: 'http://127.0.0.1:41234/v3/0605767b5780d5762fc5c0118072a564/checkpoints/3b5816b5-f29c-4172-9d9a-76c719a659ce',
      headers: { 'Content-Type': 'application/json', 'X-Project-Id': '0605767b5780d5762fc5c0118072a564' },
    };
    const c = { ak: 'HPUAEXAMPLEAK0000001', sk: 'ExampleSecretKey0000000000000000000000001' };
    for (const d of [new Date('2024-01-15T10:30:00Z'), new Date('2024-01-15T10:30:00.999Z'), new Date('2024-01-15T10:30:01Z')]) {
      expect(fast(req, c, d)).toEqual(shipped(req, c, d));
    }
  });
});
