/**
 * Huawei Cloud API Gateway AK/SK signing, algorithm "SDK-HMAC-SHA256" (cbr-api.md §9).
 *
 * Hand-written on purpose: the only library that does this is the official
 * `@huaweicloud/huaweicloud-sdk-core`, which drags axios, lodash, moment and log4js into the bundle
 * (543 KB, ~149 ms cold import, tooling.md §7). The algorithm is ~100 lines on top of node:crypto and
 * is checked against the official vectors and the official signer itself (test/unit/cbr/signer*.test.ts).
 *
 * Two layers:
 *  - {@link signCanonicalRequest}: the raw algorithm with an explicit signed-header list, used as-is
 *    to reproduce the Go SDK's vectors (it signs only `x-sdk-date` and no `host`);
 *  - {@link signRequest}: what the client uses: signs every header passed in plus `host` (taken from
 *    the URL) and `X-Sdk-Date` (and `X-Security-Token`), like the official Node SDK.
 *
 * Deliberate differences from the official Node signer (each one covered by a test):
 *  1. Canonical URI: each path segment is percent-DECODED, then encoded with the unreserved set (the
 *     way the Python SDK and the emulator recipe of §9.3 do). The Node SDK re-encodes the already
 *     encoded `url.parse().pathname`, so a space becomes `%2520` there and `%20` here. CBR paths are
 *     built from validated UUID/hex ids, so the two never differ for a real CBR call.
 *  2. Header values are trimmed (Go, Python and the gateway see trimmed values; HTTP strips OWS on the
 *     wire), the Node SDK signs them verbatim.
 *  3. The query is read from the URL (`+` = space, like the gateway/emulator), not from a params
 *     object; keys then values are sorted by their decoded text in UTF-16 order, exactly like the
 *     Node SDK's `keys.sort()` / `values.sort()`.
 */
import { createHash, createHmac } from 'node:crypto';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SigningCredentials {
  ak: string;
  sk: string;
  /** Temporary credentials only: sent (and signed) as `X-Security-Token`. */
  securityToken?: string;
}

export interface SignableRequest {
  method: string;
  /** Absolute URL exactly as it goes on the wire (path and query already percent-encoded). */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface CanonicalRequestInput {
  method: string;
  url: string;
  /** Must contain `X-Sdk-Date` and every header named in `signedHeaders` (names case-insensitive). */
  headers: Record<string, string>;
  /** Header names to sign, any case, any order. */
  signedHeaders: readonly string[];
  body?: string | Uint8Array;
}

export interface CanonicalSignature {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  /** `a;b;c`: lowercase, sorted. */
  signedHeaders: string;
  authorization: string;
}

/** `20240115T103000Z`: UTC, no separators, no milliseconds. */
export function formatSdkDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new TypeError('signRequest: invalid date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

const HEX = Array.from({ length: 256 }, (_, i) => `%${i.toString(16).toUpperCase().padStart(2, '0')}`);

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e // - _ . ~
  );
}

function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += isUnreserved(b) ? String.fromCharCode(b) : HEX[b];
  return out;
}

/**
 * RFC 3986 encoding of UTF-8 bytes: everything but `A-Z a-z 0-9 - _ . ~` becomes `%XX` (uppercase).
 * Used both for the canonical request and for building wire URLs, so the two always agree.
 * (Lone UTF-16 surrogates become U+FFFD, as in Buffer.from.)
 */
export function percentEncode(value: string): string {
  return encodeBytes(Buffer.from(value, 'utf8'));
}

/** Byte-exact percent-decoding: invalid `%` sequences are kept literally (never throws). */
function percentDecode(raw: string, plusIsSpace: boolean): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '%' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch === '+' && plusIsSpace) {
      bytes.push(0x20);
    } else {
      const cp = raw.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}

interface UrlParts {
  host: string;
  path: string;
  query: string;
}

