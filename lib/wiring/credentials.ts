/**
 * CBR credentials: a per-container secret loader (lib/secrets) reading Secrets Manager or SSM in
 * deployed stages (CBR_CREDENTIALS_SECRET: a secret name/ARN, or `ssm:<parameter>`), or — on the local
 * stage only, set by the local runner — CBR_CREDENTIALS_JSON. Never from plain environment variables in
 * a deployed stage (config refuses it). The value is validated, cached for SECRETS_TTL_SECONDS (so a
 * rotated secret is picked up without a deploy), read at most once at a time, and its secret parts
 * (SK, security token, IAM password) are registered for redaction, so no logger ever prints them.
 * Errors name the secret and the bad fields, never a value.
 */
import * as z from 'zod';
import type { Config } from '../config';
import { secretSourceFromRef, type AwsSourceOptions } from '../secrets/aws';
import { createSecretLoader, inlineSource, type SecretLoader } from '../secrets/loader';

export const CbrCredentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('aksk'), ak: z.string().min(1), sk: z.string().min(1), securityToken: z.string().min(1).optional() }),
  z.object({ type: z.literal('password'), user: z.string().min(1), password: z.string().min(1), domainName: z.string().min(1) }),
]);
export type CbrCredentials = z.infer<typeof CbrCredentials>;

/** The secret parts (the AK, user and domain name are identifiers and stay readable in logs). */
export function secretPartsOf(c: CbrCredentials): string[] {
  return c.type === 'aksk' ? [c.sk, ...(c.securityToken ? [c.securityToken] : [])] : [c.password];
}

export type CredentialsConfig = Pick<Config, 'CBR_CREDENTIALS_JSON' | 'CBR_CREDENTIALS_SECRET' | 'AWS_REGION' | 'SECRETS_TTL_SECONDS'>;

/** The container's CBR credentials loader (build it once, at module scope). */
export function credentialsLoader(config: CredentialsConfig, options: { aws?: AwsSourceOptions; clock?: { now(): number } } = {}): SecretLoader<CbrCredentials> {
  const source =
    config.CBR_CREDENTIALS_JSON !== undefined
      ? inlineSource('CBR_CREDENTIALS_JSON', config.CBR_CREDENTIALS_JSON)
      : secretSourceFromRef(config.CBR_CREDENTIALS_SECRET!, { region: config.AWS_REGION, ...options.aws });
  return createSecretLoader({
    source,
    schema: CbrCredentials,
    ttlMs: config.SECRETS_TTL_SECONDS * 1000,
    secretValues: secretPartsOf,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
