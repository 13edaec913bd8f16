/**
 * The drills' webhooks (lib/restore/drill.ts DrillHooks) from configuration: signed like the run-finished
 * notifications (NOTIFY_KEYS_SECRET, else the webhook keys; lib/pipeline/notify-run-finished.ts
 * notifyKeys), with NOTIFY_ALLOW_LOOPBACK / NOTIFY_MAX_ATTEMPTS / NOTIFY_TIMEOUT_MS. Undefined when no
 * signing key is configured (a drill with a verifyUrl is then recorded unhealthy, saying why).
 */
import type { Config } from '../config';
import { postSignedWebhook } from '../notify/send';
import { notifierSettingsFrom, notifyKeys } from '../pipeline/notify-run-finished';
import type { DrillHooks } from '../restore/drill';
import { drillMetric } from './metrics';

export function drillHooksFrom(config: Config, write?: (line: string) => void): DrillHooks | undefined {
  const keys = notifyKeys(config);
  if (!keys) return undefined;
  const s = notifierSettingsFrom(config);
  // The checker waits for these inside its sweep: a verification is tried at most twice.
  const send = async (url: string, messageId: string, body: string, maxAttempts = s.maxAttempts) =>
    postSignedWebhook(url, messageId, body, { keys: await keys(), allowLoopback: s.allowLoopback, maxAttempts, timeoutMs: s.timeoutMs, userAgent: 'cbr-flow-drill/1' });
  return {
    async verify(url, messageId, body) {
      const r = await send(url, messageId, body, Math.min(2, s.maxAttempts));
      return r.ok ? { healthy: true, detail: `HTTP ${r.status}` } : { healthy: false, detail: `${r.status !== undefined ? `HTTP ${r.status}, ` : ''}${r.reason} after ${r.attempts} attempt(s)` };
    },
    async notify(url, messageId, body) {
      const r = await send(url, messageId, body);
      return r.ok ? `delivered (HTTP ${r.status})` : `not delivered: ${r.reason}`;
    },
    metric: drillMetric(config.STAGE, write),
  };
}
