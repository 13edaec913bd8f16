import { AppError } from '../lib/errors';

/**
 * The local runtime cannot do what the packaged template asks (an intrinsic it cannot resolve, a
 * wiring AWS would reject, a handler file that does not exist...). `where` names the template path.
 */
export class LocalRuntimeError extends AppError {
  override readonly name = 'LocalRuntimeError';
  readonly where: string | undefined;

  constructor(message: string, options: { where?: string; cause?: unknown } = {}) {
    super(options.where ? `${options.where}: ${message}` : message, { cause: options.cause });
    this.where = options.where;
  }
}

/** A function invocation that failed: the handler threw, timed out or its worker crashed. */
export class FunctionInvocationError extends AppError {
  override readonly name = 'FunctionInvocationError';
  readonly functionName: string;
  /** What Lambda would report as `errorType` (the thrown error's name, or `Sandbox.Timedout`). */
  readonly errorType: string;
  readonly timedOut: boolean;

  constructor(functionName: string, errorType: string, message: string, options: { cause?: unknown; timedOut?: boolean } = {}) {
    super(`${functionName}: ${errorType}: ${message}`, { cause: options.cause });
    this.functionName = functionName;
    this.errorType = errorType;
    this.timedOut = options.timedOut ?? false;
  }
}
