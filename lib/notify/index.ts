export { NotifyError, type NotifyFailureReason } from './errors';
export {
  FinalState,
  RunFinishedNotification,
  notificationFromRun,
  notificationMessageId,
} from './payload';
export { notifyRunFinished, originOf, postSignedWebhook, retryAfterMs, toNotificationRecord, type AttemptEvent, type NotifyOptions, type NotifyResult } from './send';
export { checkNotifyUrl, classifyAddress, systemLookup, type HostLookup, type UrlVerdict } from './url-guard';
export { checkNotifyEnv, notifyEnvShape, type NotifyEnv } from './env';
