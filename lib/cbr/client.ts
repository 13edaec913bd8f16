/**
 * Typed CBR v3 client (cbr-api.md §1-§6): every call validates its ids and body before anything is
 * sent, signs (or tokens) every attempt afresh, retries what is safe to retry, and zod-parses the
 * answer. Bodies and results are the wire's snake_case objects.
 */
import type * as z from 'zod';
import { authStrategy } from './auth';
import type { CbrAuth } from './auth';
import { CbrApiError, CbrValidationError, validationErrorFromIssues } from './errors';
import { DEFAULT_TIMEOUT_MS, execute, resolveRetry } from './http';
import { sleep, type Sleep } from '../retry';
import type { CallEvent, ExecutorOptions, RetryOptions } from './http';
import { assertCbrId, assertProjectId, isProjectId, UUID_RE } from './ids';
import { serializeQuery } from './query';
import type { QueryValue } from './query';
import { isRateLimiter, projectRateLimiter } from './rate-limit';
import type { RateLimiter, RateLimitSettings } from './rate-limit';
import { resolveEndpoint } from './regions';
import * as S from './schemas';
import { undiciTransport } from './transport';
import type { HttpResponse, Transport } from './transport';

export interface CbrClientOptions {
  /** e.g. `ap-southeast-1`; must be a known CBR region unless `endpoint` is given. */
  region: string;
  /** 32 hex; used in every path and sent as `X-Project-Id`. */
  projectId: string;
  /** Default `https://cbr.{region}.myhuaweicloud.com` (callers pass CBR_ENDPOINT, e.g. the emulator). */
  endpoint?: string;
  auth: CbrAuth;
  /** Per attempt. Default 10 000. */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** One event per HTTP attempt. */
  onCall?: (e: CallEvent) => void;
  /**
   * Client-side rate limit, awaited before every HTTP attempt (retries included), backing off on 429.
   * Settings = this project's container-wide token bucket (shared by every client of the project);
   * a RateLimiter = that one (tests); omitted = no limit.
   */
  rateLimit?: RateLimitSettings | RateLimiter;
  /**
   * What `{member_id}` of ShowMemberDetail, UpdateMemberStatus and DeleteMember means (the reference is
   * inconsistent): 'project-id' (default; the member's destination project id, as the Go SDK's models,
   * OTC's example URL and Terraform use it) or 'member-id' (the member record's `id`, a UUID). The
   * `memberId` argument of those methods is checked against this choice before anything is sent.
   */
  memberIdInPath?: 'project-id' | 'member-id';
  /** Test seams: clock (X-Sdk-Date, Retry-After dates), backoff sleep, jitter source, HTTP transport. */
  now?: () => Date;
  sleep?: Sleep;
  random?: () => number;
  transport?: Transport;
}

