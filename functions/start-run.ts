// start-run: POST /runs (signed webhook), the intake queue, plan schedules and direct invokes -> a new run.
// Never imports the CBR client (cold start): see test/unit/pipeline/bundles.test.ts.
import { startRunHandler } from '../lib/pipeline/edge/start-run';
import { config, intakeDeps, log } from '../lib/wiring/runtime';
import { webhookAuthOptions } from '../lib/webhooks/setup';

// Keys: WEBHOOK_KEYS_SECRET (Secrets Manager / SSM, cached SECRETS_TTL_SECONDS), or WEBHOOK_KEYS_JSON on the local stage.
// Replays are answered idempotently by the handler (run id derived from the webhook-id), not by a claim.
const webhookAuth = webhookAuthOptions(config, { log, aws: { region: config.AWS_REGION } });
if (webhookAuth.mode !== 'off') webhookAuth.keys().catch(() => {}); // cold start: read now; a failure is a 503 on use

export const handler = startRunHandler(intakeDeps, { webhookAuth, publicBaseUrl: config.PUBLIC_BASE_URL, log });
