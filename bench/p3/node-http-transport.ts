/**
 * What lib/cbr/transport.ts would cost on node:http instead of undici, measured without touching
 * lib/cbr (NOT shipped: the client uses undici by design, issue 2). The same `Transport` contract on
 * node:http / node:https with one keep-alive Agent per container. Node's HTTP client is already in the
 * runtime, so it costs 0 bundle bytes and almost no import time, against ~535 KB / ~60 ms for undici's
 * public index (issue 11). What undici gives the client and what this keeps: keep-alive pooling with
 * a socket cap (Agent maxSockets), per-attempt abort (signal), the whole body read as text. P3 bundles
 * lib/cbr with an esbuild plugin that swaps lib/cbr/transport.ts for this module (it exports the same
 * names), so the rest of the client is byte-for-byte the shipped one.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { HttpRequest, HttpResponse, Transport } from '../../lib/cbr/transport';

export type { HttpRequest, HttpResponse, Transport };

const agentOptions = { keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 16, maxFreeSockets: 16, scheduling: 'lifo' as const };

interface Target {
  send: typeof httpRequest;
  agent: HttpAgent;
  protocol: string;
  hostname: string;
  port: number;
}
/** Parsed once per origin (the client has one), with its keep-alive agent: no URL parsing per request. */
const targets = new Map<string, Target>();
function targetOf(origin: string): Target {
  let t = targets.get(origin);
  if (!t) {
    const u = new URL(origin);
    const secure = u.protocol === 'https:';
    t = {
      send: secure ? httpsRequest : httpRequest,
      agent: secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions),
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : secure ? 443 : 80,
    };
    targets.set(origin, t);
  }
  return t;
}

function flatten(h: NodeJS.Dict<string | string[]>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k in h) {
    const v = h[k];
    out[k] = Array.isArray(v) ? v.join(', ') : v; // node already lower-cases header names
  }
  return out;
}

export const nodeHttpTransport: Transport = (req: HttpRequest) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const { signal } = req;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const t = targetOf(req.origin);
    const headers: Record<string, string | number> = req.body === undefined ? req.headers : { ...req.headers, 'content-length': Buffer.byteLength(req.body) };
    // The abort is wired by hand (one listener, removed at the end) rather than with the `signal`
    // option, which costs an extra stream-level listener and its bookkeeping on every request.
    const onAbort = (): void => {
      r.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const r = t.send({ protocol: t.protocol, hostname: t.hostname, port: t.port, path: req.path, method: req.method, headers, agent: t.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      });
      res.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, headers: flatten(res.headers), text: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8') });
      });
    });
    signal.addEventListener('abort', onAbort, { once: true });
    r.on('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
    r.end(req.body);
  });

// Same export names as lib/cbr/transport.ts, so the swap needs no change anywhere else.
export const undiciTransport = nodeHttpTransport;
export function sharedDispatcher(): never {
  throw new Error('node:http transport: there is no undici dispatcher');
}
