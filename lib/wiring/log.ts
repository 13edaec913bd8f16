/**
 * One JSON line per event on stdout/stderr (CloudWatch-friendly). Callers pass ids, types, outcomes and
 * error names/messages only — never a request body, credential or token. As a second line of defence
 * every line is redacted (lib/secrets/redact.ts): any secret value the container has loaded (AK/SK, IAM
 * password, IAM tokens, webhook keys: registered in `knownSecrets` by their loaders) and the value of
 * any credential-named field (`authorization`, `webhook-signature`, `password`, ...) become [REDACTED].
 */
import { redactingLogger } from '../secrets/redact';

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const writeJsonLine: Logger = (level, msg, fields = {}) => {
  const line = JSON.stringify({ level, msg, ...fields, time: new Date().toISOString() });
  if (level === 'error') console.error(line);
  else console.log(line);
};

/** The JSON-lines logger every handler uses, redacting known secrets and credential-named fields. */
export const jsonLogger: Logger = redactingLogger(writeJsonLine);

export const silentLogger: Logger = () => {};

const RANK: Record<LogLevel | 'silent', number> = { info: 0, warn: 1, error: 2, silent: 3 };

/** jsonLogger without the levels below `min` (LOG_LEVEL). */
export function leveledLogger(min: LogLevel | 'silent'): Logger {
  if (min === 'info') return jsonLogger;
  return (level, msg, fields) => {
    if (RANK[level] >= RANK[min]) jsonLogger(level, msg, fields);
  };
}

export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const e = error as Error & { errorCode?: unknown; requestId?: unknown; field?: unknown; retryable?: unknown };
  return {
    error: e.name,
    message: e.message,
    ...(typeof e.errorCode === 'string' ? { errorCode: e.errorCode } : {}),
    ...(typeof e.requestId === 'string' ? { requestId: e.requestId } : {}),
    ...(typeof e.field === 'string' ? { field: e.field } : {}),
    ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
  };
}
