import { AppError } from '../errors';

/** A run id that the store does not know (or whose record has expired). */
export class RunNotFoundError extends AppError {
  override readonly name = 'RunNotFoundError';
  readonly runId: string;
  constructor(runId: string, options: { cause?: unknown } = {}) {
    super(`run ${runId} not found`, { cause: options.cause, retryable: false });
    this.runId = runId;
  }
}

/** Too many concurrent writers on one run; the caller should try again later. */
export class RunConflictError extends AppError {
  override readonly name = 'RunConflictError';
  readonly runId: string;
  constructor(runId: string, attempts: number) {
    super(`run ${runId}: still conflicting after ${attempts} optimistic retries`, { retryable: true });
    this.runId = runId;
  }
}

/** The backing store failed (network, throttling, corrupt item). */
export class StoreError extends AppError {
  override readonly name = 'StoreError';
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options);
  }
}
