// Public surface of the CBR client (INTERFACES.md §1).
export { createCbrClient } from './client';
export type { CbrClient, CbrClientOptions, CallOptions, PageOptions } from './client';
export { createIamTokenProvider } from './auth';
export type { TokenProvider, CbrAuth, IamTokenProviderOptions } from './auth';
export { signRequest, signCanonicalRequest, formatSdkDate } from './signer';
export type { SigningCredentials, SignableRequest, SignatureHeaders, CanonicalRequestInput, CanonicalSignature } from './signer';
export { CbrApiError, CbrValidationError } from './errors';
export type { CbrErrorKind } from './errors';
export type { CallEvent, RetryOptions } from './http';
export { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS } from './http';
export { CBR_REGIONS, isKnownRegion } from './regions';
export { isCbrId, isProjectId } from './ids';
export { parseCbrTimestamp, cbrTimestampMs } from './time';
export * from './schemas';
