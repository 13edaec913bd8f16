/**
 * Who is calling: AK/SK signatures (cbr-api.md §9.3, with the 15-minute X-Sdk-Date window and the lock-out
 * after repeated bad signatures) or an X-Auth-Token issued by the emulated IAM, and which projects the
 * caller may use. Every failure is the API gateway's 401/403 envelope.
 */
import { randomBytes } from 'node:crypto';
import { AUTH_PREFIX, gatewayError, iamError } from './errors';
import type { CredentialInput, EmulatorConfig, UserInput } from './options';
import { parseIamBody } from './schemas';
import { formatSdkDate, parseAuthorization, parseSdkDate, verifySignature } from './sigv';
import type { SignableRequest } from './sigv';
import type { ProjectRec, Store, TokenRec } from './store';

export interface Caller {
  kind: 'aksk' | 'token';
  userId: string;
  domainName: string;
  /** Token scope (token callers only); null = domain-scoped. */
  tokenProjectId?: string | null;
  canUse(projectId: string): boolean;
}

interface LockState {
  failures: number;
  lockedUntil: number;
}

const SIG_FAIL = `${AUTH_PREFIX}verify aksk signature fail`;

export class Authenticator {
  private readonly creds = new Map<string, CredentialInput>();
  private readonly locks = new Map<string, LockState>();
  private readonly userIds = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly config: EmulatorConfig,
    credentials: CredentialInput[],
    private readonly users: UserInput[],
  ) {
    for (const c of credentials) this.creds.set(c.ak, c);
  }

  private projectAllowed(domainName: string, projectIds: string[] | undefined, projectId: string): boolean {
    const p = this.store.projects.get(projectId);
    return p !== undefined && p.domainName === domainName && (projectIds === undefined || projectIds.includes(projectId));
  }

  authenticate(req: SignableRequest, now: number): Caller {
    const authorization = req.headers['authorization'];
    const token = req.headers['x-auth-token'];
    if (typeof authorization === 'string' && authorization !== '') return this.akSk(req, authorization, now);
    if (typeof token === 'string' && token !== '') return this.token(token, now);
    throw gatewayError(401, 'APIGW.0301', `${AUTH_PREFIX}x-auth-token not found`);
  }

  private akSk(req: SignableRequest, authorization: string, now: number): Caller {
    const parsed = parseAuthorization(authorization);
    if (!parsed) throw gatewayError(401, 'APIGW.0301', `${AUTH_PREFIX}unsupported or malformed Authorization header`);
    const cred = this.creds.get(parsed.ak);
    if (!cred) throw gatewayError(401, 'APIGW.0301', `${AUTH_PREFIX}Get secretKey failed,ak:${parsed.ak},err:ak not exist`);
    const lock = this.locks.get(parsed.ak);
    if (lock && lock.lockedUntil > now) throw gatewayError(401, 'APIGW.0301', `${AUTH_PREFIX}AK access failed to reach the limit,forbidden`);
    const dateHeader = req.headers['x-sdk-date'];
    const date = typeof dateHeader === 'string' ? parseSdkDate(dateHeader) : undefined;
    if (date === undefined || !parsed.signedHeaders.includes('x-sdk-date')) {
      this.fail(parsed.ak, now);
      throw gatewayError(401, 'APIGW.0301', `${SIG_FAIL} (X-Sdk-Date missing, unsigned or not formatted YYYYMMDDTHHMMSSZ)`);
    }
    if (Math.abs(now - date) > this.config.limits.sdkDateSkewMs) {
      throw gatewayError(
        401,
        'APIGW.0301',
        `${SIG_FAIL} (X-Sdk-Date ${dateHeader as string} is more than ${Math.round(this.config.limits.sdkDateSkewMs / 60_000)} minutes from server time ${formatSdkDate(now)})`,
      );
    }
    if (cred.securityToken !== undefined && req.headers['x-security-token'] !== cred.securityToken) {
      this.fail(parsed.ak, now);
      throw gatewayError(401, 'APIGW.0301', SIG_FAIL);
    }
    const verdict = verifySignature(req, parsed, cred.sk, dateHeader as string);
    if (!verdict.ok) {
      this.fail(parsed.ak, now);
      throw gatewayError(401, 'APIGW.0301', SIG_FAIL);
    }
    this.locks.delete(parsed.ak);
    return {
      kind: 'aksk',
      userId: this.userIdOf(cred),
      domainName: cred.domainName,
      canUse: (projectId) => this.projectAllowed(cred.domainName, cred.projectIds, projectId),
    };
  }

  private userIdOf(cred: CredentialInput): string {
    let id = this.userIds.get(cred.ak);
    if (id === undefined) this.userIds.set(cred.ak, (id = this.store.domainId(`${cred.domainName}/${cred.ak}`)));
    return id;
  }

  private fail(ak: string, now: number): void {
    const state = this.locks.get(ak) ?? { failures: 0, lockedUntil: 0 };
    if (state.lockedUntil <= now && state.lockedUntil !== 0) {
      state.failures = 0;
      state.lockedUntil = 0;
    }
    state.failures++;
    // "More than 5 consecutive failures lock the AK for 5 minutes."
    if (state.failures > this.config.limits.lockoutThreshold) state.lockedUntil = now + this.config.limits.lockoutMs;
    this.locks.set(ak, state);
  }

  private token(token: string, now: number): Caller {
    const rec = this.store.tokens.get(token);
    if (!rec) throw gatewayError(401, 'APIGW.0301', `${AUTH_PREFIX}decrypt token fail`);
    if (rec.expiresAt <= now) {
      this.store.tokens.delete(token);
      throw gatewayError(401, 'APIGW.0301', `${AUTH_PREFIX}token expires, expires_at: ${new Date(rec.expiresAt).toISOString()}`);
    }
    return {
      kind: 'token',
      userId: rec.userId,
      domainName: rec.domainName,
      tokenProjectId: rec.projectId,
      canUse: (projectId) => rec.projectId === projectId,
    };
  }

  /** POST /v3/auth/tokens (password method). */
  issueToken(body: unknown, now: number, noCatalog: boolean): { token: string; body: unknown } {
    const input = parseIamBody(body);
    const u = input.auth.identity.password.user;
    const domainMatches = (domainName: string) =>
      'name' in u.domain ? u.domain.name === domainName : u.domain.id === this.store.domainId(domainName);
    const user = this.users.find((x) => x.name === u.name && domainMatches(x.domainName));
    if (!user || user.password !== u.password) throw iamError(401, 'The username or password is wrong.');
    const scope = input.auth.scope;
    let project: ProjectRec | undefined;
    if ('project' in scope) {
      const sel = scope.project;
      for (const p of this.store.projects.values()) {
        if (p.domainName !== user.domainName) continue;
        if ('id' in sel ? p.id === sel.id : p.name === sel.name) project = p;
      }
      if (!project || (user.projectIds !== undefined && !user.projectIds.includes(project.id))) {
        throw iamError(401, 'The request you have made requires authentication.');
      }
    } else {
      const sel = scope.domain;
      const ok = 'name' in sel ? sel.name === user.domainName : sel.id === this.store.domainId(user.domainName);
      if (!ok) throw iamError(401, 'The request you have made requires authentication.');
    }
    const token = `MIIemu${randomBytes(96).toString('base64url')}`;
    const userId = this.store.domainId(`${user.domainName}/user/${user.name}`);
    const domain = { id: this.store.domainId(user.domainName), name: user.domainName };
    const rec: TokenRec = {
      userName: user.name,
      userId,
      domainName: user.domainName,
      projectId: project?.id ?? null,
      issuedAt: now,
      expiresAt: now + this.config.timing.tokenTtlMs,
    };
    this.store.tokens.set(token, rec);
    const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
    return {
      token,
      body: {
        token: {
          expires_at: iso(rec.expiresAt),
          issued_at: iso(rec.issuedAt),
          methods: ['password'],
          ...(project ? { project: { id: project.id, name: project.name, domain } } : { domain }),
          user: { id: userId, name: user.name, domain, password_expires_at: '' },
          roles: [
            { id: '0', name: 'op_service' },
            { id: '0', name: 'te_admin' },
          ],
          ...(noCatalog
            ? {}
            : {
                catalog: [
                  {
                    id: this.store.domainId('catalog/cbr'),
                    name: 'cbr',
                    type: 'cbr',
                    endpoints: [],
                  },
                ],
              }),
        },
      },
    };
  }

  /** GET /v3/projects (what the SDKs call to discover a project id from a region name). */
  listProjects(caller: Caller, name: string | null): unknown {
    const projects = [...this.store.projects.values()].filter((p) => p.domainName === caller.domainName && (name === null || p.name === name));
    return {
      projects: projects.map((p) => ({
        id: p.id,
        name: p.name,
        domain_id: p.domainId,
        parent_id: p.domainId,
        description: '',
        enabled: true,
        is_domain: false,
      })),
      links: { self: '/v3/projects', next: null, previous: null },
    };
  }
}
