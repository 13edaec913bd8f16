import { AppError } from '../errors';

/**
 * Why a secret could not be used. Only `retryable` ones are worth trying again (the secret store was
 * unreachable or throttled); the others need an operator (missing, forbidden, or a bad value).
 */
export type SecretFailure = 'not_found' | 'access_denied' | 'unavailable' | 'empty' | 'invalid_json' | 'invalid_value';

/**
 * A secret could not be read or does not match its schema. The message and `issues` name the secret
 * (its id/ARN, never its value) and the offending fields; they never contain any part of the value.
 * Deliberately NOT a ValidationError: a bad secret is the deployment's fault, not the caller's, and
 * must never be answered with a 400 at the HTTP edge.
 */
export class SecretError extends AppError {
  override readonly name = 'SecretError';
  readonly secretRef: string;
  readonly reason: SecretFailure;
  readonly issues: ReadonlyArray<{ field: string; message: string }>;

  constructor(
    secretRef: string,
    reason: SecretFailure,
    message: string,
    options: { cause?: unknown; retryable?: boolean; issues?: ReadonlyArray<{ field: string; message: string }> } = {},
  ) {
    super(`secret ${secretRef}: ${message}`, { cause: options.cause, retryable: options.retryable ?? reason === 'unavailable' });
    this.secretRef = secretRef;
    this.reason = reason;
    this.issues = options.issues ?? [];
  }
}
