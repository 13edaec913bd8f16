/**
 * One small loader for every secret a function needs (CBR credentials, webhook keys): read at cold
 * start from a `SecretSource` (Secrets Manager, SSM SecureString, or inline JSON on the local stage),
 * validated by a zod schema, cached per container for `ttlMs`, and fetched at most once at a time —
 * concurrent callers share one in-flight read. Every value read is registered with the redaction
 * registry, so loggers wrapped by `redactingLogger` never print it.
 *
 * Hand-written instead of @middy/secrets-manager: the secrets are needed outside a middy request (to
 * build per-project CBR clients, to verify a webhook before any handler code), the schema errors must
 * name fields without echoing values, and the SDK must only be imported when a secret is really read.
 */
import type * as z from 'zod';
import { asError } from '../errors';
import { SecretError } from './errors';
import { knownSecrets, redactText, type SecretRegistry } from './redact';

/** Where a secret's text comes from. `ref` names it in errors (an id/ARN, never the value). */
export interface SecretSource {
  readonly ref: string;
  read(): Promise<string>;
}

export interface SecretLoader<T> {
  readonly ref: string;
  /** The current value: cached, or read now (one read shared by all concurrent callers). */
  get(): Promise<T>;
  /** Forget the cached value; the next get() reads the source again. */
  invalidate(): void;
}

export interface SecretLoaderOptions<T> {
  source: SecretSource;
  schema: z.ZodType<T>;
  /** 'json' (default): the secret is a JSON document; 'text': the raw string is validated as is. */
  format?: 'json' | 'text';
  /** How long a read value is used before the source is read again. Default 5 minutes. */
  ttlMs?: number;
  /**
   * When a refresh fails, keep using the previous value for up to this long past its TTL (a Secrets
   * Manager blip must not take the API down). 0 disables. Default 15 minutes.
   */
  staleIfErrorMs?: number;
  /** Which parts of the value are secret (registered for redaction). Default: every string in it. */
  secretValues?: (value: T) => Iterable<string>;
  registry?: SecretRegistry;
  clock?: { now(): number };
  /** Told when a stale value is served because a refresh failed (log it). */
  onStale?: (error: SecretError) => void;
}

export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;
export const DEFAULT_STALE_IF_ERROR_MS = 15 * 60_000;

/** Every string anywhere inside a JSON value (the default set of secret values). */
export function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringLeaves(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) stringLeaves(v, out);
  return out;
}

/**
 * Parse and validate a secret's text. Errors name the fields at fault; any piece of the secret that
 * a schema message might quote is redacted from it, and JSON syntax errors (whose messages quote the
 * input) are reported without their text.
 */
export function parseSecret<T>(ref: string, text: string, schema: z.ZodType<T>, format: 'json' | 'text' = 'json'): T {
  if (text.trim() === '') throw new SecretError(ref, 'empty', 'is empty');
  let raw: unknown = text;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new SecretError(ref, 'invalid_json', 'is not valid JSON');
    }
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const leaves = format === 'json' ? stringLeaves(raw) : [text];
  const issues = parsed.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(root)',
    message: redactText(issue.message, leaves).slice(0, 200),
  }));
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  throw new SecretError(ref, 'invalid_value', `has invalid field(s): ${summary}`, { issues });
}

export function createSecretLoader<T>(options: SecretLoaderOptions<T>): SecretLoader<T> {
  const { source, schema } = options;
  const format = options.format ?? 'json';
  const ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
  const staleMs = options.staleIfErrorMs ?? DEFAULT_STALE_IF_ERROR_MS;
  const registry = options.registry ?? knownSecrets;
  const clock = options.clock ?? Date;
  const secretValues = options.secretValues ?? ((v: T) => stringLeaves(v));

  let cached: { value: T; readAt: number } | undefined;
  let inflight: Promise<T> | undefined;

  const refresh = async (): Promise<T> => {
    let value: T;
    try {
      const text = await source.read();
      value = parseSecret(source.ref, text, schema, format);
    } catch (error) {
      const failure =
        error instanceof SecretError
          ? error
          : new SecretError(source.ref, 'unavailable', `could not be read (${asError(error).name})`, { cause: error, retryable: true });
      if (cached && staleMs > 0 && clock.now() - cached.readAt < ttlMs + staleMs) {
        options.onStale?.(failure);
        return cached.value;
      }
      throw failure;
    }
    registry.add(secretValues(value));
    cached = { value, readAt: clock.now() };
    return value;
  };

  return {
    ref: source.ref,
    get() {
      if (cached && clock.now() - cached.readAt < ttlMs) return Promise.resolve(cached.value);
      if (!inflight) {
        inflight = refresh().finally(() => {
          inflight = undefined;
        });
      }
      return inflight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** A secret given inline (local stage only: the local runner passes the JSON in an env variable). */
export function inlineSource(ref: string, text: string): SecretSource {
  return { ref, read: async () => text };
}
