// AK/SK verification (Node- and Go-style), the X-Sdk-Date window, unknown AK, tampering, lock-out,
// IAM tokens (POST /v3/auth/tokens) and project access, all over real HTTP on loopback.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator } from '../../emulator/index';
import { raw, vaultBody } from './helpers';
import { officialClient, sdkFailure } from './sdk';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ clock: 'manual' });
});
afterEach(() => emu.stop());

const vaults = `/v3/${DEMO.projectId}/vaults`;
const SIG_FAIL = 'Incorrect IAM authentication information: verify aksk signature fail';

function expectGateway401(r: { status: number; json: any; headers: Record<string, unknown> }, msg: string | RegExp) {
  expect(r.status).toBe(401);
  expect(r.json.error_code).toBe('APIGW.0301');
  if (typeof msg === 'string') expect(r.json.error_msg).toBe(msg);
  else expect(r.json.error_msg).toMatch(msg);
  expect(r.json.request_id).toBe(r.headers['x-request-id']);
}

describe('AK/SK', () => {
  it('accepts the official Node SDK (content-type;host;x-project-id;x-sdk-date)', async () => {
    const sdk = officialClient(emu.url);
    const created = await sdk.createVault(vaultBody('sdk_vault'));
    expect(created.status).toBe(200);
    const listed = await sdk.listVault({ name: 'sdk vault?&=' });
    expect(listed.body).toEqual({ vaults: [], count: 0, limit: 1000, offset: 0 });
  });

  it('accepts Go-style signing (user-agent;x-project-id;x-sdk-date) with the trailing newline in the body', async () => {
    const body = `${JSON.stringify(vaultBody('go_vault'))}\n`;
    const r = await raw(emu.url, { method: 'POST', path: vaults, body, sign: { style: 'go', date: new Date(emu.clock.now()) } });
    expect(r.status).toBe(200);
    expect(r.json.vault.name).toBe('go_vault');
    const get = await raw(emu.url, { path: vaults, query: 'name=go_vault&limit=5', sign: { style: 'go', date: new Date(emu.clock.now()) } });
    expect(get.json.count).toBe(1);
  });

  it('hashes the exact body bytes: a body re-serialised after signing fails', async () => {
    const r = await raw(emu.url, {
      method: 'POST',
      path: vaults,
      body: `${JSON.stringify(vaultBody('x'))}\n`,
      sign: { style: 'go', tamper: (t) => (t.body = JSON.stringify(vaultBody('x'))) },
    });
    expectGateway401(r, SIG_FAIL);
  });

  it.each([
    ['path', (t: any) => (t.path = t.path.replace('vaults', 'backups'))],
    ['query', (t: any) => (t.query = 'limit=2')],
    ['signed header', (t: any) => (t.headers['content-type'] = 'text/plain')],
    ['signature', (t: any) => (t.headers.authorization = t.headers.authorization.replace(/.$/, (c: string) => (c === '0' ? '1' : '0')))],
  ])('rejects a request whose %s was changed after signing', async (_name, tamper) => {
    const r = await raw(emu.url, { path: vaults, query: 'limit=1', sign: { tamper } });
    expectGateway401(r, SIG_FAIL);
  });

  it('rejects an unknown AK, a wrong SK and a missing Authorization', async () => {
    expectGateway401(
      await raw(emu.url, { path: vaults, sign: { ak: 'NOSUCHAK' } }),
      'Incorrect IAM authentication information: Get secretKey failed,ak:NOSUCHAK,err:ak not exist',
    );
    expectGateway401(await raw(emu.url, { path: vaults, sign: { sk: 'not-the-secret' } }), SIG_FAIL);
    expectGateway401(await raw(emu.url, { path: vaults }), 'Incorrect IAM authentication information: x-auth-token not found');
    expectGateway401(await raw(emu.url, { path: vaults, headers: { authorization: 'Basic abc' } }), /malformed Authorization/);
  });

  it('enforces the 15-minute X-Sdk-Date window against the emulator clock', async () => {
    const now = emu.clock.now();
    expect((await raw(emu.url, { path: vaults, sign: { date: new Date(now - 14 * 60_000) } })).status).toBe(200);
    expect((await raw(emu.url, { path: vaults, sign: { date: new Date(now + 14 * 60_000) } })).status).toBe(200);
    expectGateway401(await raw(emu.url, { path: vaults, sign: { date: new Date(now - 16 * 60_000) } }), /more than 15 minutes/);
    expectGateway401(await raw(emu.url, { path: vaults, sign: { date: new Date(now + 16 * 60_000) } }), /more than 15 minutes/);
    emu.clock.advance(20 * 60_000);
    expectGateway401(await raw(emu.url, { path: vaults, sign: { date: new Date(now) } }), /more than 15 minutes/);
    expectGateway401(await raw(emu.url, { path: vaults, sign: { tamper: (t) => (t.headers['x-sdk-date'] = '2024-01-15T10:30:00Z') } }), /not formatted YYYYMMDDTHHMMSSZ/);
  });

  it('locks the AK for 5 minutes after more than 5 consecutive bad signatures', async () => {
    for (let i = 0; i < 6; i++) expectGateway401(await raw(emu.url, { path: vaults, sign: { sk: 'bad' } }), SIG_FAIL);
    const locked = 'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden';
    expectGateway401(await raw(emu.url, { path: vaults, sign: {} }), locked);
    // The other AK is unaffected.
    const peer = await raw(emu.url, { path: `/v3/${DEMO.peerProjectId}/vaults`, sign: { ak: DEMO.peer.ak, sk: DEMO.peer.sk, projectId: DEMO.peerProjectId } });
    expect(peer.status).toBe(200);
    emu.clock.advance(4 * 60_000);
    expectGateway401(await raw(emu.url, { path: vaults, sign: { date: new Date(emu.clock.now()) } }), locked);
    emu.clock.advance(61_000);
    expect((await raw(emu.url, { path: vaults, sign: { date: new Date(emu.clock.now()) } })).status).toBe(200);
  });

  it('a good signature resets the failure count', async () => {
    for (let i = 0; i < 5; i++) await raw(emu.url, { path: vaults, sign: { sk: 'bad' } });
    expect((await raw(emu.url, { path: vaults, sign: {} })).status).toBe(200);
    for (let i = 0; i < 5; i++) await raw(emu.url, { path: vaults, sign: { sk: 'bad' } });
    expect((await raw(emu.url, { path: vaults, sign: {} })).status).toBe(200);
  });

  it('the official SDK sees the 401 as a ClientRequestException with code and request id', async () => {
    const sdk = officialClient(emu.url, { ak: DEMO.ak, sk: 'wrong', projectId: DEMO.projectId });
    const f = await sdkFailure(sdk.listVault());
    expect(f).toMatchObject({ httpStatusCode: 401, errorCode: 'APIGW.0301', errorMsg: SIG_FAIL });
    expect(f.requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('honours X-Sdk-Content-Sha256 (UNSIGNED-PAYLOAD) when the client signs it', async () => {
    const r = await raw(emu.url, {
      method: 'POST',
      path: vaults,
      headers: { 'x-sdk-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: JSON.stringify(vaultBody('unsigned_payload')),
      // the payload is not covered by the signature, so a different body still verifies
      sign: { tamper: (t) => (t.body = JSON.stringify(vaultBody('changed_payload'))) },
    });
    expect(r.status).toBe(200);
    expect(r.json.vault.name).toBe('changed_payload');
  });

  it('413 APIGW.0201 for a body over limits.maxBodyBytes', async () => {
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', limits: { maxBodyBytes: 1000 } });
    const r = await raw(emu.url, { method: 'POST', path: vaults, body: JSON.stringify(vaultBody('x', { description: 'y'.repeat(2000) })), sign: {} });
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ error_code: 'APIGW.0201', error_msg: 'Request entity too large' });
  });

  it('requires X-Security-Token for temporary credentials', async () => {
    await emu.stop();
    emu = await startEmulator({
      clock: 'manual',
      credentials: [{ ak: 'TEMPAK', sk: 'TEMPSK', domainName: 'cbr-demo', securityToken: 'sts-token' }],
    });
    expectGateway401(await raw(emu.url, { path: vaults, sign: { ak: 'TEMPAK', sk: 'TEMPSK' } }), SIG_FAIL);
    const ok = await raw(emu.url, { path: vaults, headers: { 'x-security-token': 'sts-token' }, sign: { ak: 'TEMPAK', sk: 'TEMPSK' } });
    expect(ok.status).toBe(200);
  });
});

describe('project access', () => {
  it('403 APIGW.0302 for a project outside the credential domain', async () => {
    const r = await raw(emu.url, { path: `/v3/${DEMO.peerProjectId}/vaults`, sign: { projectId: DEMO.peerProjectId } });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ error_code: 'APIGW.0302' });
    const unknown = await raw(emu.url, { path: `/v3/${'f'.repeat(32)}/vaults`, sign: { projectId: 'f'.repeat(32) } });
    expect(unknown.status).toBe(403);
  });

  it('X-Project-Id must match the path project (quirk projectHeader, default must-match)', async () => {
    const r = await raw(emu.url, { path: vaults, sign: { projectId: DEMO.peerProjectId } });
    expect(r.status).toBe(403);
    expect(r.json.error_msg).toMatch(/X-Project-Id does not match/);
    await emu.stop();
    emu = await startEmulator({ clock: 'manual', quirks: { projectHeader: 'ignore' } });
    expect((await raw(emu.url, { path: vaults, sign: { projectId: DEMO.peerProjectId } })).status).toBe(200);
  });

  it('unknown paths are the gateway 404 APIGW.0101, with X-Request-Id', async () => {
    const r = await raw(emu.url, { path: `/v3/${DEMO.projectId}/policies`, sign: {} });
    expect(r.status).toBe(404);
    expect(r.json.error_code).toBe('APIGW.0101');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect((await raw(emu.url, { method: 'PATCH', path: vaults, sign: {} })).status).toBe(404);
  });
});

