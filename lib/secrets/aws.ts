/**
 * Secret sources on AWS: Secrets Manager (GetSecretValue) and SSM Parameter Store (GetParameter with
 * decryption, for SecureString). The SDK is imported lazily on the first read, so a function that
 * never reads a secret (the local stage, inline secrets) never loads it; each source builds its client
 * once and keeps it for the container's life.
 *
 * References: a Secrets Manager name or ARN (`cbr-flow/prod/webhook-keys`,
 * `arn:aws:secretsmanager:...`), or an SSM parameter as `ssm:/cbr-flow/prod/webhook-keys` or its ARN
 * (`arn:aws:ssm:...:parameter/...`).
 */
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import { SecretError, type SecretFailure } from './errors';
import type { SecretSource } from './loader';

export interface AwsSourceOptions {
  region?: string;
  /** Endpoint override (tests: a loopback server speaking the service's JSON protocol). */
  endpoint?: string;
  /** Anything else for the SDK client (credentials, maxAttempts, ...). */
  clientConfig?: SecretsManagerClientConfig & SSMClientConfig;
}

const NOT_FOUND = new Set(['ResourceNotFoundException', 'ParameterNotFound', 'ParameterVersionNotFound']);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'DecryptionFailure',
  'InvalidKeyId',
  'InvalidClientTokenId',
  'ExpiredTokenException',
]);
// Secrets Manager answers InvalidRequestException for a secret scheduled for deletion; the operator must act.
const PERMANENT = new Set(['InvalidRequestException', 'InvalidParameterException', 'ValidationException']);

/** Map an SDK error to a SecretError that names the secret and the AWS error code, not the value. */
export function secretErrorFromAws(ref: string, error: unknown): SecretError {
  const name = (error as { name?: unknown })?.name;
  const code = typeof name === 'string' ? name : 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  let reason: SecretFailure = 'unavailable';
  if (NOT_FOUND.has(code)) reason = 'not_found';
  else if (DENIED.has(code)) reason = 'access_denied';
  const permanent = reason !== 'unavailable' || PERMANENT.has(code);
  const what = reason === 'not_found' ? 'does not exist' : reason === 'access_denied' ? 'may not be read by this function' : 'could not be read';
  return new SecretError(ref, reason, `${what} (${code}${status ? `, HTTP ${status}` : ''})`, { cause: error, retryable: !permanent });
}

function clientConfigOf(options: AwsSourceOptions): SecretsManagerClientConfig & SSMClientConfig {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.clientConfig ?? {}),
  };
}

/**
 * A source whose AWS client is imported and built on first read (the SDK package is only loaded by the
 * functions that need it), shared by later reads; a failed build is retried on the next read, and every
 * AWS error becomes a SecretError naming the reference, never the value.
 */
function lazyAwsSource(ref: string, build: () => Promise<() => Promise<string>>): SecretSource {
  let reader: Promise<() => Promise<string>> | undefined;
  return {
    ref,
    async read() {
      reader ??= build().catch((error: unknown) => {
        reader = undefined;
        throw error;
      });
      try {
        return await (await reader)();
      } catch (error) {
        throw secretErrorFromAws(ref, error);
      }
    },
  };
}

export function secretsManagerSource(secretId: string, options: AwsSourceOptions = {}): SecretSource {
  return lazyAwsSource(secretId, async () => {
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const sm = new SecretsManagerClient(clientConfigOf(options));
    return async () => {
      const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof out.SecretString === 'string') return out.SecretString;
      if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('utf8');
      return '';
    };
  });
}

export function ssmParameterSource(name: string, options: AwsSourceOptions = {}): SecretSource {
  return lazyAwsSource(name, async () => {
    const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const ssm = new SSMClient(clientConfigOf(options));
    return async () => {
      const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter?.Value ?? '';
    };
  });
}

/** `ssm:<name>` or an SSM parameter ARN -> Parameter Store; anything else -> Secrets Manager. */
export function secretSourceFromRef(ref: string, options: AwsSourceOptions = {}): SecretSource {
  if (ref.startsWith('ssm:')) return ssmParameterSource(ref.slice(4), options);
  if (/^arn:[^:]+:ssm:/.test(ref)) return ssmParameterSource(ref, options);
  return secretsManagerSource(ref, options);
}
