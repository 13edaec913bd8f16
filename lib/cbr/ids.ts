import { CbrValidationError } from './errors';

/** Canonical 8-4-4-4-12 UUID (any version), hex in either case. */
export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Huawei project ids (and some resource ids): 32 hex characters, no dashes. */
export const HEX32_RE = /^[0-9a-fA-F]{32}$/;

export function isCbrId(value: unknown): value is string {
  return typeof value === 'string' && (UUID_RE.test(value) || HEX32_RE.test(value));
}

export function isProjectId(value: unknown): value is string {
  return typeof value === 'string' && HEX32_RE.test(value);
}

function shown(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'undefined' : typeof value;
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Every id interpolated into a URL path goes through here first, so a value like `../vaults` or
 * `x?limit=1` can never turn into a request to another path: it is a CbrValidationError naming the
 * parameter, and no request is sent.
 */
export function assertCbrId(param: string, value: unknown): string {
  if (!isCbrId(value)) {
    throw new CbrValidationError(param, `must be a UUID (8-4-4-4-12 hex) or 32 hex characters, got ${shown(value)}`);
  }
  return value;
}

export function assertProjectId(param: string, value: unknown): string {
  if (!isProjectId(value)) {
    throw new CbrValidationError(param, `must be a project id (32 hex characters), got ${shown(value)}`);
  }
  return value;
}
