/**
 * Test helpers for the emulator (the official SDK driver is in ./sdk):
 *  - `raw`: hand-built requests with a small signer of our own (written independently of emulator/sigv.ts)
 *    for edge cases the SDK never produces: Go-style signed headers, a Go trailing newline, bad dates,
 *    tampering.
 */
import { createHash, createHmac } from 'node:crypto';
import { request } from 'undici';
import { DEMO } from '../../emulator/index';

// ---- independent raw signer ------------------------------------------------------------------------

/** RFC 3986 strict encoding of one component (encodeURIComponent leaves !'()* alone; the signing spec does not). */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function sdkDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** Signs with the given signed-header list (lowercase names, any order). Returns the Authorization value. */
export function rawAuthorization(o: {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | Buffer;
  ak: string;
  sk: string;
  signed: string[];
}): string {
  const lower = Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const signed = [...o.signed].sort();
  let uri = o.path.split('/').map((seg) => enc(decodeURIComponent(seg))).join('/');
  if (!uri.endsWith('/')) uri += '/';
  const pairs = o.query === '' ? [] : o.query.split('&').map((kv) => {
    const [k, v = ''] = kv.split('=');
    return [enc(decodeURIComponent(k!.replace(/\+/g, ' '))), enc(decodeURIComponent(v.replace(/\+/g, ' ')))] as const;
  });
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  const canonical = [
    o.method,
    uri,
    pairs.map(([k, v]) => `${k}=${v}`).join('&'),
    signed.map((h) => `${h}:${(lower[h] ?? '').trim()}\n`).join(''),
    signed.join(';'),
    lower['x-sdk-content-sha256'] ?? createHash('sha256').update(o.body).digest('hex'),
  ].join('\n');
  const sts = `SDK-HMAC-SHA256\n${lower['x-sdk-date']}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const sig = createHmac('sha256', o.sk).update(sts).digest('hex');
  return `SDK-HMAC-SHA256 Access=${o.ak}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RawRequest {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sign the request. style 'node' signs content-type;host;x-project-id;x-sdk-date, 'go' signs user-agent;x-project-id;x-sdk-date. */
  sign?: {
    ak?: string;
    sk?: string;
    date?: Date;
    style?: 'node' | 'go';
    projectId?: string;
    /** Change the request after signing (tampering tests). */
    tamper?: (r: { path: string; query: string; headers: Record<string, string>; body: string | Buffer }) => void;
  };
}

export async function raw(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const method = r.method ?? 'GET';
  const host = new URL(baseUrl).host;
  let path = r.path;
  let query = r.query ?? '';
  let body: string | Buffer = r.body ?? '';
  let headers: Record<string, string> = { ...r.headers };
  if (r.sign) {
    const s = r.sign;
    const style = s.style ?? 'node';
    headers = {
      ...(style === 'node' ? { 'content-type': 'application/json' } : { 'user-agent': 'huaweicloud-usdk-go/3.0', 'content-type': 'application/json;charset=UTF-8' }),
      'x-project-id': s.projectId ?? DEMO.projectId,
      'x-sdk-date': sdkDate(s.date ?? new Date()),
      ...headers,
    };
    const signed = style === 'node' ? ['content-type', 'host', 'x-project-id', 'x-sdk-date'] : ['user-agent', 'x-project-id', 'x-sdk-date'];
    if (headers['x-sdk-content-sha256'] !== undefined) signed.push('x-sdk-content-sha256'); // signed like every present header
    headers.authorization = rawAuthorization({
      method,
      path,
      query,
      headers: { ...headers, host },
      body,
      ak: s.ak ?? DEMO.ak,
      sk: s.sk ?? DEMO.sk,
      signed,
    });
    if (s.tamper) {
      const t = { path, query, headers, body };
      s.tamper(t);
      ({ path, query, headers, body } = t);
    }
  }
  const res = await request(`${baseUrl}${path}${query ? `?${query}` : ''}`, {
    method: method as 'GET',
    headers,
    ...(body === '' ? {} : { body }),
  });
  const text = await res.body.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Body of the seed walk-through's first CreateVault (pay-per-use, no resources). */
export function vaultBody(name = 'my_vault', extra: Record<string, unknown> = {}, billing: Record<string, unknown> = {}) {
  return {
    vault: {
      billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 200, ...billing },
      name,
      resources: [],
      ...extra,
    },
  };
}

export const SERVER_A = DEMO.servers[0].id; // ecs-9f93-0002, 40 GB, 1 disk
export const SERVER_B = DEMO.servers[1].id; // ecs-web-01, 140 GB, 2 disks
export const SERVER_C = DEMO.servers[2].id; // ecs-db-01, 250 GB, 2 disks
export const SERVER_D = DEMO.servers[3].id; // ecs-app-01, 40 GB
export const VOLUME_A = DEMO.volumes[0].id; // evs-archive-01, 100 GB
export const VOLUME_B = DEMO.volumes[1].id; // evs-logs-01, 20 GB
export const PEER_SERVER = DEMO.peer.servers[0].id;
export const server = (id: string, name?: string) => ({ id, type: 'OS::Nova::Server' as const, ...(name ? { name } : {}) });
export const volume = (id: string) => ({ id, type: 'OS::Cinder::Volume' as const });