describe('IAM tokens', () => {
  const tokenBody = (scope: unknown, password = DEMO.user.password, user = DEMO.user.name) => ({
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: DEMO.user.domainName } } } },
      scope,
    },
  });
  const issue = (body: unknown, query = '') =>
    raw(emu.url, { method: 'POST', path: '/v3/auth/tokens', query, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('201 with X-Subject-Token and a 24 h token scoped by project name', async () => {
    const r = await issue(tokenBody({ project: { name: DEMO.projectName } }));
    expect(r.status).toBe(201);
    const token = r.headers['x-subject-token'] as string;
    expect(token.length).toBeGreaterThan(100);
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    const t = r.json.token;
    expect(Date.parse(t.expires_at) - Date.parse(t.issued_at)).toBe(24 * 3600_000);
    expect(t.expires_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(t.methods).toEqual(['password']);
    expect(t.project).toMatchObject({ id: DEMO.projectId, name: DEMO.projectName, domain: { name: 'cbr-demo' } });
    expect(t.user).toMatchObject({ name: DEMO.user.name });
    expect(t.catalog).toBeInstanceOf(Array);
    const noCatalog = await issue(tokenBody({ project: { id: DEMO.projectId } }), 'nocatalog=true');
    expect(noCatalog.json.token.catalog).toBeUndefined();

    const ok = await raw(emu.url, { path: vaults, headers: { 'x-auth-token': token } });
    expect(ok.status).toBe(200);
    // scoped to the owner project only
    expect((await raw(emu.url, { path: `/v3/${DEMO.peerProjectId}/vaults`, headers: { 'x-auth-token': token } })).status).toBe(403);
  });

  it('expired and unknown tokens get 401 APIGW.0301', async () => {
    const token = (await issue(tokenBody({ project: { id: DEMO.projectId } }))).headers['x-subject-token'] as string;
    expectGateway401(await raw(emu.url, { path: vaults, headers: { 'x-auth-token': 'MIIbogus' } }), 'Incorrect IAM authentication information: decrypt token fail');
    emu.clock.advance(24 * 3600_000 - 1000);
    expect((await raw(emu.url, { path: vaults, headers: { 'x-auth-token': token } })).status).toBe(200);
    emu.clock.advance(1000);
    expectGateway401(await raw(emu.url, { path: vaults, headers: { 'x-auth-token': token } }), /token expires, expires_at: /);
  });

  it('wrong password: 401 in the IAM envelope; malformed body: 400 IAM envelope; unknown project: 401', async () => {
    const bad = await issue(tokenBody({ project: { name: DEMO.projectName } }, 'wrong'));
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' } });
    const unknownUser = await issue(tokenBody({ project: { name: DEMO.projectName } }, DEMO.user.password, 'nobody'));
    expect(unknownUser.status).toBe(401);
    const malformed = await issue({ auth: { identity: { methods: ['token'] } } });
    expect(malformed.status).toBe(400);
    expect(malformed.json).toEqual({ error: { code: 400, message: 'The request body is invalid', title: 'Bad Request' } });
    const notJson = await raw(emu.url, { method: 'POST', path: '/v3/auth/tokens', body: '{"auth":' });
    expect(notJson.json.error.code).toBe(400);
    // the peer project belongs to another domain: this user cannot scope to it
    expect((await issue(tokenBody({ project: { id: DEMO.peerProjectId } }))).status).toBe(401);
  });

  it('a domain-scoped token cannot call a project API', async () => {
    const r = await issue(tokenBody({ domain: { name: DEMO.user.domainName } }));
    expect(r.status).toBe(201);
    expect(r.json.token.domain.name).toBe('cbr-demo');
    expect((await raw(emu.url, { path: vaults, headers: { 'x-auth-token': r.headers['x-subject-token'] as string } })).status).toBe(403);
  });

  it('GET /v3/projects?name= lists the caller domain projects (SDK project discovery)', async () => {
    const r = await raw(emu.url, { path: '/v3/projects', query: `name=${DEMO.projectName}`, sign: {} });
    expect(r.status).toBe(200);
    expect(r.json.projects).toEqual([expect.objectContaining({ id: DEMO.projectId, name: DEMO.projectName })]);
  });
});
