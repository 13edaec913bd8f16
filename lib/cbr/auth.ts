/**
 * The two ways real users authenticate to CBR (cbr-api.md §1, §8, §9):
 *  - AK/SK: every attempt is signed with `signRequest` and a fresh `X-Sdk-Date`;
 *  - an IAM user token (password method, project scope) from `POST /v3/auth/tokens`, sent as
 *    `X-Auth-Token`. Tokens are cached per container, refreshed before they expire, concurrent callers
 *    share one refresh, and failures are never cached.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { CbrApiError, CbrValidationError, validationErrorFromIssues } from './errors';
import { DEFAULT_TIMEOUT_MS, execute, resolveRetry } from './http';
import { sleep, type Sleep } from '../retry';
import type { CallEvent, RetryOptions } from './http';
import { assertProjectId } from './ids';
import { resolveEndpoint } from './regions';
import { signRequest } from './signer';
import { cbrTimestampMs } from './time';
import { undiciTransport } from './transport';
import type { Transport } from './transport';

export interface TokenProvider {
  getToken(): Promise<string>;
  /** Optional: forget `token` (the gateway said it is expired/revoked) so the next getToken fetches anew. */
  invalidate?(token: string): void;
}

export type CbrAuth = { type: 'aksk'; ak: string; sk: string; securityToken?: string } | { type: 'token'; tokens: TokenProvider };

export interface IamTokenProviderOptions {
  /** Default `https://iam.{region}.myhuaweicloud.com` (callers pass IAM_ENDPOINT, e.g. the emulator). */
  iamEndpoint?: string;
  region: string;
  user: { name: string; password: string; domainName: string };
  /** Project scope by id or name; neither = the project named like the region (Huawei's default project). */
  project: { id?: string; name?: string };
  /** Refresh this long before `expires_at` (capped at half the token lifetime). Default 10 min. */
  refreshBeforeMs?: number;
  timeoutMs?: number;
  retry?: RetryOptions;
  onCall?: (e: CallEvent) => void;
  /** Test seams. */
  now?: () => Date;
  sleep?: Sleep;
  random?: () => number;
  transport?: Transport;
}

const OPERATION = 'KeystoneCreateUserTokenByPassword';
/** On a failed refresh, a cached token with at least this much life left is still handed out. */
const STALE_GRACE_MS = 30_000;

const IamOptionsSchema = z.object({
  iamEndpoint: z.string().optional(),
  region: z.string().min(1),
  user: z.object({ name: z.string().min(1), password: z.string().min(1), domainName: z.string().min(1) }),
  project: z.object({ id: z.string().min(1).optional(), name: z.string().min(1).optional() }),
  refreshBeforeMs: z.number().int().nonnegative().optional(),
  timeoutMs: z.number().int().positive().optional(),
});

const TokenBody = z.looseObject({ token: z.looseObject({ expires_at: z.string() }) });

interface CacheEntry {
  token: string;
  expiresAtMs: number;
  obtainedAtMs: number;
}

interface Slot {
  entry?: CacheEntry;
  inflight?: Promise<CacheEntry>;
}

/**
 * Module scope = one cache per container. Keyed by endpoint, user, domain, scope and a SHA-256 of the
 * password (never the password itself), so even a provider created per invocation reuses the token.
 */
const slots = new Map<string, Slot>();

