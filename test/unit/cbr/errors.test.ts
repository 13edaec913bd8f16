import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../lib/errors';
import { createCbrClient } from '../../../lib/cbr/client';
import type { CbrClient } from '../../../lib/cbr/client';
import { CbrApiError, parseErrorEnvelope } from '../../../lib/cbr/errors';
import { startLoopbackServer } from '../../helpers/loopback-server';
import type { LoopbackServer } from '../../helpers/loopback-server';
import { AK, CHECKPOINT_ID, P, SK, VAULT_ID } from './fixtures';

let server: LoopbackServer;
let client: CbrClient;
beforeAll(async () => {
  server = await startLoopbackServer();
  client = createCbrClient({
    region: 'ap-southeast-1',
    projectId: P,
    endpoint: server.url,
    auth: { type: 'aksk', ak: AK, sk: SK },
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
  });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
});

async function failure(p: Promise<unknown>): Promise<CbrApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CbrApiError);
  return err as CbrApiError;
}

describe('error envelopes of cbr-api.md §7.1, end to end', () => {
  it('CBR {error_code, error_msg} 404 + X-Request-Id: notFound, not retried', async () => {
    server.respond(() => ({
      status: 404,
      headers: { 'X-Request-Id': 'a1b2c3d4e5f60718293a4b5c6d7e8f90' },
      body: { error_code: 'BackupService.6105', error_msg: 'The vault does not exist.' },
    }));
    const e = await failure(client.showVault(VAULT_ID));
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({
      name: 'CbrApiError',
      kind: 'http',
      operation: 'ShowVault',
      httpStatus: 404,
      errorCode: 'BackupService.6105',
      errorMsg: 'The vault does not exist.',
      requestId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
      notFound: true,
      retryable: false,
      attempts: 1,
    });
    expect(e.message).toBe('ShowVault failed: HTTP 404 BackupService.6105 The vault does not exist. (request id a1b2c3d4e5f60718293a4b5c6d7e8f90)');
    expect(server.requests).toHaveLength(1);
  });

  it('CBR 400 validation error (9900) is never retried, even for a GET', async () => {
    server.respond(() => ({ status: 400, body: { error_code: 'BackupService.9900', error_msg: 'Parameter verification failed.' } }));
    const e = await failure(client.listBackups({ vault_id: VAULT_ID }));
    expect(e).toMatchObject({ httpStatus: 400, errorCode: 'BackupService.9900', retryable: false, notFound: false });
    expect(server.requests).toHaveLength(1);
  });

  it('API gateway envelope: request_id from the body when the header is missing, header wins otherwise', async () => {
    const body = { error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information: verify aksk signature fail', request_id: 'body-req-id' };
    server.respond(() => ({ status: 401, headers: { 'x-request-id': null }, body }));
    let e = await failure(client.showVault(VAULT_ID));
    expect(e).toMatchObject({ httpStatus: 401, errorCode: 'APIGW.0301', requestId: 'body-req-id', retryable: false, notFound: false });
    server.respond(() => ({ status: 401, headers: { 'x-request-id': 'hdr-req-id' }, body }));
    e = await failure(client.showVault(VAULT_ID));
    expect(e.requestId).toBe('hdr-req-id');
    expect(parseErrorEnvelope(JSON.stringify(body))).toEqual({ errorCode: 'APIGW.0301', errorMsg: body.error_msg, requestId: 'body-req-id', malformedUrl: false });
  });

  it('API gateway throttling 429 APIGW.0308 is retryable', async () => {
    server.respond(() => ({ status: 429, body: { error_code: 'APIGW.0308', error_msg: 'The throttling threshold has been reached.', request_id: 'x' } }));
    const e = await failure(client.showVault(VAULT_ID));
    expect(e).toMatchObject({ httpStatus: 429, errorCode: 'APIGW.0308', retryable: true, attempts: 3 });
    expect(server.requests).toHaveLength(3);
  });

  it('IAM envelope {error: {code, message, title}} with a numeric code', async () => {
    server.respond(() => ({ status: 403, body: { error: { code: 403, message: 'You are not authorized to perform the requested action.', title: 'Forbidden' } } }));
    const e = await failure(client.showVault(VAULT_ID));
    expect(e).toMatchObject({ httpStatus: 403, errorCode: '403', errorMsg: 'You are not authorized to perform the requested action.', retryable: false, notFound: false });
  });

  it('the 401 {"unauthorized": "Malformed request url"} quirk for a missing checkpoint maps to notFound', async () => {
    server.respond(() => ({ status: 401, body: { unauthorized: { code: '401', message: 'Malformed request url' } } }));
    const e = await failure(client.showCheckpoint(CHECKPOINT_ID));
    expect(e).toMatchObject({ httpStatus: 401, errorCode: '401', errorMsg: 'Malformed request url', notFound: true, retryable: false, operation: 'ShowCheckpoint' });
    expect(server.requests).toHaveLength(1);
  });

  it('other 401s are not notFound', async () => {
    server.respond(() => ({ status: 401, body: { unauthorized: { code: '401', message: 'The request you have made requires authentication.' } } }));
    expect((await failure(client.showCheckpoint(CHECKPOINT_ID))).notFound).toBe(false);
  });

  it('a non-JSON 502 from a proxy: retryable, short text excerpt as errorMsg', async () => {
    server.respond(() => ({ status: 502, body: '<html>\n<body>Bad   Gateway</body></html>' }));
    const e = await failure(client.showVault(VAULT_ID));
    expect(e).toMatchObject({ httpStatus: 502, errorCode: undefined, errorMsg: '<html> <body>Bad Gateway</body></html>', retryable: true });
    expect(server.requests).toHaveLength(3);
  });

  it('a 500 with an empty body', async () => {
    server.respond(() => ({ status: 500 }));
    const e = await failure(client.showVault(VAULT_ID));
    expect(e).toMatchObject({ httpStatus: 500, errorCode: undefined, errorMsg: undefined, retryable: true });
  });

  it('never puts the SK in an error, even if the server echoes it', async () => {
    server.respond(() => ({ status: 400, body: { error_code: `X.${SK}`, error_msg: `bad key ${SK} for ${AK}` } }));
    const e = await failure(client.showVault(VAULT_ID));
    const everything = `${e.message} ${e.errorMsg} ${e.errorCode} ${JSON.stringify(e)} ${String(e.stack)}`;
    expect(everything).not.toContain(SK);
    expect(e.errorMsg).toBe(`bad key [REDACTED] for ${AK}`);
  });
});

describe('parseErrorEnvelope shapes', () => {
  it.each([
    ['{"error_code":"BackupService.6500","error_msg":"Operation log does not exist."}', { errorCode: 'BackupService.6500', errorMsg: 'Operation log does not exist.', malformedUrl: false }],
    ['{"error":{"code":400,"message":"The request body is invalid","title":"Bad Request"}}', { errorCode: '400', errorMsg: 'The request body is invalid', malformedUrl: false }],
    ['{"unauthorized":{"code":"401","message":"Malformed request url"}}', { errorCode: '401', errorMsg: 'Malformed request url', malformedUrl: true }],
    ['{"code":"CBR.1","message":"top level"}', { errorCode: 'CBR.1', errorMsg: 'top level', malformedUrl: false }],
    ['{"badRequest":{"code":400,"message":"nested"}}', { errorCode: '400', errorMsg: 'nested', malformedUrl: false }],
    ['[]', { malformedUrl: false }],
    ['', { malformedUrl: false }],
    ['oops', { errorMsg: 'oops', malformedUrl: false }],
  ])('%s', (body, expected) => {
    expect(parseErrorEnvelope(body)).toEqual(expected);
  });
});
