/**
 * The HTTP API (payload v2) edge: JSON in, JSON out, and the mapping of typed errors to status codes.
 * Hand-written rather than @middy/http-json-body-parser + http-error-handler because those answer a
 * malformed body with 415 and plain-text messages; cbr-flow answers 400 with the offending field(s).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, ValidationError } from '../../errors';
import { RunNotFoundError } from '../../store/errors';
import { errorFields, jsonLogger, type Logger } from '../log';

export interface HttpResult {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class HttpError extends AppError {
  override readonly name = 'HttpError';
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 256 * 1024;

/** The request body as JSON, or a 400/413/415 naming what is wrong with it. */
export function readJsonBody(event: APIGatewayProxyEventV2): unknown {
  const type = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (type !== undefined && !/^application\/([a-z.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, `content-type must be application/json, got '${type.slice(0, 100)}'`);
  }
  if (event.body === undefined || event.body === '') throw new ValidationError('body', 'is required (a JSON run request)');
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpError(413, `body exceeds ${MAX_BODY_BYTES} bytes`);
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
  if (error instanceof RunNotFoundError) return toResponse({ statusCode: 404, body: { error: 'NotFound', message: error.message } });
  if (error instanceof HttpError) return toResponse({ statusCode: error.statusCode, body: { error: 'RequestError', message: error.message } });
  log('error', 'request failed', errorFields(error));
  if (error instanceof AppError && error.retryable) {
    return toResponse({ statusCode: 503, headers: { 'retry-after': '5' }, body: { error: 'Unavailable', message: 'temporarily unavailable, try again' } });
  }
  return toResponse({ statusCode: 500, body: { error: 'InternalError', message: 'internal error' } });
}

export function httpHandler(route: (event: APIGatewayProxyEventV2) => Promise<HttpResult>, log: Logger = jsonLogger) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use({
      onError: async (request) => {
        request.response = errorResponse(request.error, log);
      },
    })
    .handler(async (event) => toResponse(await route(event)));
}
