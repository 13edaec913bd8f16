/**
 * Builds the CBR port from lib/cbr: one client per (project, region), signed with that project's
 * account credentials, cached for the container's life (the client keeps its own keep-alive pool) and
 * rebuilt only when the credentials change (a rotated secret, re-read after SECRETS_TTL_SECONDS). IAM tokens are registered for redaction as they
 * are issued, so no logger ever prints one. Only the step functions that call CBR import this module;
 * start-run and get-run never do (cold-start rule, checked by test/unit/pipeline/bundles.test.ts).
 */
import { createHash } from 'node:crypto';
import { createIamTokenProvider, type TokenProvider } from '../cbr/auth';
import { createCbrClient, type CbrClientOptions } from '../cbr/client';
import type { Config } from '../config';
import type { CallLimits } from '../pipeline/deadline';
import type { CbrApi, CbrReplicationApi, CbrRestoreApi, RetentionCbrApi } from '../ports';
import { knownSecrets } from '../secrets/redact';
import type { CbrCredentials } from './credentials';

/** Client options a test harness may add (a clock for X-Sdk-Date, a per-attempt call observer); production passes none. */
export type CbrClientExtras = Pick<CbrClientOptions, 'now' | 'onCall' | 'sleep'>;

/** A token provider whose tokens are known secrets from the moment they are handed out. */
function redactedTokens(inner: TokenProvider): TokenProvider {
  return {
    async getToken() {
      const token = await inner.getToken();
      knownSecrets.add([token]);
      return token;
    },
    ...(inner.invalidate ? { invalidate: (token: string) => inner.invalidate!(token) } : {}),
  };
}

/** A digest of the credentials, to notice a rotation without keeping a second copy of the secret. */
const fingerprints = new WeakMap<object, string>();
function fingerprintOf(creds: CbrCredentials): string {
  let f = fingerprints.get(creds);
  if (f === undefined) {
    f = createHash('sha256').update(JSON.stringify(creds)).digest('base64url');
    fingerprints.set(creds, f);
  }
  return f;
}

export function cbrFactory(
  config: Pick<Config, 'CBR_ENDPOINT' | 'IAM_ENDPOINT' | 'CBR_TIMEOUT_MS'> & Partial<Pick<Config, 'CBR_RATE_LIMIT_RPS' | 'CBR_RATE_LIMIT_BURST'>>,
  /** The credentials of a project's account (lib/wiring/credentials.ts projectCredentials: CBR_CREDENTIALS_MAP). */
  credentials: (projectId: string) => Promise<CbrCredentials>,
  extras: CbrClientExtras = {},
  /** Per-attempt timeout and retries of every call (the operator API's OPERATOR_CALL_LIMITS); default CBR_TIMEOUT_MS and the client's DEFAULT_RETRY. */
  limits?: CallLimits,
): (target: { projectId: string; region: string }) => Promise<CbrApi & CbrRestoreApi & RetentionCbrApi & CbrReplicationApi> {
  const clients = new Map<string, { fingerprint: string; client: CbrApi & CbrRestoreApi & RetentionCbrApi & CbrReplicationApi }>();

  const build = (creds: CbrCredentials, projectId: string, region: string): CbrApi & CbrRestoreApi & RetentionCbrApi & CbrReplicationApi => {
    const auth =
      creds.type === 'aksk'
        ? { type: 'aksk' as const, ak: creds.ak, sk: creds.sk, ...(creds.securityToken ? { securityToken: creds.securityToken } : {}) }
        : {
            type: 'token' as const,
            tokens: redactedTokens(
              createIamTokenProvider({
                region,
                ...(config.IAM_ENDPOINT ? { iamEndpoint: config.IAM_ENDPOINT } : {}),
                user: { name: creds.user, password: creds.password, domainName: creds.domainName },
                project: { id: projectId },
              }),
            ),
          };
    // One token bucket per project for the container (CBR_RATE_LIMIT_RPS / _BURST; absent or 0 = none).
    const rps = config.CBR_RATE_LIMIT_RPS ?? 0;
    const rateLimit = rps > 0 ? { rateLimit: { ratePerSecond: rps, burst: config.CBR_RATE_LIMIT_BURST ?? Math.max(1, Math.ceil(rps)) } } : {};
    const calls = limits
      ? { timeoutMs: limits.timeoutMs, retry: { maxAttempts: limits.maxAttempts, maxDelayMs: limits.maxDelayMs, maxRetryAfterMs: limits.maxRetryAfterMs } }
      : { timeoutMs: config.CBR_TIMEOUT_MS };
    return createCbrClient({ ...extras, ...rateLimit, region, projectId, auth, ...calls, ...(config.CBR_ENDPOINT ? { endpoint: config.CBR_ENDPOINT } : {}) });
  };

  // A failed secret read rejects this call only; the next call reads again (the loader never caches failures).
  return async ({ projectId, region }) => {
    const creds = await credentials(projectId);
    const key = `${projectId}|${region}`;
    const fingerprint = fingerprintOf(creds);
    const cached = clients.get(key);
    if (cached && cached.fingerprint === fingerprint) return cached.client;
    const client = build(creds, projectId, region);
    clients.set(key, { fingerprint, client });
    return client;
  };
}
