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
 *
 * Cost: this runs on every attempt of every CBR call, so the common case is kept cheap (bench P3's CPU
 * profile, bench/p3/profile.ts): a path or query component made only of unreserved characters (every
 * CBR path: validated ids) is its own canonical form and skips decoding/re-encoding; other components
 * are decoded run by run, not character by character; headers are lower-cased and validated once; the
 * URL is split once and the host of an origin parsed once; the date is sliced out of toISOString().
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
  const iso = date.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ, or ±YYYYYY-... outside years 0..9999
  if (iso.length !== 24) throw new TypeError('signRequest: date out of range (X-Sdk-Date needs a 4-digit year)');
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

const HEX = Array.from({ length: 256 }, (_, i) => `%${i.toString(16).toUpperCase().padStart(2, '0')}`);
/** Only RFC 3986 unreserved characters: such a string is its own percent-encoding. */
const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
/** A path of unreserved segments: its own canonical URI (modulo the trailing slash). */
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;
const BAD_HEADER_VALUE = /[\r\n\0]/;

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
  return UNRESERVED.test(value) ? value : encodeBytes(Buffer.from(value, 'utf8'));
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * Byte-exact percent-decoding: invalid `%` sequences are kept literally (never throws). The literal
 * text between escapes is UTF-8-encoded a run at a time (a lone surrogate becomes U+FFFD, as in
 * Buffer.from); `+` is a space only in the query.
 */
function percentDecode(raw: string, plusIsSpace: boolean): Buffer {
  const bytes: number[] = [];
  let literal = 0; // start of the literal run not yet copied
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    const escape = c === 0x25 /* % */ && i + 2 < raw.length && isHexDigit(raw.charCodeAt(i + 1)) && isHexDigit(raw.charCodeAt(i + 2));
    if (!escape && !(c === 0x2b /* + */ && plusIsSpace)) continue;
    if (literal < i) for (const b of Buffer.from(raw.slice(literal, i), 'utf8')) bytes.push(b);
    if (escape) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(0x20);
    }
    literal = i + 1;
  }
  if (literal < raw.length) for (const b of Buffer.from(raw.slice(literal), 'utf8')) bytes.push(b);
  return Buffer.from(bytes);
}

interface UrlParts {
  /** WHATWG host: lowercase, default port (80/443) dropped, other ports kept: what undici sends. */
  host: string;
  /** Raw path and query, exactly as on the wire. */
  path: string;
  query: string;
}

const URL_PARTS = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(?:\?([^#]*))?/;

/** Host per `scheme://authority`: a client talks to one or two origins, so each is parsed once. */
const hostByOrigin = new Map<string, string>();

function splitUrl(url: string): UrlParts {
  // The raw path/query are taken from the string itself: `new URL()` would resolve dot segments and
  // re-encode characters, i.e. sign something other than what goes on the wire.
  const m = URL_PARTS.exec(url);
  if (!m) throw new TypeError('signRequest: url must be absolute (scheme://host/path)');
  // The host depends on `scheme://authority` alone. The first URL of an origin is parsed whole, which
  // also rejects an invalid one (ERR_INVALID_URL) before anything is signed.
  const origin = m[1]!;
  let host = hostByOrigin.get(origin);
  if (host === undefined) {
    host = new URL(url).host;
    if (hostByOrigin.size >= 32) hostByOrigin.clear();
    hostByOrigin.set(origin, host);
  }
  return { host, path: m[2] ?? '', query: m[3] ?? '' };
}

export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  const encoded = UNRESERVED_PATH.test(rawPath)
    ? rawPath
    : rawPath
        .split('/')
        .map((segment) => (UNRESERVED.test(segment) ? segment : encodeBytes(percentDecode(segment, false))))
        .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A query key or value: its decoded text (the sort key) and its canonical encoding. */
function queryComponent(raw: string): { text: string; encoded: string } {
  if (UNRESERVED.test(raw)) return { text: raw, encoded: raw };
  const bytes = percentDecode(raw, true);
  return { text: bytes.toString('utf8'), encoded: encodeBytes(bytes) };
}

export function canonicalQueryString(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return { k: queryComponent(eq === -1 ? part : part.slice(0, eq)), v: queryComponent(eq === -1 ? '' : part.slice(eq + 1)) };
    });
  pairs.sort((a, b) => compareUtf16(a.k.text, b.k.text) || compareUtf16(a.v.text, b.v.text));
  return pairs.map((p) => `${p.k.encoded}=${p.v.encoded}`).join('&');
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function checkHeaderValue(lowerName: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`signRequest: header "${lowerName}" must be a string`);
  if (BAD_HEADER_VALUE.test(value)) throw new TypeError(`signRequest: header "${lowerName}" contains a line break or NUL`);
  return value;
}

/** Lower-cased name -> validated value. */
function lowerCaseHeaders(headers: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (out.has(lower)) throw new TypeError(`signRequest: header "${lower}" given twice (names are case-insensitive)`);
    out.set(lower, checkHeaderValue(lower, headers[name]));
  }
  return out;
}