export interface CallOptions {
  /** POST/PUT are retried (on 429/5xx/network errors) only when the caller marks them safe to repeat. */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export interface PageOptions {
  /** `limit` of each ListBackups/ListVault call, 1..1000. Default 100. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface CbrClient {
  readonly projectId: string;
  createVault(body: S.CreateVaultRequest, opts?: CallOptions): Promise<S.CreateVaultResponse>;
  showVault(vaultId: string, opts?: CallOptions): Promise<S.VaultResponse>;
  listVault(query?: S.ListVaultQuery, opts?: CallOptions): Promise<S.ListVaultResponse>;
  paginateVaults(query?: Omit<S.ListVaultQuery, 'limit'>, page?: PageOptions): AsyncIterable<S.Vault>;
  updateVault(vaultId: string, body: S.UpdateVaultRequest, opts?: CallOptions): Promise<S.VaultResponse>;
  deleteVault(vaultId: string, opts?: CallOptions): Promise<void>;
  addVaultResource(vaultId: string, body: S.AddVaultResourceRequest, opts?: CallOptions): Promise<S.AddVaultResourceResponse>;
  removeVaultResource(vaultId: string, body: S.RemoveVaultResourceRequest, opts?: CallOptions): Promise<S.RemoveVaultResourceResponse>;
  createCheckpoint(body: S.CreateCheckpointRequest, opts?: CallOptions): Promise<S.CheckpointResponse>;
  showCheckpoint(checkpointId: string, opts?: CallOptions): Promise<S.CheckpointResponse>;
  listBackups(query?: S.ListBackupsQuery, opts?: CallOptions): Promise<S.ListBackupsResponse>;
  paginateBackups(query?: Omit<S.ListBackupsQuery, 'limit'>, page?: PageOptions): AsyncIterable<S.Backup>;
  showBackup(backupId: string, opts?: CallOptions): Promise<S.BackupResponse>;
  /** 204, asynchronous (the backup is `deleting`, then gone); resolves to CBR's X-Request-Id (the retention ledger records it). */
  deleteBackup(backupId: string, opts?: CallOptions): Promise<{ requestId?: string }>;
  /** RestoreBackup: 202, no body. A POST that overwrites disks: never repeated unless `idempotent` is set. */
  restoreBackup(backupId: string, body: S.RestoreBackupRequest, opts?: CallOptions): Promise<void>;
  /** Cross-region replication of a backup (CopyBackup); never retried on an ambiguous failure unless opts.idempotent. */
  replicateBackup(backupId: string, body: S.ReplicateBackupRequest, opts?: CallOptions): Promise<S.ReplicateBackupResponse>;
  addMember(backupId: string, body: S.AddMemberRequest, opts?: CallOptions): Promise<S.MembersResponse>;
  showMembersDetail(backupId: string, query?: S.ShowMembersDetailQuery, opts?: CallOptions): Promise<S.MembersResponse>;
  showMemberDetail(backupId: string, memberId: string, opts?: CallOptions): Promise<S.MemberResponse>;
  updateMemberStatus(backupId: string, memberId: string, body: S.UpdateMemberStatusRequest, opts?: CallOptions): Promise<S.MemberResponse>;
  deleteMember(backupId: string, memberId: string, opts?: CallOptions): Promise<void>;
  listOpLogs(query?: S.ListOpLogsQuery, opts?: CallOptions): Promise<S.ListOpLogsResponse>;
  showOpLog(operationLogId: string, opts?: CallOptions): Promise<S.OperationLogResponse>;
  /** One page of the project's protectable instances of a type (`limit` at most 50). */
  listProtectable(type: S.ProtectableType, query?: S.ListProtectableQuery, opts?: CallOptions): Promise<S.ListProtectableResponse>;
  /** One instance (`server` or `disk`); 404 `6302` when the project has no such instance of that type. */
  showProtectable(type: 'server' | 'disk', instanceId: string, opts?: CallOptions): Promise<S.ShowProtectableResponse>;
}

const USER_AGENT = 'cbr-flow/0.1 (undici)';

function parseInput<T extends z.ZodType>(schema: T, value: unknown, field: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationErrorFromIssues(field, r.error.issues, r.error);
  return r.data;
}

function checkCallOptions(opts: CallOptions | undefined): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null) throw new CbrValidationError('opts', 'must be an object');
  if (opts.idempotent !== undefined && typeof opts.idempotent !== 'boolean') throw new CbrValidationError('opts.idempotent', 'must be a boolean');
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new CbrValidationError('opts.signal', 'must be an AbortSignal');
}

function checkPageSize(page: PageOptions | undefined): number {
  const size = page?.pageSize ?? 100;
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new CbrValidationError('page.pageSize', 'must be an integer 1..1000');
  return size;
}

/** Code of an answer that lacks a field cbr-flow needs (the run records it, naming operation and field). */
export const ANSWER_MISSING_FIELD = 'CBR_ANSWER_MISSING_FIELD';

function parseResponse<T extends z.ZodType>(schema: T, res: HttpResponse, operation: string): z.output<T> {
  const fail = (why: string, cause: unknown, errorCode?: string): CbrApiError =>
    new CbrApiError(`${operation} failed: ${why}`, {
      kind: 'invalid-response',
      operation,
      httpStatus: res.status,
      requestId: res.headers['x-request-id'],
      retryable: false,
      ...(errorCode ? { errorCode } : {}),
      cause,
    });
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch (cause) {
    throw fail(`HTTP ${res.status} body is not JSON`, cause);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    // The tolerant reader requires only what cbr-flow reads: an absent one is named as such.
    const missing = r.error.issues.find((i) => i.code === 'invalid_type' && /received undefined/.test(i.message));
    if (missing) {
      const field = missing.path.join('.') || '(root)';
      throw fail(`the answer lacks ${field}, which cbr-flow needs (${missing.message})`, r.error, ANSWER_MISSING_FIELD);
    }
    const where = r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw fail(`response does not match the reference (${where})`, r.error);
  }
  return r.data;
}

