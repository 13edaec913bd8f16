/**
 * HTTP transport on undici, one keep-alive Agent per container (module scope, created on first use).
 *
 * Deep imports instead of `import { Agent, request } from 'undici'`: undici's index is not
 * tree-shaken and pulls mock, cache, fetch, interceptors... Measured here (esbuild 0.28.2 minified
 * CJS, Node 20.20, median of 11 fresh `node -e require(...)`, NODE_EXTRA_CA_CERTS unset, baseline
 * `node -e 0` 28-30 ms): index 535 KB / 95 ms; these two files 293 KB / 52 ms. A function importing
 * only this client: 415 KB / 72-78 ms this way, 658 KB / 120-131 ms with the index. undici has no `exports`
 * map, so the paths resolve in Node, vitest and esbuild alike; the version is pinned and
 * test/unit/cbr/undici-internals.test.ts breaks loudly if the layout changes.
 */
import Agent from 'undici/lib/dispatcher/agent.js';
import undiciRequest from 'undici/lib/api/api-request.js';
import type { Dispatcher } from 'undici';

let shared: Dispatcher | undefined;

/** The container-wide keep-alive dispatcher (lazily created, then reused by every client). */
export function sharedDispatcher(): Dispatcher {
  // Sockets per origin are opened only as callers need them, so the cap is just a safety net: it must
  // stay above the callers' own concurrency (checker CHECK_CONCURRENCY <= 256). At 16 it silently
  // queued the checker's calls: 16 in flight at 50 ms = 320 req/s whatever C (bench P1).
  shared ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: 256 });
  return shared;
}

export interface HttpRequest {
  origin: string;
  /** Path and query, already encoded. */
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
}

export type Transport = (req: HttpRequest) => Promise<HttpResponse>;

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Sends one request and reads the whole body as text (always consumed, so the socket is reused). */
export const undiciTransport: Transport = async (req) => {
  const res = await undiciRequest.call(sharedDispatcher(), {
    origin: req.origin,
    path: req.path,
    method: req.method as Dispatcher.HttpMethod,
    headers: req.headers,
    body: req.body,
    signal: req.signal,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: flattenHeaders(res.headers), text };
};
