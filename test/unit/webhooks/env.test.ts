import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { checkNotifyEnv, notifyEnvShape } from '../../../lib/notify/env';
import { checkWebhookEnv, webhookEnvShape } from '../../../lib/webhooks/env';
import { webhookAuthOptions, webhookKeysLoader } from '../../../lib/webhooks/setup';
import { KEY_1, KEY_2 } from './helpers';

// The way lib/config.ts is meant to use the fragments: spread the shapes, call the checks.
const Env = z
  .object({ STAGE: z.string().default('local'), ...webhookEnvShape, ...notifyEnvShape })
  .superRefine((c, ctx) => {
    checkWebhookEnv(c, ctx);
    checkNotifyEnv(c, ctx);
  });
const problems = (env: Record<string, string>) => Env.safeParse(env).error?.issues.map((i) => i.path.join('.')) ?? [];

describe('webhook and notify environment', () => {
  it('authentication defaults to on and then needs a keys secret', () => {
    expect(problems({ STAGE: 'prod' })).toEqual(['WEBHOOK_KEYS_SECRET']);
    const ok = Env.parse({ STAGE: 'prod', WEBHOOK_KEYS_SECRET: 'cbr-flow/prod/webhook-keys' });
    expect(ok).toMatchObject({ WEBHOOK_AUTH: 'on', SECRETS_TTL_SECONDS: 300, NOTIFY_ALLOW_LOOPBACK: 'false', NOTIFY_MAX_ATTEMPTS: 5 });
  });

  it('only the local stage may turn authentication off, pass keys inline, or notify loopback', () => {
    expect(problems({ STAGE: 'prod', WEBHOOK_AUTH: 'off' })).toEqual(['WEBHOOK_AUTH']);
    expect(problems({ STAGE: 'prod', WEBHOOK_KEYS_JSON: '[]' })).toEqual(['WEBHOOK_KEYS_JSON']);
    expect(problems({ STAGE: 'prod', WEBHOOK_KEYS_SECRET: 's', NOTIFY_ALLOW_LOOPBACK: 'true' })).toEqual(['NOTIFY_ALLOW_LOOPBACK']);
    expect(problems({ STAGE: 'local', WEBHOOK_AUTH: 'off', NOTIFY_ALLOW_LOOPBACK: 'true' })).toEqual([]);
    expect(problems({ STAGE: 'local', WEBHOOK_AUTH: 'maybe' })).toEqual(['WEBHOOK_AUTH']);
  });

  it('builds middleware options from the environment (inline keys on the local stage)', async () => {
    const env = Env.parse({ STAGE: 'local', WEBHOOK_KEYS_JSON: JSON.stringify([KEY_1, KEY_2]) });
    const options = webhookAuthOptions(env, {});
    expect(options.mode).toBeUndefined();
    if (options.mode !== 'off') expect(await options.keys()).toEqual({ keys: [KEY_1, KEY_2] });
    expect(webhookAuthOptions(Env.parse({ STAGE: 'local', WEBHOOK_AUTH: 'off' }), {})).toEqual({ mode: 'off', stage: 'local' });
    expect(() => webhookKeysLoader(Env.parse({ STAGE: 'local', WEBHOOK_AUTH: 'off' }))).toThrow(/WEBHOOK_KEYS_SECRET/);
  });
});
