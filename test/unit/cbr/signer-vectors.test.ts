import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatSdkDate, signCanonicalRequest, signRequest } from '../../../lib/cbr/signer';

// cbr-api.md §9.4: produced by the official Node SDK pipeline, re-verified by the Python verifier.
const AK = 'HPUAEXAMPLEAK0000001';
const SK = 'ExampleSecretKey0000000000000000000000001';
const P = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const E = 'https://cbr.ap-southeast-1.myhuaweicloud.com';
const NOW = new Date(Date.UTC(2024, 0, 15, 10, 30, 0));
const HEADERS = { 'content-type': 'application/json', 'X-Project-Id': P };
const auth = (sig: string) => `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=${sig}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const V2_BODY =
  '{"checkpoint":{"vault_id":"3b5816b5-f29c-4172-9d9a-76c719a659ce","parameters":{"auto_trigger":false,"description":"backup_description","incremental":true,"name":"backup_name","resources":["94eba8b2-acc9-4d82-badc-127144cc5526"]}}}';

const vectors = [
  {
    name: 'V1 ListVault',
    req: { method: 'GET', url: `${E}/v3/${P}/vaults?limit=10&offset=0&name=my%20vault` },
    stsHash: '006585c7790d9d32aba7126e63254209b9c76298311abc9218f8ad61872199eb',
    sig: 'a72e2f5a3a4caed63d0840d5178aa366c2f5a6adb3fb6679e454979bd2713e85',
  },
  {
    name: 'V2 CreateCheckpoint',
    req: { method: 'POST', url: `${E}/v3/${P}/checkpoints`, body: V2_BODY },
    stsHash: 'f8cf4e2bd571029fa50a97022ed001f139afba43b2f90fd81230e92b543d8787',
    sig: '3f1cf4387bf75f4acde54ac6216048d4365eda57b5fcc69ba896806ea871b8ea',
  },
  {
    name: 'V3 DeleteBackup',
    req: { method: 'DELETE', url: `${E}/v3/${P}/backups/6df2b54c-dd62-4059-a07c-1b8f24f2725d` },
    stsHash: 'cfb4d22d0494022dd431294cae390d21c9b06da519308a86076af35bd648251b',
    sig: '4a3a745a22bb4d276708e1b5e7320306bdfba5e42e566016bd79f266ee6108ec',
  },
  {
    name: 'V4 ListBackups, repeated status and a colon',
    req: {
      method: 'GET',
      url: `${E}/v3/${P}/backups?vault_id=3b5816b5-f29c-4172-9d9a-76c719a659ce&status=available&status=error&sort=created_at%3Adesc&limit=5`,
    },
    stsHash: 'a273466febf7254d41c229082eccbc53dd4a93ca8e4b87a97f1e128b8b38fdff',
    sig: 'dd57fcb4a50a9746e7fe2cdd9d4535819af78c89f523e34a36c63a22ca9cb484',
  },
];

describe('official Node SDK vectors V1-V4 (cbr-api.md §9.4)', () => {
  for (const v of vectors) {
    it(`${v.name}: exact Authorization and X-Sdk-Date`, () => {
      const added = signRequest({ ...v.req, headers: { ...HEADERS } }, { ak: AK, sk: SK }, NOW);
      expect(added).toEqual({ 'X-Sdk-Date': '20240115T103000Z', Authorization: auth(v.sig) });
    });
    it(`${v.name}: string-to-sign hash line`, () => {
      const r = signCanonicalRequest(
        {
          ...v.req,
          headers: { ...HEADERS, host: 'cbr.ap-southeast-1.myhuaweicloud.com', 'X-Sdk-Date': '20240115T103000Z' },
          signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'],
        },
        { ak: AK, sk: SK },
      );
      expect(r.stringToSign.split('\n')[2]).toBe(v.stsHash);
      expect(sha(r.canonicalRequest)).toBe(v.stsHash);
    });
  }

  it('V1 canonical request byte for byte', () => {
    const r = signCanonicalRequest(
      {
        method: 'GET',
        url: `${E}/v3/${P}/vaults?limit=10&offset=0&name=my%20vault`,
        headers: { ...HEADERS, host: 'cbr.ap-southeast-1.myhuaweicloud.com', 'X-Sdk-Date': '20240115T103000Z' },
        signedHeaders: ['x-sdk-date', 'host', 'X-Project-Id', 'content-type'],
      },
      { ak: AK, sk: SK },
    );
    expect(r.canonicalRequest).toBe(
      [
        'GET',
        `/v3/${P}/vaults/`,
        'limit=10&name=my%20vault&offset=0',
        'content-type:application/json',
        'host:cbr.ap-southeast-1.myhuaweicloud.com',
        `x-project-id:${P}`,
        'x-sdk-date:20240115T103000Z',
        '',
        'content-type;host;x-project-id;x-sdk-date',
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      ].join('\n'),
    );
  });

  it('V2 body hash is the SHA-256 of the exact body bytes', () => {
    expect(sha(V2_BODY)).toBe('940051c9ae55d8674358729da3b846c9f38a99878d30ac8244affe3abc19753e');
  });
});

describe('Go SDK vectors (signer_test.go TestSigner_Sign): only x-sdk-date signed, no host', () => {
  const creds = { ak: 'AccessKey', sk: 'SecretKey' };
  const headers = { 'X-Sdk-Date': '20060102T150405Z' };
  it('GET ?limit=1', () => {
    const r = signCanonicalRequest({ method: 'GET', url: 'https://example.huaweicloud.com/path?limit=1', headers, signedHeaders: ['x-sdk-date'] }, creds);
    expect(r.signature).toBe('5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624');
    expect(r.authorization).toBe(
      'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    );
  });
  it('POST with the trailing newline Go sends', () => {
    const r = signCanonicalRequest(
      { method: 'POST', url: 'https://example.huaweicloud.com/path?key=value', headers, signedHeaders: ['x-sdk-date'], body: '{"Name":"test","Id":1}\n' },
      creds,
    );
    expect(r.signature).toBe('cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59');
  });
  it('the same body without the newline signs differently (83599e52...)', () => {
    const r = signCanonicalRequest(
      { method: 'POST', url: 'https://example.huaweicloud.com/path?key=value', headers, signedHeaders: ['x-sdk-date'], body: Buffer.from('{"Name":"test","Id":1}') },
      creds,
    );
    expect(r.signature.startsWith('83599e52')).toBe(true);
  });
});

describe('signRequest details', () => {
  const base = { method: 'GET', url: `${E}/v3/${P}/vaults`, headers: { ...HEADERS } };

  it('adds and signs X-Security-Token for temporary credentials', () => {
    const added = signRequest(base, { ak: AK, sk: SK, securityToken: 'tmp-token-123' }, NOW);
    expect(added['X-Security-Token']).toBe('tmp-token-123');
    expect(added.Authorization).toContain('SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,');
    const withoutToken = signRequest(base, { ak: AK, sk: SK }, NOW);
    expect(withoutToken).not.toHaveProperty('X-Security-Token');
  });

  it('signs host with a non-default port and without the default one', () => {
    const sigOf = (url: string, host: string) =>
      signCanonicalRequest(
        { method: 'GET', url, headers: { ...HEADERS, host, 'X-Sdk-Date': formatSdkDate(NOW) }, signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'] },
        { ak: AK, sk: SK },
      ).authorization;
    expect(signRequest({ ...base, url: 'http://127.0.0.1:8443/v3/x' }, { ak: AK, sk: SK }, NOW).Authorization).toBe(sigOf('http://127.0.0.1:8443/v3/x', '127.0.0.1:8443'));
    expect(signRequest({ ...base, url: 'https://cbr.example.com:443/v3/x' }, { ak: AK, sk: SK }, NOW).Authorization).toBe(sigOf('https://cbr.example.com/v3/x', 'cbr.example.com'));
  });

  it('uses a caller-given host header instead of the URL host', () => {
    const a = signRequest({ ...base, headers: { ...HEADERS, Host: 'proxy.example:9000' } }, { ak: AK, sk: SK }, NOW);
    const b = signRequest({ ...base, url: 'http://proxy.example:9000/v3/' + P + '/vaults' }, { ak: AK, sk: SK }, NOW);
    expect(a.Authorization).toBe(b.Authorization);
  });

  it('refuses a caller-supplied X-Sdk-Date or Authorization (no stale dates)', () => {
    expect(() => signRequest({ ...base, headers: { ...HEADERS, 'X-Sdk-Date': '20200101T000000Z' } }, { ak: AK, sk: SK }, NOW)).toThrow(/x-sdk-date/);
    expect(() => signRequest({ ...base, headers: { ...HEADERS, authorization: 'x' } }, { ak: AK, sk: SK }, NOW)).toThrow(/authorization/);
  });

  it('refuses duplicate header names and header values with line breaks', () => {
    expect(() => signRequest({ ...base, headers: { 'X-A': '1', 'x-a': '2' } }, { ak: AK, sk: SK }, NOW)).toThrow(/twice/);
    expect(() => signRequest({ ...base, headers: { 'X-A': '1\r\nX-B: 2' } }, { ak: AK, sk: SK }, NOW)).toThrow(/line break/);
  });

  it('formats X-Sdk-Date as UTC basic format and defaults to the current time', () => {
    expect(formatSdkDate(new Date('2026-11-22T17:03:09.999Z'))).toBe('20261122T170309Z');
    const before = Date.now();
    const d = signRequest(base, { ak: AK, sk: SK })['X-Sdk-Date']!;
    const t = Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15));
    expect(t).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});
