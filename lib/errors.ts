/**
 * Base of every error cbr-flow throws on purpose. Each module defines its own subclasses with a
 * `name`, a `cause` and the data that matters; the edges (HTTP, SQS, schedule handlers) map them
 * to a status code, a retry or the dead-letter queue. Nothing below the edge decides that.
 */
export abstract class AppError extends Error {
  abstract override readonly name: string;
  /** True when the same operation may succeed if tried again later (throttling, 5xx, network). */
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** Input that does not satisfy a schema or a rule. `field` is the dotted path of the culprit. */
export class ValidationError extends AppError {
  override readonly name: string = 'ValidationError';
  readonly field: string;
  readonly issues: ReadonlyArray<{ field: string; message: string }>;

  constructor(field: string, message: string, options: { cause?: unknown; issues?: ReadonlyArray<{ field: string; message: string }> } = {}) {
    super(`${field}: ${message}`, { cause: options.cause, retryable: false });
    this.field = field;
    this.issues = options.issues ?? [{ field, message }];
  }
}

/** Narrow an unknown thrown value to an Error without losing it. */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
