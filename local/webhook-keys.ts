/**
 * The local stage's webhook keys: generated once (32 random bytes, Standard Webhooks `whsec_` form) and
 * kept in the data folder next to the local DynamoDB data, so `npm start -- --serve`, the CLI and
 * `npm run invoke` all sign with the same key. Mode 0600; removed by `npm start -- --reset` with the
 * rest of the data folder. Never used by a deployed stage (those read WEBHOOK_KEYS_SECRET).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebhookKeys } from '../lib/webhooks/keys';
import { signWebhook } from '../lib/webhooks/verify';
import { LocalRuntimeError } from './errors';

/** The project's default data folder (the one `npm start` uses): $CBR_FLOW_DATA_DIR, else .data/. */
export const DEFAULT_DATA_DIR = process.env.CBR_FLOW_DATA_DIR ? resolve(process.env.CBR_FLOW_DATA_DIR) : join(fileURLToPath(new URL('..', import.meta.url)), '.data');
export const WEBHOOK_KEYS_FILE = 'webhook-keys.json';

export function newWebhookKey(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Parse a keys document (`["whsec_..."]`, `{"keys": [...]}`) or a bare `whsec_` key; errors never quote a key. */
export function parseWebhookKeys(text: string, source: string): string[] {
  const trimmed = text.trim();
  let value: unknown = trimmed;
  if (!trimmed.startsWith('whsec_')) {
    try {
      value = JSON.parse(trimmed) as unknown;
    } catch {
      throw new LocalRuntimeError(`${source} is neither a whsec_ key nor JSON (["whsec_..."] or {"keys": [...]})`);
    }
  }
  const parsed = WebhookKeys.safeParse(typeof value === 'string' ? [value] : value);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LocalRuntimeError(`${source} holds no usable webhook key (${where})`);
  }
  return parsed.data.keys;
}

/** The keys in `<dataDir>/webhook-keys.json`, or undefined when there is no such file. */
export function readLocalWebhookKeys(dataDir: string = DEFAULT_DATA_DIR): string[] | undefined {
  const file = join(dataDir, WEBHOOK_KEYS_FILE);
  if (!existsSync(file)) return undefined;
  return parseWebhookKeys(readFileSync(file, 'utf8'), file);
}

/** The local keys: read from the data folder, or generated and stored there (in memory only without a folder). */
export function loadOrCreateLocalWebhookKeys(dataDir: string | undefined): { keys: string[]; file: string | undefined } {
  if (dataDir === undefined) return { keys: [newWebhookKey()], file: undefined };
  const file = join(dataDir, WEBHOOK_KEYS_FILE);
  const existing = readLocalWebhookKeys(dataDir);
  if (existing) return { keys: existing, file };
  const keys = [newWebhookKey()];
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ keys })}\n`, { mode: 0o600 });
  return { keys, file };
}

/** Standard Webhooks headers for `body` under a fresh webhook-id (what every sender does per message). */
export function signedHeaders(keys: readonly string[], body: string, now: number = Date.now()): Record<string, string> {
  return signWebhook(keys, `msg_${randomUUID()}`, body, now);
}
