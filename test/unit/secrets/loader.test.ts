import * as z from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { secretErrorFromAws, secretSourceFromRef, secretsManagerSource, ssmParameterSource } from '../../../lib/secrets/aws';
import { SecretError } from '../../../lib/secrets/errors';
import { createSecretLoader, inlineSource, parseSecret } from '../../../lib/secrets/loader';
import { redactingLogger, SecretRegistry } from '../../../lib/secrets/redact';
import { WebhookKeys } from '../../../lib/webhooks/keys';
import { fakeClientConfig, startFakeAws, type FakeAws } from './aws-fake';

const KEY_A = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const KEY_B = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
const Creds = z.strictObject({ type: z.literal('aksk'), ak: z.string().min(10), sk: z.string().min(10) });

let aws: FakeAws;
beforeAll(async () => {
  aws = await startFakeAws();
});
afterAll(() => aws.stop());
beforeEach(() => {
  aws.answers.clear();
  aws.calls.length = 0;
});

const manualClock = (start = 1_000_000) => {
  const c = { t: start, now: () => c.t };
  return c;
};

describe('secret loader on Secrets Manager (loopback JSON protocol)', () => {
  it('reads GetSecretValue once, validates, and serves the cached value within the TTL', async () => {
    aws.answers.set('cbr-flow/test/keys', { value: JSON.stringify([KEY_A, KEY_B]) });
    const clock = manualClock();
    const loader = createSecretLoader({ source: secretsManagerSource('cbr-flow/test/keys', fakeClientConfig(aws.url)), schema: WebhookKeys, ttlMs: 60_000, clock, registry: new SecretRegistry() });
    expect(await loader.get()).toEqual({ keys: [KEY_A, KEY_B] });
    clock.t += 59_999;
    expect(await loader.get()).toEqual({ keys: [KEY_A, KEY_B] });
    expect(aws.calls).toHaveLength(1);
    expect(aws.calls[0]).toMatchObject({ target: 'secretsmanager.GetSecretValue', id: 'cbr-flow/test/keys' });
    expect(String(aws.calls[0]!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('concurrent callers share one fetch (single-flight)', async () => {
    aws.answers.set('slow', { delayMs: 150, then: { value: JSON.stringify({ keys: [KEY_A] }) } });
    const loader = createSecretLoader({ source: secretsManagerSource('slow', fakeClientConfig(aws.url)), schema: WebhookKeys, registry: new SecretRegistry() });
    const values = await Promise.all(Array.from({ length: 12 }, () => loader.get()));
    expect(aws.calls).toHaveLength(1);
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toEqual({ keys: [KEY_A] });
  });

  it('reads again after the TTL and picks up a rotated value', async () => {
    aws.answers.set('rot', { value: JSON.stringify([KEY_A]) });
    const clock = manualClock();
    const loader = createSecretLoader({ source: secretsManagerSource('rot', fakeClientConfig(aws.url)), schema: WebhookKeys, ttlMs: 300_000, clock, registry: new SecretRegistry() });
    expect((await loader.get()).keys).toEqual([KEY_A]);
    aws.answers.set('rot', { value: JSON.stringify([KEY_B, KEY_A]) });
    clock.t += 299_000;
    expect((await loader.get()).keys).toEqual([KEY_A]);
    clock.t += 1_000;
    expect((await loader.get()).keys).toEqual([KEY_B, KEY_A]);
    expect(aws.calls).toHaveLength(2);
  });

  it('invalidate() forces the next get() to read the source', async () => {
    aws.answers.set('inv', { value: JSON.stringify([KEY_A]) });
    const loader = createSecretLoader({ source: secretsManagerSource('inv', fakeClientConfig(aws.url)), schema: WebhookKeys, registry: new SecretRegistry() });
    await loader.get();
    loader.invalidate();
    await loader.get();
    expect(aws.calls).toHaveLength(2);
  });

  it('a bad secret names the field, never the value', async () => {
    const badKey = 'whsec_THIS-IS-THE-SECRET-VALUE';
    aws.answers.set('bad', { value: JSON.stringify({ keys: [KEY_A, badKey] }) });
    const loader = createSecretLoader({ source: secretsManagerSource('bad', fakeClientConfig(aws.url)), schema: WebhookKeys, registry: new SecretRegistry() });
    const error = await loader.get().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SecretError);
    const e = error as SecretError;
    expect(e.reason).toBe('invalid_value');
    expect(e.retryable).toBe(false);
    expect(e.issues.map((i) => i.field)).toEqual(['keys.1']);
    expect(e.message).toContain('secret bad');
    expect(e.message).toContain('keys.1');
    const everything = JSON.stringify({ m: e.message, i: e.issues, s: e.stack });
    expect(everything).not.toContain('THIS-IS-THE-SECRET-VALUE');
    expect(everything).not.toContain(KEY_A.slice(6));
  });

  it('schema messages that quote the input are redacted', () => {
    const Quoting = z.strictObject({ sk: z.string().refine(() => false, { error: (iss) => `bad sk ${String(iss.input)}` }) });
    const error = (() => {
      try {
        parseSecret('creds', JSON.stringify({ sk: 'SK-VALUE-1234567890' }), Quoting);
      } catch (e) {
        return e as SecretError;
      }
    })();
    expect(error?.issues).toEqual([{ field: 'sk', message: 'bad sk [REDACTED]' }]);
    expect(error?.message).not.toContain('SK-VALUE-1234567890');
  });

  it('invalid JSON is reported without quoting the text (JSON.parse messages do)', async () => {
    aws.answers.set('notjson', { value: '{"ak":"AK-VISIBLE-IN-PARSE-ERROR", sk: SK-VISIBLE' });
    const loader = createSecretLoader({ source: secretsManagerSource('notjson', fakeClientConfig(aws.url)), schema: Creds, registry: new SecretRegistry() });
    const e = (await loader.get().catch((x: unknown) => x)) as SecretError;
    expect(e.reason).toBe('invalid_json');
    expect(JSON.stringify({ m: e.message, s: e.stack, c: String(e.cause) })).not.toMatch(/VISIBLE/);
  });

  it('missing and forbidden secrets are permanent errors; failures are not cached', async () => {
    const loader = createSecretLoader({ source: secretsManagerSource('later', fakeClientConfig(aws.url)), schema: Creds, registry: new SecretRegistry() });
    const e = (await loader.get().catch((x: unknown) => x)) as SecretError;
    expect(e).toMatchObject({ name: 'SecretError', reason: 'not_found', retryable: false, secretRef: 'later' });
    aws.answers.set('later', { value: JSON.stringify({ type: 'aksk', ak: 'AKIDEXAMPLE01', sk: 'SKEXAMPLE0123456' }) });
    expect(await loader.get()).toMatchObject({ ak: 'AKIDEXAMPLE01' });

    aws.answers.set('denied', { error: 'AccessDeniedException', status: 400 });
    const denied = createSecretLoader({ source: secretsManagerSource('denied', fakeClientConfig(aws.url)), schema: Creds, registry: new SecretRegistry() });
    expect(await denied.get().catch((x: unknown) => x)).toMatchObject({ reason: 'access_denied', retryable: false });
  });

  it('a failed refresh serves the previous value for staleIfErrorMs, then fails retryably', async () => {
    aws.answers.set('flaky', { value: JSON.stringify([KEY_A]) });
    const clock = manualClock();
    const stale: SecretError[] = [];
    const loader = createSecretLoader({
      source: secretsManagerSource('flaky', fakeClientConfig(aws.url)),
      schema: WebhookKeys,
      ttlMs: 60_000,
      staleIfErrorMs: 120_000,
      clock,
      registry: new SecretRegistry(),
      onStale: (e) => stale.push(e),
    });
    await loader.get();
    aws.answers.set('flaky', { error: 'InternalServiceError', status: 500 });
    clock.t += 61_000;
    expect((await loader.get()).keys).toEqual([KEY_A]);
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ reason: 'unavailable', retryable: true });
    clock.t += 120_000;
    expect(await loader.get().catch((x: unknown) => x)).toMatchObject({ name: 'SecretError', reason: 'unavailable', retryable: true });
  });

  it('registers the loaded secret values so a redacting logger never prints them', async () => {
    aws.answers.set('creds', { value: JSON.stringify({ type: 'aksk', ak: 'AKIDEXAMPLE02', sk: 'SK-super-secret-99' }) });
    const registry = new SecretRegistry();
    const loader = createSecretLoader({
      source: secretsManagerSource('creds', fakeClientConfig(aws.url)),
      schema: Creds,
      registry,
      secretValues: (c) => [c.ak, c.sk],
    });
    const lines: string[] = [];
    const log = redactingLogger((level, msg, fields) => lines.push(JSON.stringify({ level, msg, ...fields })), registry);
    const creds = await loader.get();
    log('error', `signing with ${creds.sk} failed`, { detail: { url: `https://x/?k=${encodeURIComponent(creds.sk)}` }, err: new Error(`ak ${creds.ak}`) });
    expect(lines[0]).not.toContain('SK-super-secret-99');
    expect(lines[0]).not.toContain('AKIDEXAMPLE02');
    expect(lines[0]).toContain('[REDACTED]');
  });
});

describe('secret sources', () => {
  it('SSM SecureString by ssm:<name> and by ARN (GetParameter WithDecryption)', async () => {
    aws.answers.set('/cbr-flow/test/keys', { value: JSON.stringify([KEY_B]) });
    const byName = createSecretLoader({ source: secretSourceFromRef('ssm:/cbr-flow/test/keys', fakeClientConfig(aws.url)), schema: WebhookKeys, registry: new SecretRegistry() });
    expect((await byName.get()).keys).toEqual([KEY_B]);
    expect(aws.calls[0]).toMatchObject({ target: 'AmazonSSM.GetParameter', body: { Name: '/cbr-flow/test/keys', WithDecryption: true } });

    const arn = 'arn:aws:ssm:us-east-1:000000000000:parameter/cbr-flow/test/keys';
    aws.answers.set(arn, { value: JSON.stringify([KEY_A]) });
    expect(await ssmParameterSource(arn, fakeClientConfig(aws.url)).read()).toBe(JSON.stringify([KEY_A]));
    expect(secretSourceFromRef(arn).ref).toBe(arn);
    expect(aws.calls[1]).toMatchObject({ target: 'AmazonSSM.GetParameter', id: arn });
  });

  it('a Secrets Manager name or ARN goes to GetSecretValue', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:cbr-flow/test/x-AbCdEf';
    aws.answers.set(arn, { value: '[]' });
    await secretSourceFromRef(arn, fakeClientConfig(aws.url)).read();
    expect(aws.calls[0]).toMatchObject({ target: 'secretsmanager.GetSecretValue', id: arn });
  });

  it('inline JSON (local stage) is validated the same way', async () => {
    const loader = createSecretLoader({ source: inlineSource('WEBHOOK_KEYS_JSON', '["whsec_bad"]'), schema: WebhookKeys, registry: new SecretRegistry() });
    expect(await loader.get().catch((x: unknown) => x)).toMatchObject({ reason: 'invalid_value', issues: [{ field: 'keys.0' }] });
  });

  it('maps AWS error names to permanent or retryable failures', () => {
    const err = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(secretErrorFromAws('s', err('ThrottlingException', 400))).toMatchObject({ reason: 'unavailable', retryable: true });
    expect(secretErrorFromAws('s', err('InternalServiceError', 500))).toMatchObject({ reason: 'unavailable', retryable: true });
    expect(secretErrorFromAws('s', err('DecryptionFailure', 400))).toMatchObject({ reason: 'access_denied', retryable: false });
    expect(secretErrorFromAws('s', err('ParameterNotFound', 400))).toMatchObject({ reason: 'not_found', retryable: false });
    expect(secretErrorFromAws('s', err('InvalidRequestException', 400))).toMatchObject({ reason: 'unavailable', retryable: false });
  });
});
