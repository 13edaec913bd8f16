import { AppError } from '../errors';

/** A message that does not belong to the run's current state (e.g. its vault differs from the run's). */
export class StepMismatchError extends AppError {
  override readonly name = 'StepMismatchError';
  constructor(message: string) {
    super(message, { retryable: false });
  }
}