export function createCbrClient(options: CbrClientOptions): CbrClient {
  if (typeof options !== 'object' || options === null) throw new CbrValidationError('options', 'must be an object');
  const projectId = assertProjectId('options.projectId', options.projectId);
  const endpoint = resolveEndpoint('cbr', options.region, options.endpoint, 'options.endpoint');
  const auth = options.auth as CbrAuth | undefined;
  if (auth?.type === 'aksk') {
    if (typeof auth.ak !== 'string' || auth.ak === '') throw new CbrValidationError('options.auth.ak', 'is required');
    if (typeof auth.sk !== 'string' || auth.sk === '') throw new CbrValidationError('options.auth.sk', 'is required');
  } else if (auth?.type === 'token') {
    if (typeof auth.tokens?.getToken !== 'function') throw new CbrValidationError('options.auth.tokens', 'must have getToken()');
  } else {
    throw new CbrValidationError('options.auth', 'must be { type: "aksk", ak, sk } or { type: "token", tokens }');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CbrValidationError('options.timeoutMs', 'must be a positive integer');
  const retry = resolveRetry(options.retry);
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) throw new CbrValidationError('options.retry.maxAttempts', 'must be an integer >= 1');
  for (const k of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    if (!Number.isFinite(retry[k]) || retry[k] < 0) throw new CbrValidationError(`options.retry.${k}`, 'must be a number >= 0');
  }
  const memberIdInPath = options.memberIdInPath ?? 'project-id';
  if (memberIdInPath !== 'project-id' && memberIdInPath !== 'member-id') throw new CbrValidationError('options.memberIdInPath', "must be 'project-id' or 'member-id'");
  const memberPathId = (value: unknown): string => {
    if (memberIdInPath === 'project-id') {
      if (!isProjectId(value)) throw new CbrValidationError('memberId', `must be the member's project id (32 hex characters; options.memberIdInPath is 'project-id'), got ${JSON.stringify(value)?.slice(0, 60)}`);
      return value;
    }
    if (typeof value !== 'string' || !UUID_RE.test(value)) throw new CbrValidationError('memberId', `must be the member record's id (a UUID; options.memberIdInPath is 'member-id'), got ${JSON.stringify(value)?.slice(0, 60)}`);
    return value;
  };
  const now = options.now ?? (() => new Date());
  const limiter =
    options.rateLimit === undefined ? undefined : isRateLimiter(options.rateLimit) ? options.rateLimit : projectRateLimiter(projectId, options.rateLimit, 'options.rateLimit');
  const ex: ExecutorOptions = {
    limiter,
    origin: endpoint.origin,
    timeoutMs,
    retry,
    onCall: options.onCall,
    now,
    sleep: options.sleep ?? sleep,
    random: options.random ?? Math.random,
    transport: options.transport ?? undiciTransport,
  };
  const strategy = authStrategy(auth, now);
  const base = `${endpoint.basePath}/v3/${projectId}`;
  // Signed like the Node SDK (content-type, host, x-project-id, x-sdk-date); the others are not signed.
  const signedHeaders = { 'Content-Type': 'application/json', 'X-Project-Id': projectId };
  const unsignedHeaders = { Accept: 'application/json', 'User-Agent': USER_AGENT };

  async function call(spec: {
    operation: string;
    method: 'GET' | 'POST' | 'PUT' | 'DELETE';
    path: string;
    query?: Record<string, QueryValue>;
    body?: unknown;
    opts: CallOptions | undefined;
  }): Promise<HttpResponse> {
    const callAuth = strategy.forCall();
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    return execute(ex, {
      operation: spec.operation,
      method: spec.method,
      path: `${base}${spec.path}`,
      query: spec.query ? serializeQuery(spec.query) : '',
      ...(body === undefined ? {} : { body }),
      idempotent: spec.opts?.idempotent === true,
      signal: spec.opts?.signal,
      headers: async (url) => ({
        ...(await callAuth.headers({ method: spec.method, url, headers: { ...signedHeaders }, ...(body === undefined ? {} : { body }) })),
        ...unsignedHeaders,
      }),
      secrets: () => callAuth.secrets(),
      onAuthFailure: (err) => callAuth.onAuthFailure(err),
    });
  }

  async function json<T extends z.ZodType>(schema: T, spec: Parameters<typeof call>[0]): Promise<z.output<T>> {
    return parseResponse(schema, await call(spec), spec.operation);
  }

  const client: CbrClient = {
    projectId,

    async createVault(body, opts) {
      checkCallOptions(opts);
      const b = parseInput(S.CreateVaultRequest, body, 'body');
      return json(S.CreateVaultResponse, { operation: 'CreateVault', method: 'POST', path: '/vaults', body: b, opts });
    },

    async showVault(vaultId, opts) {
      const id = assertCbrId('vaultId', vaultId);
      checkCallOptions(opts);
      return json(S.VaultResponse, { operation: 'ShowVault', method: 'GET', path: `/vaults/${id}`, opts });
    },

    async listVault(query, opts) {
      checkCallOptions(opts);
      const q = parseInput(S.ListVaultQuery, query ?? {}, 'query');
      return json(S.ListVaultResponse, { operation: 'ListVault', method: 'GET', path: '/vaults', query: q, opts });
    },

    paginateVaults(query, page) {
      const pageSize = checkPageSize(page);
      parseInput(S.ListVaultQuery, query ?? {}, 'query');
      return paginate(pageSize, query?.offset, page?.signal, async (limit, offset, signal) => {
        const r = await client.listVault({ ...query, limit, offset }, signal ? { signal } : undefined);
        return { items: r.vaults, count: r.count };
      });
    },

    async updateVault(vaultId, body, opts) {
      const id = assertCbrId('vaultId', vaultId);
      checkCallOptions(opts);
      const b = parseInput(S.UpdateVaultRequest, body, 'body');
      return json(S.VaultResponse, { operation: 'UpdateVault', method: 'PUT', path: `/vaults/${id}`, body: b, opts });
    },

    async deleteVault(vaultId, opts) {
      const id = assertCbrId('vaultId', vaultId);
      checkCallOptions(opts);
      await call({ operation: 'DeleteVault', method: 'DELETE', path: `/vaults/${id}`, opts });
    },

    async addVaultResource(vaultId, body, opts) {
      const id = assertCbrId('vaultId', vaultId);
      checkCallOptions(opts);
      const b = parseInput(S.AddVaultResourceRequest, body, 'body');
      return json(S.AddVaultResourceResponse, { operation: 'AddVaultResource', method: 'POST', path: `/vaults/${id}/addresources`, body: b, opts });
    },

    async removeVaultResource(vaultId, body, opts) {
      const id = assertCbrId('vaultId', vaultId);
      checkCallOptions(opts);
      const b = parseInput(S.RemoveVaultResourceRequest, body, 'body');
      return json(S.RemoveVaultResourceResponse, { operation: 'RemoveVaultResource', method: 'POST', path: `/vaults/${id}/removeresources`, body: b, opts });
    },

    async createCheckpoint(body, opts) {
      checkCallOptions(opts);
      const b = parseInput(S.CreateCheckpointRequest, body, 'body');
      return json(S.CheckpointResponse, { operation: 'CreateCheckpoint', method: 'POST', path: '/checkpoints', body: b, opts });
    },

    async showCheckpoint(checkpointId, opts) {
      const id = assertCbrId('checkpointId', checkpointId);
      checkCallOptions(opts);
      return json(S.CheckpointResponse, { operation: 'ShowCheckpoint', method: 'GET', path: `/checkpoints/${id}`, opts });
    },

    async listBackups(query, opts) {
      checkCallOptions(opts);
      const q = parseInput(S.ListBackupsQuery, query ?? {}, 'query');
      return json(S.ListBackupsResponse, { operation: 'ListBackups', method: 'GET', path: '/backups', query: q, opts });
    },

    paginateBackups(query, page) {
      const pageSize = checkPageSize(page);
      parseInput(S.ListBackupsQuery, query ?? {}, 'query');
      return paginate(pageSize, query?.offset, page?.signal, async (limit, offset, signal) => {
        const r = await client.listBackups({ ...query, limit, offset }, signal ? { signal } : undefined);
        return { items: r.backups, count: r.count };
      });
    },

    async showBackup(backupId, opts) {
      const id = assertCbrId('backupId', backupId);
      checkCallOptions(opts);
      return json(S.BackupResponse, { operation: 'ShowBackup', method: 'GET', path: `/backups/${id}`, opts });
    },

    async deleteBackup(backupId, opts) {
      const id = assertCbrId('backupId', backupId);
      checkCallOptions(opts);
      const res = await call({ operation: 'DeleteBackup', method: 'DELETE', path: `/backups/${id}`, opts });
      const requestId = res.headers['x-request-id'];
      return requestId ? { requestId } : {};
    },

    async restoreBackup(backupId, body, opts) {
      const id = assertCbrId('backupId', backupId);
      checkCallOptions(opts);
      const b = parseInput(S.RestoreBackupRequest, body, 'body');
      await call({ operation: 'RestoreBackup', method: 'POST', path: `/backups/${id}/restore`, body: b, opts });
    },

    async replicateBackup(backupId, body, opts) {
      const id = assertCbrId('backupId', backupId);
      checkCallOptions(opts);
      const b = parseInput(S.ReplicateBackupRequest, body, 'body');
      return json(S.ReplicateBackupResponse, { operation: 'ReplicateBackup', method: 'POST', path: `/backups/${id}/replicate`, body: b, opts });
    },

    async addMember(backupId, body, opts) {
      const id = assertCbrId('backupId', backupId);
      checkCallOptions(opts);
      const b = parseInput(S.AddMemberRequest, body, 'body');
      return json(S.MembersResponse, { operation: 'AddMember', method: 'POST', path: `/backups/${id}/members`, body: b, opts });
    },

    async showMembersDetail(backupId, query, opts) {
      const id = assertCbrId('backupId', backupId);
      checkCallOptions(opts);
      const q = parseInput(S.ShowMembersDetailQuery, query ?? {}, 'query');
      return json(S.MembersResponse, { operation: 'ShowMembersDetail', method: 'GET', path: `/backups/${id}/members`, query: q, opts });
    },

    async showMemberDetail(backupId, memberId, opts) {
      const id = assertCbrId('backupId', backupId);
      const member = memberPathId(memberId);
      checkCallOptions(opts);
      return json(S.MemberResponse, { operation: 'ShowMemberDetail', method: 'GET', path: `/backups/${id}/members/${member}`, opts });
    },

    async updateMemberStatus(backupId, memberId, body, opts) {
      const id = assertCbrId('backupId', backupId);
      const member = memberPathId(memberId);
      checkCallOptions(opts);
      const b = parseInput(S.UpdateMemberStatusRequest, body, 'body');
      return json(S.MemberResponse, { operation: 'UpdateMemberStatus', method: 'PUT', path: `/backups/${id}/members/${member}`, body: b, opts });
    },

    async deleteMember(backupId, memberId, opts) {
      const id = assertCbrId('backupId', backupId);
      const member = memberPathId(memberId);
      checkCallOptions(opts);
      await call({ operation: 'DeleteMember', method: 'DELETE', path: `/backups/${id}/members/${member}`, opts });
    },

    async listOpLogs(query, opts) {
      checkCallOptions(opts);
      const q = parseInput(S.ListOpLogsQuery, query ?? {}, 'query');
      return json(S.ListOpLogsResponse, { operation: 'ListOpLogs', method: 'GET', path: '/operation-logs', query: q, opts });
    },

    async showOpLog(operationLogId, opts) {
      const id = assertCbrId('operationLogId', operationLogId);
      checkCallOptions(opts);
      return json(S.OperationLogResponse, { operation: 'ShowOpLog', method: 'GET', path: `/operation-logs/${id}`, opts });
    },

    async listProtectable(type, query, opts) {
      const t = parseInput(S.ProtectableType, type, 'type');
      checkCallOptions(opts);
      const q = parseInput(S.ListProtectableQuery, query ?? {}, 'query');
      return json(S.ListProtectableResponse, { operation: 'ListProtectable', method: 'GET', path: `/protectables/${t}/instances`, query: q, opts });
    },

    async showProtectable(type, instanceId, opts) {
      if (type !== 'server' && type !== 'disk') throw new CbrValidationError('type', `must be 'server' or 'disk', got ${JSON.stringify(type)?.slice(0, 40)}`);
      const id = assertCbrId('instanceId', instanceId);
      checkCallOptions(opts);
      return json(S.ShowProtectableResponse, { operation: 'ShowProtectable', method: 'GET', path: `/protectables/${type}/instances/${id}`, opts });
    },
  };
  return client;
}

/**
 * limit/offset paging: stops on a short (or empty) page, or once `offset` reaches `count` (the total
 * number of matches, cbr-api.md §1) when the answer carries one.
 */
async function* paginate<T>(
  pageSize: number,
  startOffset: number | undefined,
  signal: AbortSignal | undefined,
  fetchPage: (limit: number, offset: number, signal: AbortSignal | undefined) => Promise<{ items: T[]; count: number | null | undefined }>,
): AsyncGenerator<T, void, undefined> {
  let offset = startOffset ?? 0;
  for (;;) {
    const { items, count } = await fetchPage(pageSize, offset, signal);
    for (const item of items) yield item;
    offset += items.length;
    if (items.length < pageSize || (typeof count === 'number' && offset >= count)) return;
  }
}
