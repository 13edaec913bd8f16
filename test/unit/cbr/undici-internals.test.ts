/**
 * lib/cbr/transport.ts deep-imports two undici internals (cold start: see that file). These tests fail
 * loudly if undici's internal layout or behaviour changes under us, and check the keep-alive dispatcher.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Agent from 'undici/lib/dispatcher/agent.js';
import undiciRequest from 'undici/lib/api/api-request.js';
import { createCbrClient } from '../../../lib/cbr/client';
import { sharedDispatcher, undiciTransport } from '../../../lib/cbr/transport';
import { startLoopbackServer } from '../../helpers/loopback-server';
import type { LoopbackServer } from '../../helpers/loopback-server';
import { AK, P, SK, VAULT, VAULT_ID } from './fixtures';

const require = createRequire(import.meta.url);
let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer(() => ({ status: 200, body: { vault: VAULT } }));
});
afterAll(() => server.stop());

describe('undici internal layout (pinned 7.30.2)', () => {
  it('is the pinned version', () => {
    const pkg = JSON.parse(readFileSync(require.resolve('undici/package.json'), 'utf8')) as { version: string; exports?: unknown };
    expect(pkg.version).toBe('7.30.2');
    // no "exports" map: deep paths stay resolvable by Node, vitest and esbuild
    expect(pkg.exports).toBeUndefined();
  });

  it('lib/dispatcher/agent.js is the public Agent class', () => {
    const undici = require('undici') as { Agent: unknown; Dispatcher: { prototype: { request: unknown } } };
    expect(require('undici/lib/dispatcher/agent.js')).toBe(undici.Agent);
    expect(typeof Agent).toBe('function');
    const a = new Agent();
    expect(typeof a.dispatch).toBe('function');
    expect(typeof a.close).toBe('function');
    void a.close();
  });

  it('lib/api/api-request.js is the function undici installs as Dispatcher.prototype.request', () => {
    const undici = require('undici') as { Dispatcher: { prototype: { request: unknown } } };
    expect(typeof undiciRequest).toBe('function');
    expect(undici.Dispatcher.prototype.request).toBe(require('undici/lib/api/api-request.js'));
  });

  it('request.call(agent, {origin, path}) performs a real request', async () => {
    const res = await undiciRequest.call(sharedDispatcher(), { origin: server.url, path: '/x', method: 'GET' });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await res.body.text())).toEqual({ vault: VAULT });
  });
});

describe('keep-alive dispatcher per container', () => {
  it('sharedDispatcher() is created once and reused', () => {
    expect(sharedDispatcher()).toBe(sharedDispatcher());
  });

  it('two clients, six sequential calls: connections are kept alive and shared', async () => {
    const before = server.connectionCount();
    server.requests.length = 0;
    const mk = () => createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'aksk', ak: AK, sk: SK } });
    const a = mk();
    const b = mk();
    for (let i = 0; i < 3; i++) {
      await a.showVault(VAULT_ID);
      await b.showVault(VAULT_ID);
    }
    expect(server.requests).toHaveLength(6);
    // sockets are reused (undici may open a second one when the next request is dispatched in the
    // same tick the previous response finished, but never one per request)
    expect(new Set(server.requests.map((r) => r.connection)).size).toBeLessThanOrEqual(2);
    expect(server.connectionCount() - before).toBeLessThanOrEqual(2);
  });

  it('the transport always consumes the body and lower-cases response headers', async () => {
    server.respond(() => ({ status: 418, headers: { 'X-Request-Id': 'abc', 'Retry-After': '1' }, body: 'teapot' }));
    try {
      const res = await undiciTransport({ origin: server.url, path: '/t', method: 'GET', headers: {}, signal: new AbortController().signal });
      expect(res).toMatchObject({ status: 418, text: 'teapot' });
      expect(res.headers['x-request-id']).toBe('abc');
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      server.respond(() => ({ status: 200, body: { vault: VAULT } }));
    }
  });
});
