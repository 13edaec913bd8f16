// Fault injection (per operation or global; latency, 5xx/429, hangs, resets, before/after the operation,
// bounded by `times`), seeded replay, request counts, the request log, and the admin API.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator, EmulatorOptions, RequestLogEntry } from '../../emulator/index';
import { raw, server, SERVER_A, vaultBody } from './helpers';
import { officialClient, sdkFailure } from './sdk';

let emu: Emulator | undefined;
async function boot(o: EmulatorOptions = {}) {
  await emu?.stop();
  emu = await startEmulator({ clock: 'manual', ...o });
  return emu;
}
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const list = (e: Emulator) => raw(e.url, { path: `/v3/${DEMO.projectId}/vaults`, sign: {} });

async function statuses(seed: number, n: number): Promise<number[]> {
  const e = await boot({ seed, faults: [{ operations: ['ListVault'], error: { rate: 0.5, statuses: [500, 502, 503] } }] });
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await list(e)).status);
  return out;
}

describe('error injection', () => {
  it('is seeded: the same seed replays the same sequence, another seed differs', async () => {
    const a = await statuses(42, 60);
    const b = await statuses(42, 60);
    const c = await statuses(7, 60);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    const failed = a.filter((s) => s !== 200).length;
    expect(failed).toBeGreaterThan(15);
    expect(failed).toBeLessThan(45);
    expect(new Set(a.filter((s) => s !== 200))).toEqual(new Set([500, 502, 503]));
    expect(emu!.faults.stats.errors).toBe(c.filter((s) => s !== 200).length);
  });

  it('envelopes: 500 CBR 9910, 503 gateway, 429 APIGW.0308 with Retry-After; the official SDK maps them', async () => {
    const e = await boot();
    e.faults.add({ id: 'throttle', operations: ['ListVault'], error: { rate: 1, statuses: [429], retryAfterSeconds: 3 }, times: 1 });
    const t = await list(e);
    expect(t.status).toBe(429);
    expect(t.headers['retry-after']).toBe('3');
    expect(t.json).toEqual({ error_code: 'APIGW.0308', error_msg: 'The throttling threshold has been reached.', request_id: t.headers['x-request-id'] });
    expect((await list(e)).status).toBe(200); // times: 1
    expect(e.faults.list()).toEqual([]);

    e.faults.add({ error: { rate: 1, statuses: [500] }, times: 1 });
    const s = await list(e);
    expect(s.json).toEqual({ error_code: 'BackupService.9910', error_msg: 'Unknown error.' });
    e.faults.add({ operations: ['ListVault'], error: { rate: 1, statuses: [503] }, times: 1 });
    const f = await sdkFailure(officialClient(e.url).listVault());
    expect(f).toMatchObject({ httpStatusCode: 503, errorCode: 'APIGW.0201' });
    expect(f.requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is per operation: a ShowVault rule leaves ListVault alone', async () => {
    const e = await boot({ faults: [{ operations: ['ShowVault'], error: { rate: 1, statuses: [502] } }] });
    const sdk = officialClient(e.url);
    const v = (await sdk.createVault(vaultBody('v'))).body.vault;
    expect((await sdk.listVault()).status).toBe(200);
    expect(await sdkFailure(sdk.showVault(v.id))).toMatchObject({ httpStatusCode: 502 });
  });

  it("phase 'after': the operation takes effect, the answer is lost", async () => {
    const e = await boot();
    e.faults.add({ operations: ['CreateVault'], reset: { rate: 1, phase: 'after' }, times: 1 });
    const sdk = officialClient(e.url);
    await expect(sdk.createVault(vaultBody('ghost'))).rejects.toBeDefined();
    expect((await sdk.listVault({ name: 'ghost' })).body.count).toBe(1);
    e.faults.add({ operations: ['CreateVault'], error: { rate: 1, statuses: [504], phase: 'after' }, times: 1 });
    expect(await sdkFailure(sdk.createVault(vaultBody('ghost')))).toMatchObject({ httpStatusCode: 504 });
    expect((await sdk.listVault({ name: 'ghost' })).body.count).toBe(2);
  });
});

describe('latency, hangs and resets', () => {
  it('fixed and uniform latency delay the answer', async () => {
    const e = await boot({ faults: [{ operations: ['ListVault'], latency: { kind: 'fixed', ms: 120 } }] });
    let t0 = performance.now();
    await list(e);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    e.faults.clear();
    e.faults.add({ latency: { kind: 'uniform', minMs: 30, maxMs: 60 } });
    for (let i = 0; i < 3; i++) {
      t0 = performance.now();
      await list(e);
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(28);
      expect(took).toBeLessThan(300);
    }
    e.faults.clear();
    e.faults.add({ latency: { kind: 'normal', meanMs: 20, stdDevMs: 5 } });
    t0 = performance.now();
    await list(e);
    expect(performance.now() - t0).toBeGreaterThan(0);
    expect(e.faults.stats.latency).toBe(5);
  });

  it('a hang outlasts the client timeout; the request is still counted; stop() releases it', async () => {
    const e = await boot({ faults: [{ operations: ['ListVault'], hang: { rate: 1 } }] });
    const t0 = performance.now();
    await expect(request(`${e.url}/v3/${DEMO.projectId}/vaults`, { signal: AbortSignal.timeout(250) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    expect(e.state.requestCounts.byOperation.ListVault).toBe(1);
    expect(e.state.requestCounts.byStatus.hang).toBe(1);
    const pending = request(`${e.url}/v3/${DEMO.projectId}/vaults`);
    await new Promise((r) => setTimeout(r, 50));
    const t1 = performance.now();
    await e.stop();
    expect(performance.now() - t1).toBeLessThan(500);
    await expect(pending).rejects.toBeDefined();
  });

  it('a hang with ms answers late', async () => {
    const e = await boot({ faults: [{ operations: ['ListVault'], hang: { rate: 1, ms: 150 } }] });
    const t0 = performance.now();
    expect((await list(e)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('a reset destroys the connection without an answer', async () => {
    const e = await boot({ faults: [{ operations: ['ListVault'], reset: { rate: 1 }, times: 2 }] });
    await expect(list(e)).rejects.toMatchObject({ code: expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/) });
    const f = await officialClient(e.url)
      .listVault()
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(f).toBeDefined();
    expect((await list(e)).status).toBe(200);
    expect(e.faults.stats.resets).toBe(2);
  });
});

describe('request counts and log', () => {
  it('counts per operation, total and status; reset; the log carries no secrets', async () => {
    const entries: RequestLogEntry[] = [];
    const e = await boot({ log: (x) => entries.push(x) });
    const sdk = officialClient(e.url);
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_A)] }))).body.vault;
    await sdk.showVault(v.id);
    await sdk.showVault(v.id);
    await sdkFailure(sdk.showVault('00000000-0000-4000-8000-000000000000'));
    await raw(e.url, { path: '/nowhere' });
    expect(e.state.requestCounts).toEqual({
      total: 5,
      byOperation: { CreateVault: 1, ShowVault: 3, Unknown: 1 },
      byStatus: { 200: 3, 404: 2 },
    });
    expect(entries.map((x) => x.operation)).toEqual(['CreateVault', 'ShowVault', 'ShowVault', 'ShowVault', 'Unknown']);
    const text = JSON.stringify(entries);
    expect(text).not.toContain(DEMO.sk);
    expect(text).not.toContain('SDK-HMAC');
    e.state.resetRequestCounts();
    expect(e.state.requestCounts).toEqual({ total: 0, byOperation: {}, byStatus: {} });
  });

  it('snapshot reflects the state in wire shape; reset empties it', async () => {
    const e = await boot({ timing: { checkpointMs: 1000 } });
    const sdk = officialClient(e.url);
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_A)] }))).body.vault;
    await sdk.createCheckpoint({ checkpoint: { vault_id: v.id } });
    e.clock.advance(1000);
    const snap = e.state.snapshot();
    expect(snap.vaults).toHaveLength(1);
    expect(snap.checkpoints[0]).toMatchObject({ status: 'available' });
    expect(snap.backups[0]).toMatchObject({ status: 'available', vault_id: v.id });
    expect(snap.operationLogs[0]).toMatchObject({ status: 'success' });
    e.state.reset();
    expect(e.state.snapshot()).toMatchObject({ vaults: [], checkpoints: [], backups: [] });
    expect((await sdk.createVault(vaultBody('again', { resources: [server(SERVER_A)] }))).status).toBe(200);
  });
});

