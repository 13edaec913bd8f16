/**
 * An error answer of the emulated service. Thrown by operation code, rendered by the HTTP layer with the
 * exact envelope of its origin (CBR service, API gateway, IAM, or the "Malformed request url" quirk).
 * The X-Request-Id is added by the HTTP layer (and copied into the gateway envelope's request_id).
 */
export type ErrorEnvelope = 'cbr' | 'gateway' | 'iam' | 'malformed-url';

export class EmulatorHttpError extends Error {
  readonly status: number;
  readonly errorCode: string;
  readonly errorMsg: string;
  readonly envelope: ErrorEnvelope;
  readonly headers: Record<string, string>;

  constructor(status: number, errorCode: string, errorMsg: string, envelope: ErrorEnvelope = 'cbr', headers: Record<string, string> = {}) {
    // These are answers, not bugs: skip V8's stack capture, which cost ~10 % of CPU on error-heavy load.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${status} ${errorCode}: ${errorMsg}`);
    Error.stackTraceLimit = limit;
    this.status = status;
    this.errorCode = errorCode;
    this.errorMsg = errorMsg;
    this.envelope = envelope;
    this.headers = headers;
  }

  override get name(): string {
    return 'EmulatorHttpError';
  }

  body(requestId: string): unknown {
    switch (this.envelope) {
      case 'cbr':
        return { error_code: this.errorCode, error_msg: this.errorMsg };
      case 'gateway':
        return { error_code: this.errorCode, error_msg: this.errorMsg, request_id: requestId };
      case 'iam':
        return { error: { code: this.status, message: this.errorMsg, title: this.errorCode } };
      case 'malformed-url':
        return { unauthorized: { code: String(this.status), message: 'Malformed request url' } };
    }
  }
}

/** CBR service error: `{"error_code":"BackupService.NNNN","error_msg":...}`. */
export function cbrError(status: number, code: string, msg: string): EmulatorHttpError {
  return new EmulatorHttpError(status, code.includes('.') ? code : `BackupService.${code}`, msg, 'cbr');
}

/** Parameter check failure naming the field: 400 BackupService.9900. */
export function paramError(field: string, why: string): EmulatorHttpError {
  return cbrError(400, '9900', `Parameter verification failed: ${field}: ${why}`);
}

export function gatewayError(status: number, code: string, msg: string, headers: Record<string, string> = {}): EmulatorHttpError {
  return new EmulatorHttpError(status, code, msg, 'gateway', headers);
}

const IAM_TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' };

export function iamError(status: number, msg: string): EmulatorHttpError {
  return new EmulatorHttpError(status, IAM_TITLES[status] ?? 'Error', msg, 'iam');
}

export const AUTH_PREFIX = 'Incorrect IAM authentication information: ';
