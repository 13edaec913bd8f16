/**
 * Wiring for the steps that call CBR: the shared runtime plus a CBR client factory whose credentials
 * are loaded once per container, starting at cold start (module load) so the first record does not
 * wait for Secrets Manager serially. A failed load is retried by the next call.
 */
import { cbrFactory } from './cbr-factory';
import { loadCredentials, type CbrCredentials } from './credentials';
import type { PipelineDeps } from './deps';
import { config, intakeDeps } from './runtime';

let credentials: Promise<CbrCredentials> | undefined;
function credentialsOnce(): Promise<CbrCredentials> {
  credentials ??= loadCredentials(config).catch((error: unknown) => {
    credentials = undefined;
    throw error;
  });
  return credentials;
}
credentialsOnce().catch(() => {}); // cold start: begin now; errors surface on first use

export const pipelineDeps: PipelineDeps = { ...intakeDeps, cbr: cbrFactory(config, credentialsOnce) };
