import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIamTokenProvider } from '../../../lib/cbr/auth';
import type { IamTokenProviderOptions } from '../../../lib/cbr/auth';
import { createCbrClient } from '../../../lib/cbr/client';
import { CbrApiError, CbrValidationError } from '../../../lib/cbr/errors';
import { startLoopbackServer } from '../../helpers/loopback-server';
import type { LoopbackServer, RecordedRequest, Reply } from '../../helpers/loopback-server';
import { P, VAULT, VAULT_ID } from './fixtures';

const PASSWORD = 'S3cret-Passw0rd!';
const HOUR = 3_600_000;
let server: LoopbackServer;
let tokenSeq = 0;
let userSeq = 0;
let iamReply: (req: RecordedRequest) => Reply;
let t0 = Date.UTC(2026, 10, 22, 12, 0, 0);
let clock = t0;

/** IAM: 201 + X-Subject-Token, body token.expires_at 24 h after the (injected) clock. */
const issue = (): Reply => {
  tokenSeq++;
  return {
    status: 201,
    headers: { 'X-Subject-Token': `MIItoken-${tokenSeq}-${'x'.repeat(40)}` },
    body: { token: { expires_at: new Date(clock + 24 * HOUR).toISOString().replace('Z', '000Z'), issued_at: new Date(clock).toISOString(), methods: ['password'] } },
  };
};

beforeAll(async () => {
  server = await startLoopbackServer((req) => {
    if (req.path === '/v3/auth/tokens') return iamReply(req);
    return { status: 200, body: { vault: VAULT } };
  });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
  iamReply = issue;
  clock = t0 = Date.UTC(2026, 10, 22, 12, 0, 0);
});

const iamCalls = () => server.requests.filter((r) => r.path === '/v3/auth/tokens');

/** Each provider gets its own user name so the container-wide cache never leaks between tests. */
function provider(over: Partial<IamTokenProviderOptions> = {}) {
  return createIamTokenProvider({
    iamEndpoint: server.url,
    region: 'ap-southeast-1',
    user: { name: `user-${++userSeq}`, password: PASSWORD, domainName: 'my-domain' },
    project: {},
    now: () => new Date(clock),
    retry: { maxAttempts: 1 },
    ...over,
  });
}

