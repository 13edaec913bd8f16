/**
 * lib/cbr/transport.ts: undici through its public API only (`Agent`, `Dispatcher#request`); one
 * keep-alive dispatcher per container, bodies always consumed, headers lower-cased.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { createCbrClient } from '../../../lib/cbr/client';
import { sharedDispatcher, undiciTransport } from '../../../lib/cbr/transport';
import { startLoopbackServer } from '../../helpers/loopback-server';
import type { LoopbackServer } from '../../helpers/loopback-server';
import { AK, P, SK, VAULT, VAULT_ID } from './fixtures';

const root = join(import.meta.dirname, '../../..');
let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer(() => ({ status: 200, body: { vault: VAULT } }));
});
afterAll(() => server.stop());

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mts|cts|mjs|cjs)$/.test(f) ? [p] : [];
  });
}

describe('undici through its public API only', () => {
  it('no source file imports a private undici path (a patch release may move them)', () => {
    const files = ['lib', 'functions', 'local', 'emulator', 'bench', 'scripts', 'test'].flatMap((d) => sources(join(root, d)));
    expect(files.length).toBeGreaterThan(50);
    const deep = files.filter((f) => /(from\s+|import\(|require\()['"]undici\/|declare module ['"]undici\//.test(readFileSync(f, 'utf8')));
    expect(deep).toEqual([]);
  });

  it('the shared dispatcher is a public undici Agent and performs a real request', async () => {
    expect(sharedDispatcher()).toBeInstanceOf(Agent);
    const res = await undiciTransport({ origin: server.url, path: '/x', method: 'GET', headers: {}, signal: new AbortController().signal });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ vault: VAULT });
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
