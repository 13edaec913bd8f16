/**
 * A scriptable HTTP server on 127.0.0.1:0 that records every request (method, raw path, query,
 * headers, body) and answers from a test-supplied function. Also an INDEPENDENT AK/SK signature
 * verifier (cbr-api.md §9.3 recipe, written with URLSearchParams/encodeURIComponent rather than the
 * client's own encoder) so tests check what the gateway would check, not what our signer believes.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Raw request target, e.g. `/v3/p/backups?status=a&status=b`. */
  url: string;
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  /** Decoded query pairs in wire order. */
  queryPairs: Array<[string, string]>;
  headers: IncomingHttpHeaders;
  body: string;
  /** Index of the TCP connection that carried the request (keep-alive checks). */
  connection: number;
  receivedAt: number;
}

export interface Reply {
  status?: number;
  /** Names are case-insensitive; `null` removes a default header (e.g. `x-request-id`). */
  headers?: Record<string, string | null>;
  /** Objects are JSON-encoded. */
  body?: string | object;
  /** Wait before answering (timeouts). */
  delayMs?: number;
  /** Destroy the socket instead of answering (network error). */
  destroy?: boolean;
}

export type Responder = (req: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface LoopbackServer {
  url: string;
  requests: RecordedRequest[];
  respond(fn: Responder): void;
  connectionCount(): number;
  stop(): Promise<void>;
}

export async function startLoopbackServer(responder: Responder = () => ({ status: 200, body: {} })): Promise<LoopbackServer> {
  let fn = responder;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const socketIds = new WeakMap<Socket, number>();
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const query = q === -1 ? '' : url.slice(q + 1);
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url,
        path: q === -1 ? url : url.slice(0, q),
        query,
        queryPairs: [...new URLSearchParams(query)],
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        connection: socketIds.get(req.socket) ?? -1,
        receivedAt: Date.now(),
      };
      const index = requests.push(rec) - 1;
      void Promise.resolve()
        .then(() => fn(rec, index))
        .then(async (reply) => {
          if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
          if (reply.destroy) {
            req.socket.destroy();
            return;
          }
          const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
          const headers: Record<string, string> = {
            'x-request-id': `req-${index}`,
            ...(body && typeof reply.body === 'object' ? { 'content-type': 'application/json' } : {}),
          };
          for (const [k, v] of Object.entries(reply.headers ?? {})) {
            if (v === null) delete headers[k.toLowerCase()];
            else headers[k.toLowerCase()] = v;
          }
          if (!res.destroyed) {
            res.writeHead(reply.status ?? 200, headers);
            res.end(body);
          }
        })
        .catch((err: unknown) => {
          if (!res.destroyed) {
            res.writeHead(599, { 'content-type': 'text/plain' });
            res.end(String(err));
          }
        });
    });
  });
  server.on('connection', (s: Socket) => {
    socketIds.set(s, connections++);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(next) {
      fn = next;
    },
    connectionCount: () => connections,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ------------------------------------------------------------------ independent verifier

const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface VerifyResult {
  ok: boolean;
  reason?: string;
  ak?: string;
  signedHeaders?: string[];
  sdkDate?: string;
}

/**
 * Verifies `Authorization: SDK-HMAC-SHA256 ...` the way cbr-api.md §9.3 says the gateway does, from
 * the request as received (raw target, `Host` header, exact body bytes).
 */
export function verifyAkSk(req: RecordedRequest, secrets: Record<string, string>, now?: Date): VerifyResult {
  const auth = req.headers.authorization;
  const m = /^SDK-HMAC-SHA256 Access=([^,\s]+), SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$/.exec(auth ?? '');
  if (!m) return { ok: false, reason: `bad Authorization header: ${auth}` };
  const [, ak, signed, signature] = m as unknown as [string, string, string, string];
  const sk = secrets[ak];
  if (!sk) return { ok: false, reason: `unknown AK ${ak}` };
  const sdkDate = req.headers['x-sdk-date'];
  if (typeof sdkDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(sdkDate)) return { ok: false, reason: `bad X-Sdk-Date ${String(sdkDate)}` };
  if (now) {
    const t = Date.UTC(+sdkDate.slice(0, 4), +sdkDate.slice(4, 6) - 1, +sdkDate.slice(6, 8), +sdkDate.slice(9, 11), +sdkDate.slice(11, 13), +sdkDate.slice(13, 15));
    if (Math.abs(t - now.getTime()) > 15 * 60_000) return { ok: false, reason: 'X-Sdk-Date outside the 15 minute window' };
  }
  const names = signed.split(';');
  let uri = req.path
    .split('/')
    .map((seg) => rfc3986(decodeURIComponent(seg)))
    .join('/');
  if (!uri.endsWith('/')) uri += '/';
  const pairs = [...new URLSearchParams(req.query)].sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  const cq = pairs.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
  let ch = '';
  for (const n of names) {
    const v = req.headers[n];
    if (v === undefined) return { ok: false, reason: `signed header ${n} missing` };
    ch += `${n}:${(Array.isArray(v) ? v.join(',') : v).trim()}\n`;
  }
  const hex = (d: string | Buffer): string => createHash('sha256').update(d).digest('hex');
  const bodyHash = (req.headers['x-sdk-content-sha256'] as string | undefined) ?? hex(Buffer.from(req.body, 'utf8'));
  const cr = [req.method, uri, cq, ch, signed, bodyHash].join('\n');
  const sts = ['SDK-HMAC-SHA256', sdkDate, hex(cr)].join('\n');
  const expected = createHmac('sha256', sk).update(sts).digest();
  const ok = timingSafeEqual(expected, Buffer.from(signature, 'hex'));
  return { ok, ak, signedHeaders: names, sdkDate, ...(ok ? {} : { reason: 'signature mismatch' }) };
}
