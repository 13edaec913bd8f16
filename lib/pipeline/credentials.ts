/**
 * CBR credentials, loaded once per container at cold start: from Secrets Manager in deployed stages
 * (CBR_CREDENTIALS_SECRET), or — on the local stage only, set by the local runner — from
 * CBR_CREDENTIALS_JSON. Never from plain environment variables in a deployed stage (config refuses it),
 * never logged: errors name the missing fields, not their values.
 *
 * Hand-written instead of @middy/secrets-manager because the secret is needed to build per-project CBR
 * clients outside the middy request (in the deps factory), and the AWS SDK client is only imported
 * when a secret is actually read (never on the local stage).
 */
import * as z from 'zod';
import { AppError } from '../errors';
import type { Config } from '../config';

export const CbrCredentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('aksk'), ak: z.string().min(1), sk: z.string().min(1), securityToken: z.string().min(1).optional() }),
  z.object({ type: z.literal('password'), user: z.string().min(1), password: z.string().min(1), domainName: z.string().min(1) }),
]);
export type CbrCredentials = z.infer<typeof CbrCredentials>;

export class CredentialsError extends AppError {
  override readonly name = 'CredentialsError';
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options);
  }
}

function parseCredentials(text: string, source: string): CbrCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CredentialsError(`${source} is not JSON`);
  }
  const parsed = CbrCredentials.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new CredentialsError(`${source} must be {"type":"aksk","ak","sk"} or {"type":"password","user","password","domainName"}; bad field(s): ${fields}`);
  }
  return parsed.data;
}

export async function loadCredentials(config: Pick<Config, 'CBR_CREDENTIALS_JSON' | 'CBR_CREDENTIALS_SECRET' | 'AWS_REGION'>): Promise<CbrCredentials> {
  if (config.CBR_CREDENTIALS_JSON !== undefined) return parseCredentials(config.CBR_CREDENTIALS_JSON, 'CBR_CREDENTIALS_JSON');
  const secretId = config.CBR_CREDENTIALS_SECRET!;
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  try {
    const out = await new SecretsManagerClient({ region: config.AWS_REGION }).send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new CredentialsError(`secret ${secretId} has no string value`);
    return parseCredentials(out.SecretString, `secret ${secretId}`);
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    throw new CredentialsError(`reading secret ${secretId} failed`, { cause: error, retryable: true });
  }
}
