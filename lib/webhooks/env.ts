/**
 * The webhook-related environment, as a fragment lib/config.ts spreads into its one Config schema
 * (`...webhookEnvShape`) and checks in its superRefine (`checkWebhookEnv(c, ctx)`), so config stays
 * parsed once, in one place. Rules: authentication is ON unless WEBHOOK_AUTH=off, which only the local
 * stage may set; deployed stages read keys from WEBHOOK_KEYS_SECRET (Secrets Manager name/ARN, or
 * `ssm:<parameter>`), never from a plain variable.
 * Only zod here (config.ts imports it into every function); the loaders are in ./setup.
 */
import * as z from 'zod';

export const webhookEnvShape = {
  /** 'off' disables inbound webhook authentication; allowed only when STAGE=local. */
  WEBHOOK_AUTH: z.enum(['on', 'off']).default('on'),
  /** Secret holding the active webhook keys: `["whsec_...", ...]` or `{"keys": [...]}`. */
  WEBHOOK_KEYS_SECRET: z.string().min(1).max(2048).optional(),
  /** Local stage only (set by the local runner): the keys JSON itself. */
  WEBHOOK_KEYS_JSON: z.string().min(2).optional(),
  /** How long a container keeps a secret before reading it again (key rotation delay). */
  SECRETS_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
};

export interface WebhookEnv {
  STAGE: string;
  WEBHOOK_AUTH: 'on' | 'off';
  WEBHOOK_KEYS_SECRET?: string | undefined;
  WEBHOOK_KEYS_JSON?: string | undefined;
  SECRETS_TTL_SECONDS: number;
}

type IssueSink = { addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void };

export function checkWebhookEnv(c: WebhookEnv, ctx: IssueSink): void {
  if (c.WEBHOOK_AUTH === 'off' && c.STAGE !== 'local') {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_AUTH'], message: `may only be 'off' when STAGE=local (STAGE is '${c.STAGE}')` });
  }
  if (c.WEBHOOK_KEYS_JSON !== undefined && c.STAGE !== 'local') {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_KEYS_JSON'], message: 'is only allowed when STAGE=local; deployed stages read WEBHOOK_KEYS_SECRET' });
  }
  if (c.WEBHOOK_AUTH === 'on' && c.WEBHOOK_KEYS_SECRET === undefined && c.WEBHOOK_KEYS_JSON === undefined) {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_KEYS_SECRET'], message: "is required while WEBHOOK_AUTH is 'on' (or WEBHOOK_KEYS_JSON on the local stage)" });
  }
}
