/**
 * Notification settings, as a fragment lib/config.ts spreads into its Config schema
 * (`...notifyEnvShape`) and checks in its superRefine (`checkNotifyEnv(c, ctx)`).
 * Signing keys: NOTIFY_KEYS_SECRET when set, else the inbound WEBHOOK_KEYS_SECRET (same format).
 */
import * as z from 'zod';

export const notifyEnvShape = {
  NOTIFY_KEYS_SECRET: z.string().min(1).max(2048).optional(),
  /** 'true' lets notifications go to 127.0.0.1/localhost; local stage only. */
  NOTIFY_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false'),
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(5),
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
};

export interface NotifyEnv {
  STAGE: string;
  NOTIFY_ALLOW_LOOPBACK: 'true' | 'false';
}

type IssueSink = { addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void };

export function checkNotifyEnv(c: NotifyEnv, ctx: IssueSink): void {
  if (c.NOTIFY_ALLOW_LOOPBACK === 'true' && c.STAGE !== 'local') {
    ctx.addIssue({ code: 'custom', path: ['NOTIFY_ALLOW_LOOPBACK'], message: `may only be 'true' when STAGE=local (STAGE is '${c.STAGE}')` });
  }
}
