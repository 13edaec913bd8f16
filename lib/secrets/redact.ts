/**
 * Redaction of secrets from anything that may be logged or returned: structured log fields, error
 * messages and their `cause` chains. Two rules, both always applied:
 *
 * 1. Every occurrence of a KNOWN secret value (AK/SK, IAM password, token, webhook key — registered by
 *    the secret loader when it reads them) inside any string is replaced by `[REDACTED]`, wherever it
 *    hides (a URL, an error message, a nested object, an Error's cause).
 * 2. The value of a SENSITIVE KEY (`Authorization`, `X-Auth-Token`, `X-Security-Token`,
 *    `webhook-signature`, `password`, `sk`, `secret*`, ...) is replaced whole, whatever it is, because
 *    such values are often derived from secrets (signatures, fresh IAM tokens) and not known up front.
 *
 * Hand-written: the maintained log redactors (pino's fast-redact, ...) redact by configured paths only,
 * not by value, and would add a logger dependency to every bundle; this is ~100 lines and has no deps.
 */

import type { Logger } from '../ports';

export const REDACTED = '[REDACTED]';

/** Known secret values shorter than this are ignored (replacing "a" everywhere would destroy logs). */
export const MIN_SECRET_LENGTH = 4;

const SENSITIVE_EXACT = new Set([
  'authorization',
  'proxyauthorization',
  'xauthtoken',
  'xsubjecttoken',
  'xsecuritytoken',
  'securitytoken',
  'webhooksignature',
  'password',
  'passwd',
  'sk',
  'cookie',
  'setcookie',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'apikey',
  'privatekey',
  'notifyurl',
]);
/** `secretName`, `secretId`, `secretArn`, `secretRef` name a secret, they are not one. */
const SECRET_NAME_KEY = /^secret(name|id|arn|ref)s?$/;

/** Whether a field with this name holds a credential (case, `-` and `_` ignored). */
export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_\s]/g, '');
  if (SENSITIVE_EXACT.has(k)) return true;
  if (SECRET_NAME_KEY.test(k)) return false;
  return k.startsWith('secret') || k.endsWith('secret') || k.endsWith('password');
}

/**
 * The strings to search for: each secret plus the forms it takes when embedded elsewhere (URL-encoded,
 * JSON-escaped, and a `whsec_` key's base64 body), longest first so a longer secret that contains a
 * shorter one is replaced whole.
 */
export function secretNeedles(secrets: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) continue;
    out.add(s);
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out.add(encoded);
    const json = JSON.stringify(s).slice(1, -1);
    if (json !== s) out.add(json);
    if (s.startsWith('whsec_') && s.length - 6 >= MIN_SECRET_LENGTH) out.add(s.slice(6));
  }
  return [...out].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, needles: readonly string[]): string {
  let out = text;
  for (const n of needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
  return out;
}

/** `text` with every known secret (and its encoded forms) replaced. */
export function redactText(text: string, secrets: Iterable<string>): string {
  return replaceAll(text, secretNeedles(secrets));
}

export interface RedactOptions {
  /** Include `stack` of errors (redacted). Default false: messages and causes are enough for logs. */
  stack?: boolean;
  /** Nesting depth past which values become '[Truncated]'. Default 12. */
  maxDepth?: number;
}

/**
 * A JSON-safe copy of `value` with secrets removed. Errors become plain objects
 * `{ name, message, ...own fields, cause }` (recursively), so an error logged through this keeps its
 * diagnostic fields (errorCode, requestId, httpStatus, ...) but never a secret. Cycles become
 * '[Circular]'. The input is never modified.
 */
export function redact(value: unknown, secrets: Iterable<string>, options: RedactOptions = {}): unknown {
  return redactWith(value, secretNeedles(secrets), options);
}

function redactWith(value: unknown, needles: readonly string[], options: RedactOptions): unknown {
  const maxDepth = options.maxDepth ?? 12;
  const seen = new WeakSet<object>();

  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return replaceAll(v, needles);
    if (v === null || typeof v !== 'object') {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'function' || typeof v === 'symbol') return undefined;
      return v;
    }
    if (seen.has(v)) return '[Circular]';
    if (depth >= maxDepth) return '[Truncated]';
    seen.add(v);
    try {
      if (v instanceof Error) {
        const out: Record<string, unknown> = { name: walk(v.name, depth + 1), message: walk(v.message, depth + 1) };
        for (const key of Object.keys(v)) {
          if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
          out[key] = isSensitiveKey(key) ? REDACTED : walk((v as unknown as Record<string, unknown>)[key], depth + 1);
        }
        if (options.stack && typeof v.stack === 'string') out.stack = walk(v.stack, depth + 1);
        if (v.cause !== undefined) out.cause = walk(v.cause, depth + 1);
        return out;
      }
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
      if (v instanceof Map) return walk(Object.fromEntries(v), depth);
      if (v instanceof Set) return walk([...v], depth);
      if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return `[${v.constructor.name} ${(v as ArrayBufferView).byteLength} bytes]`;
      const out: Record<string, unknown> = {};
      for (const [key, x] of Object.entries(v)) {
        out[replaceAll(key, needles)] = isSensitiveKey(key) ? REDACTED : walk(x, depth + 1);
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };
  return walk(value, 0);
}

/**
 * The secret values the redactors know, per container. Secret loaders add every value they read;
 * loggers wrapped with `redactingLogger(inner, registry)` then never print them.
 */
export class SecretRegistry {
  private readonly known = new Set<string>();

  add(values: Iterable<string>): void {
    for (const v of values) if (typeof v === 'string' && v.length >= MIN_SECRET_LENGTH) this.known.add(v);
  }

  values(): string[] {
    return [...this.known];
  }

  get size(): number {
    return this.known.size;
  }
}

/** The container-wide registry the secret loaders feed by default. */
export const knownSecrets = new SecretRegistry();

/**
 * A logger that redacts the message and every field before passing them on. `secrets` is read at
 * each call, so secrets loaded after the logger was built (cold start) are covered too.
 */
export function redactingLogger(inner: Logger, secrets: SecretRegistry | (() => Iterable<string>) = knownSecrets): Logger {
  const current = typeof secrets === 'function' ? secrets : () => secrets.values();
  return (level, msg, fields) => {
    const needles = secretNeedles(current());
    const safeMsg = replaceAll(msg, needles);
    if (fields === undefined) return inner(level, safeMsg);
    inner(level, safeMsg, redactWith(fields, needles, {}) as Record<string, unknown>);
  };
}

/**
 * A URL that may carry a credential (a notifyUrl: userinfo, query, fragment, or a secret path such as
 * a chat hook's) reduced to what is safe to show: its origin, with `/[REDACTED]` when anything else
 * was there. Not a URL at all → REDACTED.
 */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return REDACTED;
  }
  const hidden = url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '');
  return `${url.protocol}//${url.host}${hidden ? `/${REDACTED}` : ''}`;
}
