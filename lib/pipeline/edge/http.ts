/**
 * The HTTP API (payload v2) edge: JSON in, JSON out, and the mapping of typed errors to status codes.
 * Hand-written rather than @middy/http-json-body-parser + http-error-handler because those answer a
 * malformed body with 415 and plain-text messages; cbr-flow answers 400 with the offending field(s).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, ValidationError } from '../../errors';
import { RunNotFoundError } from '../../store/errors';
import { errorFields, jsonLogger } from '../../wiring/log';
import type { Logger } from '../../ports';

export interface HttpResult {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class HttpError extends AppError {
  override readonly name = 'HttpError';
  /** The part of the request at fault (e.g. `headers.content-type`), named in the 4xx body. */
  readonly field: string | undefined;
  constructor(readonly statusCode: number, message: string, options: { field?: string } = {}) {
    super(message);
    this.field = options.field;
  }
}

const MAX_BODY_BYTES = 256 * 1024;

/** The request body as JSON, or a 400/413/415 naming what is wrong with it. */
export function readJsonBody(event: APIGatewayProxyEventV2): unknown {
  const type = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (type !== undefined && !/^application\/([a-z.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, `content-type must be application/json, got '${type.slice(0, 100)}'`, { field: 'headers.content-type' });
  }
  if (event.body === undefined || event.body === null || event.body === '') throw new ValidationError('body', 'is required (a JSON run request)');
  if (typeof event.body !== 'string') throw new ValidationError('body', 'must be the raw JSON text (a string)');
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpError(413, `body exceeds ${MAX_BODY_BYTES} bytes`, { field: 'body' });
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ValidationError('body', `is not valid JSON (${(cause as Error).message})`, { cause });
  }
}

export function toResponse(result: HttpResult): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: result.statusCode,
    headers: { 'content-type': 'application/json', ...(result.headers ?? {}) },
    body: JSON.stringify(result.body),
  };
}

export function errorResponse(error: unknown, log: Logger): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ValidationError) {
    return toResponse({ statusCode: 400, body: { error: 'ValidationError', message: error.message, field: error.field, issues: error.issues } });
  }
  if (error instanceof RunNotFoundError) return toResponse({ statusCode: 404, body: { error: 'NotFound', message: error.message, field: 'id' } });
  if (error instanceof HttpError) {
    return toResponse({ statusCode: error.statusCode, body: { error: 'RequestError', message: error.message, ...(error.field ? { field: error.field } : {}) } });
  }
  log('error', 'request failed', errorFields(error));
  if (error instanceof AppError && error.retryable) {
    return toResponse({ statusCode: 503, headers: { 'retry-after': '5' }, body: { error: 'Unavailable', message: 'temporarily unavailable, try again' } });
  }
  return toResponse({ statusCode: 500, body: { error: 'InternalError', message: 'internal error' } });
}

/** Lambda's context as far as a route uses it (the remaining time, for CBR call deadlines). */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
}

export function httpHandler(route: (event: APIGatewayProxyEventV2, context: InvocationContext | undefined) => Promise<HttpResult>, log: Logger = jsonLogger) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use({
      onError: async (request) => {
        request.response = errorResponse(request.error, log);
      },
    })
    .handler(async (event, context) => {
      // A direct invoke can pass anything; answer it like any other bad request instead of a TypeError.
      if (typeof event !== 'object' || event === null) throw new ValidationError('event', 'must be an API Gateway HTTP API (payload v2) event');
      return toResponse(await route(event, context as InvocationContext | undefined));
    });
}
