/**
 * Webhook keys: Standard Webhooks symmetric secrets, `whsec_` + base64 of 24..64 random bytes. The
 * keys secret (Secrets Manager / SSM) holds several at once so a key can be rotated without downtime:
 * add the new key, move the senders over, remove the old key. Inbound, a signature made with ANY
 * listed key is accepted; outbound notifications are signed with every listed key (receivers holding
 * either one verify).
 */
import * as z from 'zod';
import { Webhook } from 'standardwebhooks';
import { ProjectId } from '../contracts/ids';
import { WebhookKeyError } from './errors';

const WHSEC = /^whsec_[A-Za-z0-9+/]+={0,2}$/;
export const MIN_KEY_BYTES = 24;
export const MAX_KEY_BYTES = 64;
export const MAX_ACTIVE_KEYS = 10;

/** Why `key` is not a usable whsec_ key, or undefined when it is. Never mentions the key itself. */
export function webhookKeyProblem(key: string): string | undefined {
  if (!WHSEC.test(key)) return "must be 'whsec_' followed by standard base64";
  const body = key.slice('whsec_'.length);
  const bytes = Buffer.from(body, 'base64');
  if (bytes.toString('base64') !== body) return 'is not canonical base64 (check the padding)';
  if (bytes.length < MIN_KEY_BYTES || bytes.length > MAX_KEY_BYTES) return `must encode ${MIN_KEY_BYTES}..${MAX_KEY_BYTES} bytes`;
  try {
    new Webhook(key);
  } catch {
    return 'is refused by the standardwebhooks library';
  }
  return undefined;
}

export const WebhookKey = z.string().superRefine((key, ctx) => {
  const problem = webhookKeyProblem(key);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * A key limited to some projects: POST /runs signed with it may start runs of these projects only
 * (anything else is refused 403). A bare key string may start runs of any project.
 */
const ScopedWebhookKey = z.strictObject({
  key: WebhookKey,
  projects: z.array(ProjectId).min(1, { error: 'must name at least one project (or give the key as a bare string for any project)' }).max(1000),
});

/**
 * The keys secret: `["whsec_...", {"key": "whsec_...", "projects": ["<project id>", ...]}, ...]` or
 * `{ "keys": [...] }`. The first key is the newest by convention; order does not matter for
 * verification. Parsed to `keys` (the secrets, in order) and, when any key is scoped, `projects`
 * (per key, in the same order: its project ids, or null for any project).
 */
export const WebhookKeys = z.preprocess(
  (v) => (Array.isArray(v) ? { keys: v } : v),
  z
    .strictObject({
      keys: z
        .array(z.union([WebhookKey, ScopedWebhookKey]))
        .min(1, { error: 'at least one key is required' })
        .max(MAX_ACTIVE_KEYS, { error: `at most ${MAX_ACTIVE_KEYS} keys may be active at once` })
        .refine((keys) => new Set(keys.map(keyOf)).size === keys.length, { error: 'lists the same key twice' }),
    })
    .transform(({ keys }): { keys: string[]; projects?: Array<string[] | null> } => {
      const scoped = keys.some((k) => typeof k !== 'string');
      return { keys: keys.map(keyOf), ...(scoped ? { projects: keys.map((k) => (typeof k === 'string' ? null : k.projects)) } : {}) };
    }),
);
export type WebhookKeys = z.infer<typeof WebhookKeys>;

function keyOf(k: string | { key: string }): string {
  return typeof k === 'string' ? k : k.key;
}

/** Build the signers for a key list, naming the position of a bad key (never the key). */
export function signersFor(keys: readonly string[]): Webhook[] {
  return keys.map((key, i) => {
    const problem = webhookKeyProblem(key);
    if (problem) throw new WebhookKeyError(i, problem);
    return new Webhook(key);
  });
}
