/**
 * Per-container setup from the parsed environment: the webhook keys loader (Secrets Manager / SSM /
 * inline JSON on the local stage) and the middleware options.
 */
import { createSecretLoader, inlineSource, type SecretLoader, type SecretSource } from '../secrets/loader';
import { secretSourceFromRef, type AwsSourceOptions } from '../secrets/aws';
import type { SecretError } from '../secrets/errors';
import type { WebhookEnv } from './env';
import { WebhookKeys } from './keys';
import { WebhookAuthConfigError, type WebhookAuthOptions } from './middleware';

/** The active webhook keys, cached per container (TTL = SECRETS_TTL_SECONDS). */
export function webhookKeysLoader(
  env: WebhookEnv,
  options: AwsSourceOptions & { clock?: { now(): number }; onStale?: (e: SecretError) => void } = {},
): SecretLoader<WebhookKeys> {
  const { clock, onStale, ...aws } = options;
  let source: SecretSource;
  if (env.WEBHOOK_KEYS_JSON !== undefined) source = inlineSource('WEBHOOK_KEYS_JSON', env.WEBHOOK_KEYS_JSON);
  else if (env.WEBHOOK_KEYS_SECRET !== undefined) source = secretSourceFromRef(env.WEBHOOK_KEYS_SECRET, aws);
  else throw new WebhookAuthConfigError('no webhook keys configured: set WEBHOOK_KEYS_SECRET (or WEBHOOK_KEYS_JSON on the local stage)');
  return createSecretLoader({
    source,
    schema: WebhookKeys,
    ttlMs: env.SECRETS_TTL_SECONDS * 1000,
    secretValues: (v) => v.keys,
    ...(clock ? { clock } : {}),
    ...(onStale ? { onStale } : {}),
  });
}

/** The middleware options for this environment: on with the keys loader, or off (local stage only). */
export function webhookAuthOptions(
  env: WebhookEnv,
  deps: { keys?: SecretLoader<WebhookKeys>; log?: WebhookAuthOptions['log']; aws?: AwsSourceOptions },
): WebhookAuthOptions {
  if (env.WEBHOOK_AUTH === 'off') return { mode: 'off', stage: env.STAGE, ...(deps.log ? { log: deps.log } : {}) };
  const loader = deps.keys ?? webhookKeysLoader(env, deps.aws ?? {});
  return { keys: () => loader.get(), ...(deps.log ? { log: deps.log } : {}) };
}
