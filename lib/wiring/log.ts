/**
 * One JSON line per event on stdout/stderr (CloudWatch-friendly). Callers pass ids, types, outcomes and
 * error names/messages only — never a request body, credential or token. As a second line of defence
 * every line is redacted (lib/secrets/redact.ts): any secret value the container has loaded (AK/SK, IAM
 * password, IAM tokens, webhook keys: registered in `knownSecrets` by their loaders) and the value of
 * any credential-named field (`authorization`, `webhook-signature`, `password`, ...) become [REDACTED].
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';
import type { Logger, LogLevel } from '../ports';
import { redactingLogger } from '../secrets/redact';

// The port's types, re-exported for the callers that import the adapter (the one definition: lib/ports.ts).
export type { Logger, LogLevel };

/** The Lambda fields every line of an invocation carries (Powertools Logger's names). */
export interface InvocationFields {
  function_request_id: string;
  function_name: string;
  cold_start: boolean;
}

const invocation = new AsyncLocalStorage<InvocationFields>();
// Powertools' rule: the first invocation of an on-demand container is the cold start; a provisioned
// container was initialised ahead of any request.
let coldStart = process.env.AWS_LAMBDA_INITIALIZATION_TYPE !== 'provisioned-concurrency';

/**
 * Runs a Lambda handler with its invocation's fields in every log line written during it (awaited
 * work included; concurrent invocations in one process, as in tests and the local runtime, keep
 * their own). A handler wrapped inside another one keeps the outer invocation's fields.
 * (@aws-lambda-powertools/logger measured +24 KB minified and +6.6 ms require at cold start, and
 * would need its own formatter for the value-based redaction; this is the part of it we use.)
 */
export function withInvocationFields<E, R>(handler: (event: E, context: Context) => Promise<R>): (event: E, context: Context) => Promise<R> {
  return (event, context) => {
    if (invocation.getStore()) return handler(event, context);
    const fields: InvocationFields = {
      function_request_id: typeof context?.awsRequestId === 'string' ? context.awsRequestId : 'unknown',
      function_name: typeof context?.functionName === 'string' ? context.functionName : 'unknown',
      cold_start: coldStart,
    };
    coldStart = false;
    return invocation.run(fields, () => handler(event, context));
  };
}

const writeJsonLine: Logger = (level, msg, fields = {}) => {
  const line = JSON.stringify({ level, msg, ...invocation.getStore(), ...fields, time: new Date().toISOString() });
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