/**
 * The algorithm proper, on already validated input: `names` lowercase, sorted, deduplicated, each one
 * present in `headers` (lowercase names).
 */
function sign(
  method: string,
  url: UrlParts,
  headers: ReadonlyMap<string, string>,
  names: readonly string[],
  body: string | Uint8Array | undefined,
  sdkDate: string,
  creds: Pick<SigningCredentials, 'ak' | 'sk'>,
): CanonicalSignature {
  let canonicalHeaders = '';
  for (const name of names) canonicalHeaders += `${name}:${headers.get(name)!.trim()}\n`;
  const signedHeaders = names.join(';');
  const payloadHash = headers.get('x-sdk-content-sha256') ?? (body === undefined || body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(body));
  const canonicalRequest = `${method}\n${canonicalUri(url.path)}\n${canonicalQueryString(url.query)}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
  const stringToSign = `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequest)}`;
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
 * The algorithm of cbr-api.md §9.1 with an explicit list of headers to sign. The body hash is the
 * `X-Sdk-Content-Sha256` header when present (e.g. `UNSIGNED-PAYLOAD`), else SHA-256 of the body bytes.
 */
export function signCanonicalRequest(input: CanonicalRequestInput, creds: Pick<SigningCredentials, 'ak' | 'sk'>): CanonicalSignature {
  const headers = lowerCaseHeaders(input.headers);
  const sdkDate = headers.get('x-sdk-date');
  if (sdkDate === undefined) throw new TypeError('signRequest: X-Sdk-Date header is required');
  const names = [...new Set(input.signedHeaders.map((n) => n.toLowerCase()))].sort(compareUtf16);
  if (names.length === 0) throw new TypeError('signRequest: at least one header must be signed');
  for (const name of names) {
    if (!headers.has(name)) throw new TypeError(`signRequest: signed header "${name}" is missing`);
  }
  return sign(input.method, splitUrl(input.url), headers, names, input.body, sdkDate, creds);
}

/** What {@link signRequest} returns: the headers to add to the request. */
export type SignatureHeaders = Record<string, string> & { 'X-Sdk-Date': string; Authorization: string };

/** Set by the signer only: passing one in is an error. */
const SIGNER_HEADERS = ['x-sdk-date', 'authorization', 'x-security-token'] as const;

/**
 * Signs a request the way the official Node SDK does: every header passed in, plus `host` (from the
 * URL unless a `host` header is given), `X-Sdk-Date` (from `now`) and `X-Security-Token` (when the
 * credentials carry one). Returns ONLY the headers to add: `X-Sdk-Date`, `Authorization` and, when
 * given, `X-Security-Token`. `host` is not returned: the HTTP client sends it from the same URL.
 *
 * The date always comes from `now`: passing `X-Sdk-Date` or `Authorization` in is an error, so a retry
 * can never go out with a stale date.
 */
export function signRequest(req: SignableRequest, creds: SigningCredentials, now: Date = new Date()): SignatureHeaders {
  if (!creds.ak || !creds.sk) throw new TypeError('signRequest: ak and sk are required');
  const headers = lowerCaseHeaders(req.headers);
  for (const reserved of SIGNER_HEADERS) {
    if (headers.has(reserved)) throw new TypeError(`signRequest: do not pass "${reserved}", it is set by the signer`);
  }
  const sdkDate = formatSdkDate(now);
  const url = splitUrl(req.url);
  if (!headers.has('host')) headers.set('host', url.host);
  headers.set('x-sdk-date', sdkDate);
  const token = creds.securityToken ? checkHeaderValue('x-security-token', creds.securityToken) : undefined;
  if (token !== undefined) headers.set('x-security-token', token);
  const { authorization } = sign(req.method, url, headers, [...headers.keys()].sort(compareUtf16), req.body, sdkDate, creds);
  const added: Record<string, string> = { 'X-Sdk-Date': sdkDate };
  if (token !== undefined) added['X-Security-Token'] = token;
  added.Authorization = authorization;
  return added as SignatureHeaders;
}
