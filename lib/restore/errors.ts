import { AppError } from '../errors';

/**
 * A restore cbr-flow will not make, or CBR refused. `kind` is what the edge maps: 'invalid' (400: the
 * request cannot be made as asked, e.g. mappings that do not fit), 'conflict' (409: the target or the
 * restore is in a state that forbids it now, e.g. CBR's 2002/2010, another target for the same id),
 * 'not-found' (404). `field` names the part of the request at fault; `code` is CBR's when it refused.
 */
export class RestoreRefusedError extends AppError {
  override readonly name = 'RestoreRefusedError';
  readonly kind: 'invalid' | 'conflict' | 'not-found';
  readonly field: string;
  readonly code: string;
  constructor(kind: RestoreRefusedError['kind'], field: string, code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: false });
    this.kind = kind;
    this.field = field;
    this.code = code;
  }
}

/** A restore id the store does not know. */
export class RestoreNotFoundError extends AppError {
  override readonly name = 'RestoreNotFoundError';
  constructor(readonly restoreId: string) {
    super(`restore ${restoreId} not found`);
  }
}
