export { WebhookAuthError, WebhookKeyError, type WebhookAuthReason } from './errors';
export { WebhookKey, WebhookKeys, signersFor, webhookKeyProblem, MAX_ACTIVE_KEYS, MIN_KEY_BYTES, MAX_KEY_BYTES } from './keys';
export { verifyWebhook, signWebhook, WEBHOOK_TOLERANCE_SECONDS, type VerifiedWebhook, type WebhookRequest } from './verify';
export { MemoryReplayGuard, type ReplayGuard } from './replay';
export { DynamoReplayGuard, ReplayStoreError, replayKey, REPLAY_SK } from './replay-dynamodb';
export {
  authenticateWebhook,
  rawBodyOf,
  unauthorized,
  verifiedWebhookOf,
  webhookAuth,
  WebhookAuthConfigError,
  type AuthenticatedWebhook,
  type AuthOutcome,
  type WebhookKeySet,
  type WebhookAuthOff,
  type WebhookAuthOn,
  type WebhookAuthOptions,
} from './middleware';
export { checkWebhookEnv, webhookEnvShape, type WebhookEnv } from './env';
export { webhookAuthOptions, webhookKeysLoader } from './setup';
