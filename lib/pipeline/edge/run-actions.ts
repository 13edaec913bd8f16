/**
 * run-actions' edge: POST /runs/{id}/cancel and POST /runs/{id}/retry (./../run-actions.ts).
 *
 * Writes, authenticated like the reads: the routes sit behind the same JWT authorizer (`runsReader`),
 * and the run's project must be in the token's `cbr_projects` claim (./read-scope.ts; `*` for all).
 * A run of another project answers 404 exactly like an unknown run. The record names the caller
 * (the token's `sub`): "cancelled by <sub>".
 *
 * Answers: cancel 200 `{ cancelled, run }` (`cancelled: false` when it was already cancelled);
 * retry 202 `{ runId, retryOf, created, state, statusUrl }`; 409 when the run's state does not allow it.
 */
import { parseWith } from '../../contracts/parse';
import { RunId } from '../../contracts/ids';
import { ValidationError } from '../../errors';
import type { Logger } from '../../ports';
import type { IntakeDeps } from '../../wiring/deps';
import { withInvocationFields } from '../../wiring/log';
import { cancelRun, retryRun, RunStateConflictError } from '../run-actions';
import { runView } from './get-run';
import { HttpError, httpHandler } from './http';
import { callerOf, inScope, readScopeOf } from './read-scope';

export function runActionsHandler(deps: IntakeDeps, options: { publicBaseUrl?: string | undefined; log?: Logger } = {}) {
  return withInvocationFields(httpHandler(async (event) => {
    const scope = readScopeOf(event);
    const runId = parseWith(RunId, event.pathParameters?.id ?? '', 'id');
    const allowed = (run: { request: { projectId: string } }) => inScope(scope, run.request.projectId);
    const action = event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`;
    try {
      if (action === 'POST /runs/{id}/cancel') {
        const { run, cancelled } = await cancelRun(deps, runId, callerOf(event), allowed);
        return { statusCode: 200, body: { cancelled, run: runView(run) } };
      }
      if (action === 'POST /runs/{id}/retry') {
        const { run, created } = await retryRun(deps, runId, allowed);
        const proto = event.headers?.['x-forwarded-proto'] ?? 'https';
        const base = options.publicBaseUrl ?? `${proto}://${event.headers?.host ?? event.requestContext.domainName}`;
        return {
          statusCode: 202,
          headers: { location: `${base}/runs/${run.runId}` },
          body: { runId: run.runId, retryOf: runId, created, state: run.state, statusUrl: `${base}/runs/${run.runId}` },
        };
      }
    } catch (error) {
      if (error instanceof RunStateConflictError) throw new HttpError(409, error.message, { field: 'id' });
      throw error;
    }
    throw new ValidationError('route', `unsupported route ${action}`);
  }, options.log));
}
