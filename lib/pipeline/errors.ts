import { AppError } from '../errors';

/** A message that does not belong to the run's current state (e.g. its vault differs from the run's). */
export class StepMismatchError extends AppError {
  override readonly name = 'StepMismatchError';
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/**
 * A CBR answer parsed but lacks what this step needs (e.g. CreateVault with neither `vault` nor an order
 * id): names the operation and the field, and the run records it (code CBR_ANSWER_MISSING_FIELD, the
 * code the client gives an answer missing a required field).
 */
export class AnswerMissingFieldError extends AppError {
  override readonly name = 'AnswerMissingFieldError';
  readonly code = 'CBR_ANSWER_MISSING_FIELD';
  constructor(
    readonly operation: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${operation} answer lacks ${field}: ${detail}`, { retryable: false });
  }
}

/** A step that must be retried on the message's next delivery (e.g. a CBR call that cannot finish in time). */
export class StepRetryError extends AppError {
  override readonly name = 'StepRetryError';
  readonly code: string;
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: true });
    this.code = code;
  }
}

/**
 * No CBR credentials for a run's project: CBR_CREDENTIALS_MAP has no entry for it and no "*" default
 * (lib/wiring/credentials.ts). Not retryable: the deployment's setting must change; the run fails.
 */
export class CredentialsNotMappedError extends AppError {
  override readonly name = 'CredentialsNotMappedError';
  readonly code = 'CREDENTIALS_NOT_MAPPED';
  constructor(
    readonly projectId: string,
    mapped: ReadonlyArray<string>,
  ) {
    super(
      `no CBR credentials for project ${projectId}: CBR_CREDENTIALS_MAP has no entry for it and no "*" default (mapped: ${mapped.length > 0 ? mapped.join(', ') : 'none'}); add "${projectId}": "<secret name/ARN or ssm:<param>>" to it`,
      { retryable: false },
    );
  }
}
