/**
 * CBR_CREDENTIALS_MAP (issue 13 item 4): validated at load with errors naming the project key and what is
 * wrong; each project's credentials read from its own secret (Secrets Manager / SSM over the AWS protocol
 * on loopback), one read per distinct secret, each secret's parts redacted; the old single-secret setting
 * still works and means "*".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config';
import { ValidationError } from '../../../lib/errors';
import { knownSecrets, redactText } from '../../../lib/secrets/redact';
import { projectCredentials } from '../../../lib/wiring/credentials';
import { fakeClientConfig, startFakeAws, type FakeAws } from './aws-fake';
import { UNREACHABLE_AWS_ENV } from '../../helpers/factories';

const P1 = '0605767b5780d5762fc5c0118072a564';
const P2 = '075e6035d300d48c2fd0c00b78b71ebf';
const P3 = 'b2d4f6a8c0e1f3a5b7c9d1e3f5a7b9c1';
const ENV = {
  ...UNREACHABLE_AWS_ENV,
  WEBHOOK_KEYS_SECRET: 'cbr-flow/prod/webhook-keys',
};

function issuesOf(env: Record<string, string>): Array<{ field: string; message: string }> {
  try {
    loadConfig({ ...ENV, ...env });
  } catch (error) {
    if (error instanceof ValidationError) return [...error.issues];
    throw error;
  }
  return [];
}

let aws: FakeAws;
beforeAll(async () => {
  aws = await startFakeAws();
});
afterAll(async () => {
  await aws?.stop();
});

describe('CBR_CREDENTIALS_MAP at load', () => {
  it('names the project key and what is wrong with it, every entry at once', () => {
    const map = { 'not-a-project': 'cbr/a', [P1]: 'has spaces in it', [P2]: 'arn:aws:s3:::bucket/key', [P3]: 42, '*': { type: 'aksk', ak: 'a', sk: 'b' } };
    expect(issuesOf({ STAGE: 'prod', CBR_CREDENTIALS_MAP: JSON.stringify(map) })).toEqual([
      { field: 'env.CBR_CREDENTIALS_MAP.not-a-project', message: expect.stringContaining('is not a project id: keys must be 32 lowercase hex characters') },
      { field: `env.CBR_CREDENTIALS_MAP.${P1}`, message: expect.stringContaining('is not a secret reference: use a Secrets Manager secret name or ARN, or ssm:<parameter name>') },
      { field: `env.CBR_CREDENTIALS_MAP.${P2}`, message: expect.stringContaining('is not a secret reference') },
      { field: `env.CBR_CREDENTIALS_MAP.${P3}`, message: 'must be a secret reference (a string)' },
      { field: 'env.CBR_CREDENTIALS_MAP.*', message: 'inline credentials are only allowed when STAGE=local; give a secret reference' },
    ]);
    expect(issuesOf({ STAGE: 'prod', CBR_CREDENTIALS_MAP: '{"a":' })).toEqual([{ field: 'env.CBR_CREDENTIALS_MAP', message: expect.stringContaining('is not valid JSON') }]);
    expect(issuesOf({ STAGE: 'prod', CBR_CREDENTIALS_MAP: JSON.stringify({ '*': 'cbr/default' }), CBR_CREDENTIALS_SECRET: 'cbr/old' })).toEqual([
      { field: 'env.CBR_CREDENTIALS_MAP.*', message: expect.stringContaining('both give the default credentials') },
    ]);
  });

  it('accepts secret names, Secrets Manager and SSM ARNs and ssm:<param>; the map alone is enough', () => {
    const map = {
      [P1]: 'cbr-flow/prod/account-a',
      [P2]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cbr-flow/prod/account-b-AbCdEf',
      [P3]: 'ssm:/cbr-flow/prod/account-c',
      '*': 'arn:aws:ssm:eu-west-1:123456789012:parameter/cbr-flow/prod/default',
    };
    expect(issuesOf({ STAGE: 'prod', CBR_CREDENTIALS_MAP: JSON.stringify(map) })).toEqual([]);
    expect(issuesOf({ STAGE: 'prod' })).toEqual([{ field: 'env.CBR_CREDENTIALS_SECRET', message: expect.stringContaining('CBR_CREDENTIALS_MAP') }]);
  });
});

describe('credentials per project', () => {
  const SK_A = 'sk-account-a-0123456789abcdef';
  const SK_B = 'sk-account-b-fedcba9876543210';
  const SK_OLD = 'sk-old-single-secret-5555';

  it('reads each project from its own secret, once per secret, and redacts each secret; "*" serves the rest; old single secret = "*"', async () => {
    aws.answers.set('cbr/a', { value: JSON.stringify({ type: 'aksk', ak: 'AK-A', sk: SK_A }) });
    aws.answers.set('/cbr/b', { value: JSON.stringify({ type: 'aksk', ak: 'AK-B', sk: SK_B }) });
    aws.answers.set('cbr/old', { value: JSON.stringify({ type: 'aksk', ak: 'AK-OLD', sk: SK_OLD }) });
    const config = loadConfig({ ...ENV, STAGE: 'prod', CBR_CREDENTIALS_MAP: JSON.stringify({ [P1]: 'cbr/a', [P2]: 'ssm:/cbr/b', [P3]: 'cbr/a' }), CBR_CREDENTIALS_SECRET: 'cbr/old' });
    const creds = projectCredentials(config, { aws: fakeClientConfig(aws.url) });
    const before = aws.calls.length;
    const [a, b, c, other] = await Promise.all([creds(P1), creds(P2), creds(P3), creds('ffffffffffffffffffffffffffffffff')]);
    expect([a, b, c, other].map((x) => (x.type === 'aksk' ? x.ak : x.user))).toEqual(['AK-A', 'AK-B', 'AK-A', 'AK-OLD']);
    // P1 and P3 share one secret: one read for it, one for ssm:/cbr/b, one for the old default.
    expect(aws.calls.slice(before).map((x) => x.id).sort()).toEqual(['/cbr/b', 'cbr/a', 'cbr/old']);
    await creds(P1);
    expect(aws.calls.length - before).toBe(3);
    expect(redactText(`a ${SK_A} b ${SK_B} c ${SK_OLD}`, knownSecrets.values())).not.toMatch(/sk-account|sk-old/);
  });

  it('a project with no entry and no default is refused with CREDENTIALS_NOT_MAPPED naming it', async () => {
    const config = loadConfig({ ...ENV, STAGE: 'prod', CBR_CREDENTIALS_MAP: JSON.stringify({ [P1]: 'cbr/a' }) });
    await expect(projectCredentials(config, { aws: fakeClientConfig(aws.url) })(P2)).rejects.toMatchObject({
      code: 'CREDENTIALS_NOT_MAPPED',
      retryable: false,
      message: expect.stringContaining(`no CBR credentials for project ${P2}: CBR_CREDENTIALS_MAP has no entry for it and no "*" default (mapped: ${P1})`),
    });
  });
});