export function createIamTokenProvider(o: IamTokenProviderOptions): TokenProvider {
  const parsed = IamOptionsSchema.safeParse(o);
  if (!parsed.success) throw validationErrorFromIssues('options', parsed.error.issues, undefined);
  if (o.project.id !== undefined && o.project.name !== undefined) {
    throw new CbrValidationError('options.project', 'give either id or name, not both');
  }
  if (o.project.id !== undefined) assertProjectId('options.project.id', o.project.id);
  const endpoint = resolveEndpoint('iam', o.region, o.iamEndpoint, 'options.iamEndpoint');
  const now = o.now ?? (() => new Date());
  const refreshBeforeMs = o.refreshBeforeMs ?? 10 * 60_000;
  const password = o.user.password;
  const scope = o.project.id !== undefined ? { id: o.project.id } : { name: o.project.name ?? o.region };
  const body = JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: o.user.name, password, domain: { name: o.user.domainName } } } },
      scope: { project: scope },
    },
  });
  const key = JSON.stringify([
    endpoint.origin + endpoint.basePath,
    o.user.name,
    o.user.domainName,
    scope,
    createHash('sha256').update(password).digest('hex'),
  ]);
  const slot: Slot = slots.get(key) ?? {};
  slots.set(key, slot);
  const ex = {
    origin: endpoint.origin,
    timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: resolveRetry(o.retry),
    onCall: o.onCall,
    now,
    sleep: o.sleep ?? sleep,
    random: o.random ?? Math.random,
    transport: o.transport ?? undiciTransport,
  };

  const fetchToken = async (): Promise<CacheEntry> => {
    const res = await execute(ex, {
      operation: OPERATION,
      method: 'POST',
      path: `${endpoint.basePath}/v3/auth/tokens`,
      query: 'nocatalog=true',
      body,
      // Issuing a token twice is harmless, so the POST may be repeated.
      idempotent: true,
      headers: async () => ({ 'Content-Type': 'application/json;charset=utf8', Accept: 'application/json' }),
      secrets: () => [password],
    });
    const token = res.headers['x-subject-token'];
    const invalid = (why: string, cause?: unknown): CbrApiError =>
      new CbrApiError(`${OPERATION} failed: ${why}`, {
        kind: 'invalid-response',
        operation: OPERATION,
        httpStatus: res.status,
        requestId: res.headers['x-request-id'],
        retryable: false,
        cause,
      });
    if (!token || /[\r\n\0]/.test(token)) throw invalid('response has no usable X-Subject-Token header');
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch (cause) {
      throw invalid('response body is not JSON', cause);
    }
    const b = TokenBody.safeParse(json);
    if (!b.success) throw invalid('response body has no token.expires_at', b.error);
    const expiresAtMs = cbrTimestampMs(b.data.token.expires_at);
    const obtainedAtMs = now().getTime();
    if (expiresAtMs === undefined) throw invalid(`token.expires_at is not a timestamp: ${JSON.stringify(b.data.token.expires_at)}`);
    if (expiresAtMs <= obtainedAtMs) throw invalid('token.expires_at is already in the past');
    return { token, expiresAtMs, obtainedAtMs };
  };

  const isFresh = (e: CacheEntry, t: number): boolean => {
    const margin = Math.min(refreshBeforeMs, (e.expiresAtMs - e.obtainedAtMs) / 2);
    return t < e.expiresAtMs - margin;
  };

  const refresh = (): Promise<CacheEntry> => {
    // Single flight: every caller that arrives while a refresh runs awaits the same promise.
    slot.inflight ??= fetchToken()
      .then((entry) => {
        slot.entry = entry;
        return entry;
      })
      .finally(() => {
        slot.inflight = undefined;
      });
    return slot.inflight;
  };

  return {
    async getToken(): Promise<string> {
      const t = now().getTime();
      const cached = slot.entry;
      if (cached && isFresh(cached, t)) return cached.token;
      try {
        return (await refresh()).token;
      } catch (err) {
        // Failures are never cached (the next call tries again), but a token that is still valid for a
        // while beats failing the caller's CBR call.
        const still = slot.entry;
        if (still && still.expiresAtMs - now().getTime() > STALE_GRACE_MS) return still.token;
        throw err;
      }
    },
    invalidate(token: string): void {
      if (slot.entry?.token === token) slot.entry = undefined;
    },
  };
}

/** Gateway codes that mean "this token is no good any more" (cbr-api.md §7.3). */
const TOKEN_REJECTED = new Set(['APIGW.0301', 'APIGW.0307', 'APIG.0301', 'APIG.0307']);

export interface CallAuth {
  headers(req: { method: string; url: string; headers: Record<string, string>; body?: string }): Promise<Record<string, string>>;
  secrets(): readonly (string | undefined)[];
  onAuthFailure(err: CbrApiError): boolean;
}

/** Turns the client's `auth` option into per-call state that yields per-attempt headers. */
export function authStrategy(auth: CbrAuth, now: () => Date): { forCall(): CallAuth } {
  if (auth.type === 'aksk') {
    const creds = { ak: auth.ak, sk: auth.sk, ...(auth.securityToken ? { securityToken: auth.securityToken } : {}) };
    const callAuth: CallAuth = {
      // signRequest runs for every attempt, so each retry carries a fresh X-Sdk-Date.
      headers: async (req) => ({ ...req.headers, ...signRequest(req, creds, now()) }),
      secrets: () => [auth.sk, auth.securityToken],
      onAuthFailure: () => false,
    };
    return { forCall: () => callAuth };
  }
  const tokens = auth.tokens;
  return {
    forCall(): CallAuth {
      let used: string | undefined;
      return {
        headers: async (req) => {
          used = await tokens.getToken();
          return { ...req.headers, 'X-Auth-Token': used };
        },
        secrets: () => [used],
        onAuthFailure: (err) => {
          if (!tokens.invalidate || used === undefined) return false;
          if (err.errorCode === undefined || !TOKEN_REJECTED.has(err.errorCode)) return false;
          tokens.invalidate(used);
          return true;
        },
      };
    },
  };
}
