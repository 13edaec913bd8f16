import { AppError, ValidationError } from '../errors';

/**
 * How the call failed:
 *  - `http`: the server answered with a non-2xx status (envelope parsed into errorCode/errorMsg);
 *  - `network`: no HTTP answer (connection refused/reset, DNS, socket closed);
 *  - `timeout`: the per-attempt timeout fired;
 *  - `invalid-response`: a 2xx whose body is not the JSON the reference describes.
 */
export type CbrErrorKind = 'http' | 'network' | 'timeout' | 'invalid-response';

export interface CbrApiErrorInit {
  kind: CbrErrorKind;
  operation: string;
  httpStatus?: number;
  errorCode?: string;
  errorMsg?: string;
  requestId?: string;
  notFound?: boolean;
  retryable: boolean;
  attempts?: number;
  cause?: unknown;
}

/** Any failure of a CBR (or IAM token) call after the request was validated. */
export class CbrApiError extends AppError {
  override readonly name = 'CbrApiError';
  readonly kind: CbrErrorKind;
  /** SDK operation name, e.g. `ShowCheckpoint`, `KeystoneCreateUserTokenByPassword`. */
  readonly operation: string;
  /** Undefined when no HTTP answer was received (network, timeout). */
  readonly httpStatus: number | undefined;
  /** `BackupService.6105`, `APIGW.0308`, IAM `401`, ... */
  readonly errorCode: string | undefined;
  readonly errorMsg: string | undefined;
  /** Response header `X-Request-Id` (gateway bodies' `request_id` as a fallback). */
  readonly requestId: string | undefined;
  /** 404, or the real service's 401 "Malformed request url" answer for a missing checkpoint (§7.1). */
  readonly notFound: boolean;
  /** How many HTTP attempts were made before giving up (1 = no retry). */
  attempts: number;

  constructor(message: string, init: CbrApiErrorInit) {
    super(message, { cause: init.cause, retryable: init.retryable });
    this.kind = init.kind;
    this.operation = init.operation;
    this.httpStatus = init.httpStatus;
    this.errorCode = init.errorCode;
    this.errorMsg = init.errorMsg;
    this.requestId = init.requestId;
    this.notFound = init.notFound ?? false;
    this.attempts = init.attempts ?? 1;
  }
}

/**
 * Bad input to the client (an id that is not a UUID/32-hex, a body that does not match the reference).
 * Thrown before any request is sent. `field` names the parameter, e.g. `vaultId`, `body.vault.name`.
 * Its `name` stays `ValidationError` (lib/errors.ts types it as that literal); use `instanceof`.
 */
export class CbrValidationError extends ValidationError {
  constructor(field: string, message: string, options: { cause?: unknown; issues?: ReadonlyArray<{ field: string; message: string }> } = {}) {
    super(field, message, options);
  }
}

export interface ParsedEnvelope {
  errorCode?: string;
  errorMsg?: string;
  requestId?: string;
  /** The `{"unauthorized":{"code":"401","message":"Malformed request url"}}` quirk. */
  malformedUrl: boolean;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses every error body shape of cbr-api.md §7.1: CBR/APIGW `{error_code, error_msg, request_id?}`,
 * IAM `{error: {code, message, title}}`, the `{unauthorized: {code, message}}` quirk, and (like the Go
 * SDK) `{code, message}` at the top level or one object deep. Non-JSON bodies keep a short text excerpt.
 */
export function parseErrorEnvelope(bodyText: string): ParsedEnvelope {
  let body: unknown;
  try {
    body = bodyText.trim() === '' ? undefined : JSON.parse(bodyText);
  } catch {
    const excerpt = bodyText.replace(/\s+/g, ' ').trim().slice(0, 200);
    return { malformedUrl: false, ...(excerpt ? { errorMsg: excerpt } : {}) };
  }
  if (!isRecord(body)) return { malformedUrl: false };
  const requestId = str(body.request_id);
  const withId = requestId === undefined ? {} : { requestId };
  if (str(body.error_code) !== undefined || str(body.error_msg) !== undefined) {
    return { errorCode: str(body.error_code), errorMsg: str(body.error_msg), ...withId, malformedUrl: false };
  }
  if (isRecord(body.unauthorized)) {
    const msg = str(body.unauthorized.message);
    return {
      errorCode: str(body.unauthorized.code),
      errorMsg: msg,
      ...withId,
      malformedUrl: msg !== undefined && /malformed request url/i.test(msg),
    };
  }
  const candidates: Record<string, unknown>[] = [body, ...Object.values(body).filter(isRecord)];
  for (const c of candidates) {
    const code = str(c.code) ?? str(c.error_code);
    const msg = str(c.message) ?? str(c.error_msg);
    if (code !== undefined || msg !== undefined) return { errorCode: code, errorMsg: msg, ...withId, malformedUrl: false };
  }
  return { ...withId, malformedUrl: false };
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Replaces every occurrence of a secret (SK, token, password) with `[REDACTED]`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    // Very short "secrets" would shred ordinary words; real SKs/tokens/passwords are longer.
    if (s && s.length >= 4) out = out.split(s).join('[REDACTED]');
  }
  return out;
}

export function httpError(input: {
  operation: string;
  status: number;
  bodyText: string;
  requestIdHeader: string | undefined;
  secrets: readonly (string | undefined)[];
}): CbrApiError {
  const env = parseErrorEnvelope(input.bodyText);
  const errorMsg = env.errorMsg === undefined ? undefined : redact(env.errorMsg, input.secrets);
  const errorCode = env.errorCode === undefined ? undefined : redact(env.errorCode, input.secrets);
  const requestId = input.requestIdHeader || env.requestId;
  const notFound = input.status === 404 || (input.status === 401 && env.malformedUrl);
  const parts = [`${input.operation} failed: HTTP ${input.status}`];
  if (errorCode) parts.push(errorCode);
  if (errorMsg) parts.push(errorMsg);
  const message = parts.join(' ') + (requestId ? ` (request id ${requestId})` : '');
  return new CbrApiError(message, {
    kind: 'http',
    operation: input.operation,
    httpStatus: input.status,
    errorCode,
    errorMsg,
    requestId,
    notFound,
    retryable: isRetryableStatus(input.status),
  });
}

/** zod issues -> one CbrValidationError naming the first culprit and listing all of them. */
export function validationErrorFromIssues(
  prefix: string,
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  cause: unknown,
): CbrValidationError {
  const list = issues.map((i) => ({
    field: [prefix, ...i.path.map((p) => String(p))].filter((p) => p !== '').join('.'),
    message: i.message,
  }));
  const first = list[0] ?? { field: prefix, message: 'invalid' };
  const more = list.length > 1 ? ` (and ${list.length - 1} more: ${list.slice(1).map((i) => i.field).join(', ')})` : '';
  return new CbrValidationError(first.field, `${first.message}${more}`, { cause, issues: list });
}