describe('admin API', () => {
  const admin = async (e: Emulator, method: string, path: string, body?: unknown) => {
    const r = await request(`${e.adminUrl}${path}`, {
      method: method as 'GET',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await r.body.text();
    return { status: r.statusCode, json: text ? JSON.parse(text) : undefined };
  };

  it('is off unless enabled, and on its own listener', async () => {
    const off = await boot();
    expect(off.adminUrl).toBeUndefined();
    expect((await raw(off.url, { path: '/admin/state' })).status).toBe(404);
    const on = await boot({ admin: true });
    expect(on.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(on.adminUrl).not.toBe(on.url);
    expect((await admin(on, 'GET', '/admin')).json.routes).toContain('POST /admin/faults');
  });

  it('manages faults, scripts, the clock, vault status and counts over HTTP', async () => {
    const e = await boot({ admin: true, timing: { checkpointMs: 8000 } });
    const added = await admin(e, 'POST', '/admin/faults', { id: 'x', operations: ['ListVault'], error: { rate: 1, statuses: [503] } });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ id: 'x', error: { rate: 1, statuses: [503], phase: 'before' } });
    expect((await list(e)).status).toBe(503);
    expect((await admin(e, 'GET', '/admin/faults')).json.faults).toHaveLength(1);
    expect((await admin(e, 'DELETE', '/admin/faults/x')).status).toBe(204);
    expect((await admin(e, 'DELETE', '/admin/faults/x')).status).toBe(404);
    expect((await list(e)).status).toBe(200);

    const bad = await admin(e, 'POST', '/admin/faults', { error: { rate: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues[0].field).toBe('error.rate');

    const sdk = officialClient(e.url);
    const v = (await sdk.createVault(vaultBody('v', { resources: [server(SERVER_A)] }))).body.vault;
    expect((await admin(e, 'POST', '/admin/scripts', { match: 'next', outcome: 'never' })).status).toBe(201);
    const c = (await sdk.createCheckpoint({ checkpoint: { vault_id: v.id } })).body.checkpoint;
    const before = e.clock.now();
    expect((await admin(e, 'POST', '/admin/clock/advance', { ms: 60_000 })).json.now).toBe(before + 60_000);
    expect((await sdk.showCheckpoint(c.id)).body.checkpoint.status).toBe('protecting');
    expect((await admin(e, 'POST', `/admin/checkpoints/${c.id}/resolve`, { outcome: 'error', reason: 'disk gone' })).status).toBe(204);
    expect((await sdk.showCheckpoint(c.id)).body.checkpoint.status).toBe('error');

    expect((await admin(e, 'PUT', `/admin/vaults/${v.id}/status`, { status: 'lock' })).status).toBe(204);
    expect((await sdk.showVault(v.id)).body.vault.billing.status).toBe('lock');
    expect((await admin(e, 'PUT', `/admin/vaults/${v.id}/status`, { status: 'gone' })).status).toBe(400);

    const state = (await admin(e, 'GET', '/admin/state')).json;
    expect(state.requestCounts.byOperation.ShowCheckpoint).toBe(2);
    expect(state.objects).toMatchObject({ vaults: 1, checkpoints: 1, backups: 1 });
    expect((await admin(e, 'GET', '/admin/snapshot')).json.vaults[0].id).toBe(v.id);
    expect((await admin(e, 'DELETE', '/admin/request-counts')).status).toBe(204);
    expect((await admin(e, 'GET', '/admin/request-counts')).json.total).toBe(0);
    expect((await admin(e, 'POST', '/admin/seed', { seed: 9 })).status).toBe(204);
    expect((await admin(e, 'POST', '/admin/reset')).status).toBe(204);
    expect((await sdk.listVault()).body.count).toBe(0);
    expect((await admin(e, 'GET', '/admin/nope')).status).toBe(404);
  });
});
