// Public surface of the CBR client (what lib/wiring, the tests and the benches import).
export { createCbrClient } from './client';
export type { CbrClient, CbrClientOptions } from './client';
export { createIamTokenProvider } from './auth';
export type { TokenProvider } from './auth';
export { CbrApiError, CbrValidationError } from './errors';
export type { CallEvent } from './http';
export * from './schemas';
