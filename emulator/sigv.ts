/**
 * Verification side of Huawei Cloud "SDK-HMAC-SHA256" (reference cbr-api.md §9.1 and the §9.3 recipe).
 * Written independently of lib/cbr on purpose: a bug in the client's signer must not be hidden by the
 * same bug here. It is driven entirely by the request's own SignedHeaders, so the Node SDK
 * (content-type;host;x-project-id;x-sdk-date) and the Go SDK (user-agent;x-project-id;x-sdk-date, body with
 * a trailing newline) both verify.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const AUTH_RE = /^SDK-HMAC-SHA256 Access=([^,\s]+), SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$/;
const DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

// Unreserved set A-Z a-z 0-9 - _ . ~ ; everything else becomes %XX (uppercase, UTF-8), as all three SDKs do.
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') UNRESERVED[c.charCodeAt(0)] = 1;

export function uriEncode(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || UNRESERVED[c] !== 1) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte < 128 && UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

function decode(component: string, plusIsSpace: boolean): string {
  const s = plusIsSpace ? component.replace(/\+/g, ' ') : component;
  return s.includes('%') ? decodeURIComponent(s) : s;
}

/** Each '/'-segment percent-decoded then re-encoded; a trailing '/' is always appended. */
export function canonicalUri(rawPath: string): string {
  const encoded = rawPath
    .split('/')
    .map((segment) => uriEncode(decode(segment, false)))
    .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/** Raw query (without '?'): pairs decoded, sorted by encoded key then encoded value, re-encoded. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(decode(key, true)), uriEncode(decode(value, true))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export interface SignableRequest {
  method: string;
  /** Path exactly as received, without the query. */
  rawPath: string;
  /** Query exactly as received, without the '?'. */
  rawQuery: string;
  /** Lower-case header names (Node's IncomingMessage.headers). */
  headers: Record<string, string | string[] | undefined>;
  /** Exact body bytes received. */
  body: Buffer;
}

function headerValue(headers: SignableRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function canonicalRequest(req: SignableRequest, signedHeaders: readonly string[]): string | undefined {
  let headerBlock = '';
  for (const name of signedHeaders) {
    const value = headerValue(req.headers, name);
    if (value === undefined) return undefined; // a signed header that did not arrive can never verify
    headerBlock += `${name}:${value.trim()}\n`;
  }
  const payloadHash = headerValue(req.headers, 'x-sdk-content-sha256') ?? (req.body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(req.body));
  return [req.method, canonicalUri(req.rawPath), canonicalQuery(req.rawQuery), headerBlock, signedHeaders.join(';'), payloadHash].join('\n');
}

export function signatureFor(sk: string, sdkDate: string, canonical: string): string {
  const stringToSign = `${ALGORITHM}\n${sdkDate}\n${sha256Hex(canonical)}`;
  return createHmac('sha256', sk).update(stringToSign).digest('hex');
}

export interface ParsedAuthorization {
  ak: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = AUTH_RE.exec(value.trim());
  if (!m) return undefined;
  return { ak: m[1]!, signedHeaders: m[2]!.toLowerCase().split(';'), signature: m[3]! };
}

/** `YYYYMMDDTHHMMSSZ` -> epoch ms, or undefined when malformed. */
export function parseSdkDate(value: string): number | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatSdkDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Constant-time comparison of two lowercase hex signatures. */
export function signaturesEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

export type VerifyOutcome =
  | { ok: true }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'unsigned-date' | 'bad-encoding' };

/** Verifies the signature against a known secret key. Date-window checks are the caller's. */
export function verifySignature(req: SignableRequest, auth: ParsedAuthorization, sk: string, sdkDate: string): VerifyOutcome {
  let canonical: string | undefined;
  try {
    canonical = canonicalRequest(req, auth.signedHeaders);
  } catch {
    return { ok: false, reason: 'bad-encoding' }; // malformed percent-encoding in path or query
  }
  if (canonical === undefined) return { ok: false, reason: 'bad-signature' };
  const expected = signatureFor(sk, sdkDate, canonical);
  return signaturesEqual(expected, auth.signature) ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