describe('IAM token provider', () => {
  it('POSTs the password/project-scope body of cbr-api.md §8 and returns X-Subject-Token', async () => {
    const p = provider();
    const token = await p.getToken();
    expect(token).toMatch(/^MIItoken-\d+-x+$/);
    const [req] = iamCalls();
    expect(req!.method).toBe('POST');
    expect(req!.query).toBe('nocatalog=true');
    expect(req!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(req!.body)).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: `user-${userSeq}`, password: PASSWORD, domain: { name: 'my-domain' } } } },
        scope: { project: { name: 'ap-southeast-1' } },
      },
    });
  });

  it('scopes by project id when given', async () => {
    await provider({ project: { id: P } }).getToken();
    expect(JSON.parse(iamCalls()[0]!.body).auth.scope).toEqual({ project: { id: P } });
  });

  it('caches the token: later calls do not hit IAM', async () => {
    const p = provider();
    const a = await p.getToken();
    clock += 10 * HOUR;
    expect(await p.getToken()).toBe(a);
    expect(iamCalls()).toHaveLength(1);
  });

  it('the cache is per container: a second provider with the same user reuses the token', async () => {
    const name = `shared-${++userSeq}`;
    const mk = () => createIamTokenProvider({ iamEndpoint: server.url, region: 'x-any', user: { name, password: PASSWORD, domainName: 'd' }, project: {}, now: () => new Date(clock) });
    const a = await mk().getToken();
    expect(await mk().getToken()).toBe(a);
    expect(iamCalls()).toHaveLength(1);
  });

  it('single flight: 20 concurrent getToken calls make ONE IAM call', async () => {
    iamReply = () => ({ ...issue(), delayMs: 80 });
    const p = provider();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => p.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(iamCalls()).toHaveLength(1);
  });

  it('refreshes before expiry (refreshBeforeMs), not earlier, and refreshes concurrently only once', async () => {
    const p = provider({ refreshBeforeMs: 30 * 60_000 });
    const first = await p.getToken();
    clock = t0 + 24 * HOUR - 30 * 60_000 - 1_000; // just outside the refresh window
    expect(await p.getToken()).toBe(first);
    expect(iamCalls()).toHaveLength(1);
    clock = t0 + 24 * HOUR - 30 * 60_000 + 1_000; // inside the window, token still valid
    iamReply = () => ({ ...issue(), delayMs: 50 });
    const again = await Promise.all([p.getToken(), p.getToken(), p.getToken()]);
    expect(new Set(again).size).toBe(1);
    expect(again[0]).not.toBe(first);
    expect(iamCalls()).toHaveLength(2);
  });

  it('a failure is never cached: the next call tries IAM again', async () => {
    iamReply = () => ({ status: 503, body: { error: { code: 503, message: 'Service Unavailable', title: 'Service Unavailable' } } });
    const p = provider();
    const results = await Promise.allSettled([p.getToken(), p.getToken()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(iamCalls()).toHaveLength(1); // the two concurrent callers shared the failed attempt
    iamReply = issue;
    expect(await p.getToken()).toMatch(/^MIItoken/);
    expect(iamCalls()).toHaveLength(2);
  });

  it('IAM 5xx is retried (issuing a token twice is harmless)', async () => {
    let n = 0;
    iamReply = () => (n++ === 0 ? { status: 500, body: {} } : issue());
    const p = provider({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    expect(await p.getToken()).toMatch(/^MIItoken/);
    expect(iamCalls()).toHaveLength(2);
  });

  it('if a refresh fails while the cached token is still valid, the cached token is used and the next call retries', async () => {
    const p = provider({ refreshBeforeMs: HOUR });
    const first = await p.getToken();
    clock = t0 + 23.5 * HOUR;
    iamReply = () => ({ status: 500, body: {} });
    expect(await p.getToken()).toBe(first);
    expect(await p.getToken()).toBe(first);
    expect(iamCalls()).toHaveLength(3);
    clock = t0 + 24 * HOUR - 10_000; // nearly expired: no more fallback
    await expect(p.getToken()).rejects.toBeInstanceOf(CbrApiError);
  });

  it('wrong password: IAM error envelope parsed, not retried, and the password appears nowhere', async () => {
    iamReply = () => ({ status: 401, body: { error: { code: 401, message: `The username or password is wrong. (${PASSWORD})`, title: 'Unauthorized' } } });
    const p = provider({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    const e = (await p.getToken().catch((x: unknown) => x)) as CbrApiError;
    expect(e).toBeInstanceOf(CbrApiError);
    expect(e).toMatchObject({ operation: 'KeystoneCreateUserTokenByPassword', httpStatus: 401, errorCode: '401', retryable: false });
    expect(iamCalls()).toHaveLength(1);
    const everything = `${e.message} ${e.errorMsg} ${JSON.stringify(e)} ${inspect(e, { depth: 5 })} ${e.stack}`;
    expect(everything).not.toContain(PASSWORD);
  });

  it('a 201 without X-Subject-Token or with a bad expires_at is an invalid-response error', async () => {
    iamReply = () => ({ status: 201, body: { token: { expires_at: '2026-11-23T12:00:00Z' } } });
    await expect(provider().getToken()).rejects.toMatchObject({ kind: 'invalid-response', message: expect.stringContaining('X-Subject-Token') });
    iamReply = () => ({ status: 201, headers: { 'X-Subject-Token': 't' }, body: { token: { expires_at: 'tomorrow' } } });
    await expect(provider().getToken()).rejects.toMatchObject({ kind: 'invalid-response', message: expect.stringContaining('expires_at') });
  });

  it('validates options: region known unless iamEndpoint is given, project id format, required user fields', () => {
    const user = { name: 'u', password: PASSWORD, domainName: 'd' };
    expect(() => createIamTokenProvider({ region: 'mars-1', user, project: {} })).toThrow(CbrValidationError);
    expect(() => createIamTokenProvider({ region: 'mars-1', iamEndpoint: server.url, user, project: {} })).not.toThrow();
    expect(() => createIamTokenProvider({ region: 'ap-southeast-1', user, project: { id: 'nope' } })).toThrow(/options\.project\.id/);
    const e = (() => {
      try {
        createIamTokenProvider({ region: 'ap-southeast-1', user: { ...user, password: '' }, project: {} });
      } catch (x) {
        return x as CbrValidationError;
      }
    })();
    expect(e).toBeInstanceOf(CbrValidationError);
    expect(e!.field).toBe('options.user.password');
  });
});

describe('CBR client with token auth', () => {
  it('sends X-Auth-Token and X-Project-Id, no AK/SK signature', async () => {
    const p = provider();
    const client = createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'token', tokens: p } });
    await client.showVault(VAULT_ID);
    await client.showVault(VAULT_ID);
    const cbr = server.requests.filter((r) => r.path.startsWith('/v3/' + P));
    expect(cbr).toHaveLength(2);
    for (const r of cbr) {
      expect(r.headers['x-auth-token']).toBe(await p.getToken());
      expect(r.headers['x-project-id']).toBe(P);
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['x-sdk-date']).toBeUndefined();
    }
    expect(iamCalls()).toHaveLength(1);
  });

  it('a gateway 401 "token expires" drops the token, fetches a new one and retries once (even a POST)', async () => {
    const p = provider();
    let n = 0;
    server.respond((req) => {
      if (req.path === '/v3/auth/tokens') return iamReply(req);
      if (n++ === 0) return { status: 401, body: { error_code: 'APIGW.0307', error_msg: 'The token must be updated.', request_id: 'r' } };
      return { status: 200, body: { add_resource_ids: ['x'] } };
    });
    try {
      const client = createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'token', tokens: p }, retry: { maxAttempts: 1 } });
      const r = await client.addVaultResource(VAULT_ID, { resources: [{ id: 'x', type: 'OS::Nova::Server' }] });
      expect(r.add_resource_ids).toEqual(['x']);
      const cbr = server.requests.filter((q) => q.path.startsWith('/v3/' + P));
      expect(cbr).toHaveLength(2);
      expect(cbr[0]!.headers['x-auth-token']).not.toBe(cbr[1]!.headers['x-auth-token']);
      expect(iamCalls()).toHaveLength(2);
    } finally {
      server.respond((req) => (req.path === '/v3/auth/tokens' ? iamReply(req) : { status: 200, body: { vault: VAULT } }));
    }
  });

  it('the token never appears in a CBR error even if the server echoes it', async () => {
    const p = provider();
    const token = await p.getToken();
    server.respond((req) => (req.path === '/v3/auth/tokens' ? iamReply(req) : { status: 400, body: { error_code: 'BackupService.9900', error_msg: `bad token ${token}` } }));
    try {
      const client = createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'token', tokens: p } });
      const e = (await client.showVault(VAULT_ID).catch((x: unknown) => x)) as CbrApiError;
      expect(e.errorMsg).toBe('bad token [REDACTED]');
      expect(`${e.message} ${JSON.stringify(e)} ${inspect(e)}`).not.toContain(token);
    } finally {
      server.respond((req) => (req.path === '/v3/auth/tokens' ? iamReply(req) : { status: 200, body: { vault: VAULT } }));
    }
  });
});
