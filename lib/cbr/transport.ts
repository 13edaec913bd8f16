/**
 * HTTP transport on undici, one keep-alive Agent per container (module scope, created on first use).
 * Through undici's public API only (`Agent` and `Dispatcher#request`), so a patch release of undici
 * cannot break it; the cost of its index at cold start is in README.md (Cold start).
 */
import { Agent } from 'undici';
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
  const res = await sharedDispatcher().request({
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