function splitUrl(url: string): UrlParts {
  // The raw path/query are taken from the string itself: `new URL()` would resolve dot segments and
  // re-encode characters, i.e. sign something other than what goes on the wire.
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*([^?#]*)(?:\?([^#]*))?/.exec(url);
  if (!m) throw new TypeError('signRequest: url must be absolute (scheme://host/path)');
  // WHATWG host: lowercase, default port (80/443) dropped, other ports kept: what undici sends.
  const host = new URL(url).host;
  return { host, path: m[1] ?? '', query: m[2] ?? '' };
}

export function canonicalUri(rawPath: string): string {
  const path = rawPath === '' ? '/' : rawPath;
  const encoded = path
    .split('/')
    .map((segment) => encodeBytes(percentDecode(segment, false)))
    .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function canonicalQueryString(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const k = percentDecode(eq === -1 ? part : part.slice(0, eq), true);
      const v = percentDecode(eq === -1 ? '' : part.slice(eq + 1), true);
      return { sortKey: k.toString('utf8'), sortValue: v.toString('utf8'), k: encodeBytes(k), v: encodeBytes(v) };
    });
  pairs.sort((a, b) => compareUtf16(a.sortKey, b.sortKey) || compareUtf16(a.sortValue, b.sortValue));
  return pairs.map((p) => `${p.k}=${p.v}`).join('&');
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function lowerCaseHeaders(headers: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (out.has(lower)) throw new TypeError(`signRequest: header "${lower}" given twice (names are case-insensitive)`);
    if (typeof value !== 'string') throw new TypeError(`signRequest: header "${lower}" must be a string`);
    if (/[\r\n\0]/.test(value)) throw new TypeError(`signRequest: header "${lower}" contains a line break or NUL`);
    out.set(lower, value);
  }
  return out;
}

/**
 * The algorithm of cbr-api.md §9.1 with an explicit list of headers to sign. The body hash is the
 * `X-Sdk-Content-Sha256` header when present (e.g. `UNSIGNED-PAYLOAD`), else SHA-256 of the body bytes.
 */
export function signCanonicalRequest(input: CanonicalRequestInput, creds: Pick<SigningCredentials, 'ak' | 'sk'>): CanonicalSignature {
  const headers = lowerCaseHeaders(input.headers);
  const sdkDate = headers.get('x-sdk-date');
  if (sdkDate === undefined) throw new TypeError('signRequest: X-Sdk-Date header is required');
  const names = [...new Set(input.signedHeaders.map((n) => n.toLowerCase()))].sort(compareUtf16);
  if (names.length === 0) throw new TypeError('signRequest: at least one header must be signed');
  let canonicalHeaders = '';
  for (const name of names) {
    const value = headers.get(name);
    if (value === undefined) throw new TypeError(`signRequest: signed header "${name}" is missing`);
    canonicalHeaders += `${name}:${value.trim()}\n`;
  }
  const signedHeaders = names.join(';');
  const { path, query } = splitUrl(input.url);
  const payloadHash =
    headers.get('x-sdk-content-sha256') ??
    (input.body === undefined || input.body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(input.body));
  const canonicalRequest = [
    input.method,
    canonicalUri(path),
    canonicalQueryString(query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const stringToSign = [SIGNING_ALGORITHM, sdkDate, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', creds.sk).update(stringToSign).digest('hex');
  return {
    canonicalRequest,
    stringToSign,
    signature,
    signedHeaders,
    authorization: `${SIGNING_ALGORITHM} Access=${creds.ak}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/**
 * Signs a request the way the official Node SDK does: every header passed in, plus `host` (from the
 * URL unless a `host` header is given), `X-Sdk-Date` (from `now`) and `X-Security-Token` (when the
 * credentials carry one). Returns ONLY the headers to add: `X-Sdk-Date`, `Authorization` and, when
 * given, `X-Security-Token`. `host` is not returned: the HTTP client sends it from the same URL.
 *
 * The date always comes from `now`: passing `X-Sdk-Date` or `Authorization` in is an error, so a retry
 * can never go out with a stale date.
 */
export type SignatureHeaders = Record<string, string> & { 'X-Sdk-Date': string; Authorization: string };

export function signRequest(req: SignableRequest, creds: SigningCredentials, now: Date = new Date()): SignatureHeaders {
  if (!creds.ak || !creds.sk) throw new TypeError('signRequest: ak and sk are required');
  const given = lowerCaseHeaders(req.headers);
  for (const reserved of ['x-sdk-date', 'authorization', 'x-security-token']) {
    if (given.has(reserved)) throw new TypeError(`signRequest: do not pass "${reserved}", it is set by the signer`);
  }
  const added: Record<string, string> & { 'X-Sdk-Date': string } = { 'X-Sdk-Date': formatSdkDate(now) };
  if (creds.securityToken) added['X-Security-Token'] = creds.securityToken;
  const all: Record<string, string> = { ...req.headers, ...added };
  if (!given.has('host')) all.host = splitUrl(req.url).host;
  const { authorization } = signCanonicalRequest(
    { method: req.method, url: req.url, headers: all, signedHeaders: Object.keys(all), body: req.body },
    creds,
  );
  return { ...added, Authorization: authorization };
}
