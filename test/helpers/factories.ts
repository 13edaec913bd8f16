/**
 * Typed AWS Lambda event factories (never `as any`): SQS records/batches, HTTP API v2 requests,
 * EventBridge scheduled events and a Lambda context.
 */
import type { APIGatewayProxyEventV2, Context, ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Message } from '../../lib/contracts';

let counter = 0;

export function makeSqsRecord(body: Message | string, overrides: Partial<SQSRecord> & { receiveCount?: number } = {}): SQSRecord {
  counter++;
  const { receiveCount, ...rest } = overrides;
  const message = typeof body === 'string' ? undefined : body;
  return {
    messageId: `msg-${counter}`,
    receiptHandle: `rh-${counter}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount ?? 1),
      SentTimestamp: '1763805600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1763805600001',
    },
    messageAttributes: message
      ? {
          type: { dataType: 'String', stringValue: message.type, stringListValues: [], binaryListValues: [] },
          runId: { dataType: 'String', stringValue: message.runId, stringListValues: [], binaryListValues: [] },
        }
      : {},
    md5OfBody: '0'.repeat(32),
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:cbr-flow-test-queue',
    awsRegion: 'us-east-1',
    ...rest,
  };
}

export function makeSqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export function makeHttpEvent(init: {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  routeKey?: string;
  body?: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  /** The JWT authorizer's claims (requestContext.authorizer.jwt.claims), as API Gateway passes them after verifying a token. */
  claims?: Record<string, unknown>;
}): APIGatewayProxyEventV2 {
  const routeKey = init.routeKey ?? `${init.method} ${init.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: init.path,
    rawQueryString: new URLSearchParams(init.queryStringParameters ?? {}).toString(),
    headers: { host: 'api.example.com', 'x-forwarded-proto': 'https', ...(init.headers ?? {}) },
    ...(init.queryStringParameters ? { queryStringParameters: init.queryStringParameters } : {}),
    ...(init.pathParameters ? { pathParameters: init.pathParameters } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method: init.method, path: init.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: `req-${++counter}`,
      routeKey,
      stage: '$default',
      time: '22/Nov/2026:10:00:00 +0000',
      timeEpoch: 1763805600000,
      ...(init.claims ? { authorizer: { jwt: { claims: init.claims, scopes: null } } } : {}),
    } as APIGatewayProxyEventV2['requestContext'],
  };
}

export function makeScheduledEvent(time = '2026-11-22T10:00:00Z'): ScheduledEvent {
  return {
    version: '0',
    id: `evt-${++counter}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time,
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:000000000000:rule/cbr-flow-check-status'],
    detail: {},
  };
}

export function makeContext(functionName = 'cbr-flow-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `aws-${++counter}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Claims of a reader allowed to see every project (`cbr_projects: *`), for GET tests that are not about scope. */
export const ALL_PROJECTS_READER = { sub: 'operator', cbr_projects: '*' } as const;

/** The table and queue settings every function's config requires, pointing nowhere (tests that only build config). */
export const UNREACHABLE_AWS_ENV = {
  TABLE_NAME: 'runs',
  INTAKE_QUEUE_URL: 'http://127.0.0.1:1/q/intake',
  VAULT_QUEUE_URL: 'http://127.0.0.1:1/q/vault',
  RESOURCES_QUEUE_URL: 'http://127.0.0.1:1/q/resources',
  CHECKPOINT_QUEUE_URL: 'http://127.0.0.1:1/q/checkpoint',
  SHARE_QUEUE_URL: 'http://127.0.0.1:1/q/share',
  EVENTS_QUEUE_URL: 'http://127.0.0.1:1/q/events',
} as const;
