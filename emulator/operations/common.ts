/**
 * What every emulated CBR operation shares: the request context and result, the query parameter checks
 * (violations are 400 9900 naming the parameter), paging and path-id checks.
 */
import { cbrError, EmulatorHttpError, paramError } from '../errors';
import { MSG } from '../messages';
import type { CbrCode } from '../messages';
import { HEX32_RE, UUID_RE } from '../schemas';
import { PROVIDER_DISK, PROVIDER_SERVER, PROVIDER_TURBO, PROVIDER_WORKSPACE } from '../store';

export interface OpContext {
  projectId: string;
  now: number;
  requestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  userId: string;
}

export interface OpResult {
  status: number;
  body?: unknown;
}

export type Json = Record<string, unknown>;

export const OBJECT_TYPE_RESOURCE: Record<string, string | undefined> = {
  server: 'OS::Nova::Server',
  disk: 'OS::Cinder::Volume',
  turbo: 'OS::Sfs::Turbo',
  workspace: 'OS::Workspace::DesktopV2',
};
export const PROVIDER_BY_OBJECT: Record<string, string> = {
  server: PROVIDER_SERVER,
  disk: PROVIDER_DISK,
  turbo: PROVIDER_TURBO,
  workspace: PROVIDER_WORKSPACE,
};
export const SPEC_BY_OBJECT: Record<string, string> = {
  server: 'vault.backup.server.normal',
  disk: 'vault.backup.volume.normal',
  turbo: 'vault.backup.turbo.normal',
  rds: 'vault.backup.database.normal',
};
export const BACKUP_STATUSES = ['available', 'protecting', 'deleting', 'restoring', 'error', 'waiting_protect', 'waiting_delete', 'waiting_restore'];
export const SORT_KEYS = ['created_at', 'updated_at', 'name', 'status', 'protected_at', 'id'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const OPLOG_TYPES = ['backup', 'copy', 'replication', 'delete', 'restore', 'vault_delete', 'remove_resource', 'sync'];
export const OPLOG_STATUSES = ['success', 'skipped', 'failed', 'running', 'timeout', 'waiting'];
export const QUERY_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export function err(status: number, code: CbrCode, detail?: string): EmulatorHttpError {
  return cbrError(status, code, detail ? `${MSG[code]} ${detail}` : MSG[code]);
}

// ---- query helpers (violations are 400 9900 naming the parameter) -------------------------------

export function intParam(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!/^-?\d+$/.test(raw)) throw paramError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw paramError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function enumParam(q: URLSearchParams, name: string, allowed: readonly string[]): string | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!allowed.includes(raw)) throw paramError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw;
}

export function enumListParam(q: URLSearchParams, name: string, allowed: readonly string[]): string[] {
  const values = q.getAll(name);
  for (const v of values) if (!allowed.includes(v)) throw paramError(name, `must be one of ${allowed.join(', ')}, got "${v}"`);
  return values;
}

export function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (raw !== 'true' && raw !== 'false') throw paramError(name, `must be true or false, got "${raw}"`);
  return raw === 'true';
}

export function timeParam(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!QUERY_TIME_RE.test(raw) || Number.isNaN(Date.parse(raw))) throw paramError(name, `must be formatted YYYY-MM-DDTHH:MM:SSZ, got "${raw}"`);
  return Date.parse(raw);
}

export function parseSort(raw: string | null): Array<{ key: SortKey; desc: boolean }> {
  if (raw === null || raw === '') return [{ key: 'created_at', desc: true }];
  if (raw.length > 255) throw paramError('sort', 'must be at most 255 characters');
  return raw.split(',').map((part) => {
    const [key, dir, extra] = part.split(':');
    if (!SORT_KEYS.includes(key as SortKey)) throw paramError('sort', `unknown sort key "${key}" (allowed: ${SORT_KEYS.join(', ')})`);
    if (extra !== undefined || (dir !== undefined && dir !== 'asc' && dir !== 'desc')) throw paramError('sort', `direction must be asc or desc in "${part}"`);
    return { key: key as SortKey, desc: dir !== 'asc' };
  });
}

export function page<T>(items: T[], q: URLSearchParams, maxLimit = 1000): { page: T[]; limit?: number; offset?: number } {
  const limit = intParam(q, 'limit', 1, maxLimit);
  const offset = intParam(q, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  return { page: items.slice(offset, offset + (limit ?? maxLimit)), ...(limit === undefined ? {} : { limit }), offset };
}

export function requirePathId(value: string | undefined, name: string, re: RegExp = UUID_RE): string {
  if (value === undefined || !re.test(value)) throw paramError(name, `must be a ${re === HEX32_RE ? '32-hex id' : 'UUID'}, got "${value ?? ''}"`);
  return value;
}
