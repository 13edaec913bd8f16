export { SecretError, type SecretFailure } from './errors';
export {
  createSecretLoader,
  inlineSource,
  parseSecret,
  stringLeaves,
  DEFAULT_SECRET_TTL_MS,
  DEFAULT_STALE_IF_ERROR_MS,
  type SecretLoader,
  type SecretLoaderOptions,
  type SecretSource,
} from './loader';
export { secretErrorFromAws, secretSourceFromRef, secretsManagerSource, ssmParameterSource, type AwsSourceOptions } from './aws';
export {
  isSensitiveKey,
  knownSecrets,
  redact,
  redactingLogger,
  redactText,
  secretNeedles,
  SecretRegistry,
  REDACTED,
  MIN_SECRET_LENGTH,
  type LogFn,
  type LogLevel,
  type RedactOptions,
} from './redact';
