/**
 * CBR credentials: a per-container secret loader (lib/secrets) reading Secrets Manager or SSM in
 * deployed stages (CBR_CREDENTIALS_SECRET: a secret name/ARN, or `ssm:<parameter>`), or — on the local
 * stage only, set by the local runner — CBR_CREDENTIALS_JSON. Never from plain environment variables in
 * a deployed stage (config refuses it). The value is validated, cached for SECRETS_TTL_SECONDS (so a
 * rotated secret is picked up without a deploy), read at most once at a time, and its secret parts
 * (SK, security token, IAM password) are registered for redaction, so no logger ever prints them.
 * Errors name the secret and the bad fields, never a value.
 *
 * Many accounts from one deployment: CBR_CREDENTIALS_MAP maps each project id (32 hex) to the reference
 * of the secret holding that account's credentials, `"*"` being the default for unmapped projects
 * (`{"<projectId>": "<secret name/ARN or ssm:<param>>", "*": "<ref>"}`; on the local stage a value may be
 * the credentials object itself). CBR_CREDENTIALS_SECRET / _JSON keep working and mean `"*"`. Each
 * distinct reference has its own loader (cache, TTL, redaction of its secret parts); a project with no
 * entry and no default fails its run with CREDENTIALS_NOT_MAPPED.
 */
import * as z from 'zod';
import type { Config } from '../config';
import { secretSourceFromRef, type AwsSourceOptions } from '../secrets/aws';
import { createSecretLoader, inlineSource, type SecretLoader, type SecretSource } from '../secrets/loader';
import { CredentialsNotMappedError } from '../pipeline/errors';
import { DEFAULT_PROJECT_KEY, parseCredentialsMap } from './credentials-map';

export const CbrCredentials = z.discriminatedUnion('type', [
  z.object({ type: z.literal('aksk'), ak: z.string().min(1), sk: z.string().min(1), securityToken: z.string().min(1).optional() }),
  z.object({ type: z.literal('password'), user: z.string().min(1), password: z.string().min(1), domainName: z.string().min(1) }),
]);
export type CbrCredentials = z.infer<typeof CbrCredentials>;

/** The secret parts (the AK, user and domain name are identifiers and stay readable in logs). */
export function secretPartsOf(c: CbrCredentials): string[] {
  return c.type === 'aksk' ? [c.sk, ...(c.securityToken ? [c.securityToken] : [])] : [c.password];
}

export type CredentialsConfig = Pick<Config, 'CBR_CREDENTIALS_JSON' | 'CBR_CREDENTIALS_SECRET' | 'AWS_REGION' | 'SECRETS_TTL_SECONDS'> &
  Partial<Pick<Config, 'CBR_CREDENTIALS_MAP' | 'STAGE'>>;
type LoaderOptions = { aws?: AwsSourceOptions; clock?: { now(): number } };

function loaderOf(source: SecretSource, config: CredentialsConfig, options: LoaderOptions): SecretLoader<CbrCredentials> {
  return createSecretLoader({
    source,
    schema: CbrCredentials,
    ttlMs: config.SECRETS_TTL_SECONDS * 1000,
    secretValues: secretPartsOf,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** The container's CBR credentials loader for the single-secret setting (build it once, at module scope). */
export function credentialsLoader(config: CredentialsConfig, options: LoaderOptions = {}): SecretLoader<CbrCredentials> {
  const source =
    config.CBR_CREDENTIALS_JSON !== undefined
      ? inlineSource('CBR_CREDENTIALS_JSON', config.CBR_CREDENTIALS_JSON)
      : secretSourceFromRef(config.CBR_CREDENTIALS_SECRET!, { region: config.AWS_REGION, ...options.aws });
  return loaderOf(source, config, options);
}

/** Credentials per project: what the CBR client factory (cbr-factory.ts) asks for each run's project. */
export interface ProjectCredentials {
  (projectId: string): Promise<CbrCredentials>;
  /**
   * Read the default (`*`) secret at cold start, so its read overlaps the container's init and a bad one
   * is logged before the first run needs it. Mapped accounts' secrets are read when a run of theirs
   * comes: a container serves few projects, and reading every mapped secret at each cold start would
   * cost one Secrets Manager call per account per container.
   */
  warm(): Promise<void>;
}

/**
 * The container's per-project credentials (CBR_CREDENTIALS_MAP, plus CBR_CREDENTIALS_SECRET/_JSON as
 * the default): one loader per distinct secret reference, shared by the projects that name it.
 */
export function projectCredentials(config: CredentialsConfig, options: LoaderOptions = {}): ProjectCredentials {
  const byRef = new Map<string, SecretLoader<CbrCredentials>>();
  const byProject = new Map<string, SecretLoader<CbrCredentials>>();
  if (config.CBR_CREDENTIALS_MAP !== undefined) {
    const { entries, issues } = parseCredentialsMap(config.CBR_CREDENTIALS_MAP, config.STAGE ?? 'local');
    // loadConfig refused these already; a caller building the config by hand gets the same message.
    if (issues.length > 0) throw new Error(`CBR_CREDENTIALS_MAP${issues[0]!.key ? `["${issues[0]!.key}"]` : ''}: ${issues[0]!.message}`);
    for (const [key, ref] of entries) {
      const refKey = typeof ref === 'string' ? ref : `CBR_CREDENTIALS_MAP["${key}"]`;
      let loader = byRef.get(refKey);
      if (!loader) {
        const source = typeof ref === 'string' ? secretSourceFromRef(ref, { region: config.AWS_REGION, ...options.aws }) : inlineSource(refKey, JSON.stringify(ref as Record<string, unknown>));
        byRef.set(refKey, (loader = loaderOf(source, config, options)));
      }
      byProject.set(key, loader);
    }
  }
  if (!byProject.has(DEFAULT_PROJECT_KEY) && (config.CBR_CREDENTIALS_JSON !== undefined || config.CBR_CREDENTIALS_SECRET !== undefined)) {
    const loader = credentialsLoader(config, options);
    byRef.set(loader.ref, loader);
    byProject.set(DEFAULT_PROJECT_KEY, loader);
  }
  const forProject = (async (projectId: string) => {
    const loader = byProject.get(projectId) ?? byProject.get(DEFAULT_PROJECT_KEY);
    if (!loader) throw new CredentialsNotMappedError(projectId, [...byProject.keys()]);
    return loader.get();
  }) as ProjectCredentials;
  forProject.warm = async () => {
    await byProject.get(DEFAULT_PROJECT_KEY)?.get();
  };
  return forProject;
}
