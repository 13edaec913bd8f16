// Only test/helpers/pipeline-harness.ts imports through this file (production imports the modules
// directly). Delete it once the harness imports lib/webhooks/verify.ts and drops its replay guard,
// which startRunHandler overrides with 'handler-idempotent' anyway.
export { MemoryReplayGuard } from './replay';
export { signWebhook } from './verify';
