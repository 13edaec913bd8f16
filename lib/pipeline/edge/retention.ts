/**
 * The retention API (issue 14 items 2-4), behind the JWT authorizer like the run reads; the caller's
 * `cbr_projects` claim scopes every answer (another project's hold is 404, like one that does not exist):
 *   POST   /holds                   {backupId, projectId, reason} | {runId, reason} -> 201 the hold
 *   DELETE /holds/{id}              ?reason=...                                    -> 200 the released hold
 *   GET    /holds                   ?all=true (released ones too)                  -> 200 {holds}
 *   GET    /retention/preview       ?plan=<name>: what the next sweep deletes and keeps, and why
 *   GET    /retention/ledger        ?plan=<name>: what the sweeps deleted or were refused
 * The holder / releaser is the token's `sub`. With `cbrCallBudgetMs` (the deployed function: the operator's
 * OPERATOR_CALL_LIMITS, API Gateway's 30 s) no CBR call starts without that much of the invocation left;
 * CBR's refusal answers 502, CBR unavailable or no time left 503 with `retry-after` (like vaults).
 */
import { ValidationError } from '../../errors';
import type { Logger } from '../../ports';
import { HoldNotFoundError, holdView, listHolds, placeHold, releaseHold, type HoldDeps } from '../../retention/holds';
import { planSweep, previewView, refreshScopes, type RetentionDeps } from '../../retention/sweep';
import { withInvocationFields } from '../../wiring/log';
import { deadlineCbr } from '../deadline';
import { HttpError, httpHandler, readJsonBody, type InvocationContext } from './http';
import { cbrFailure } from './vaults';
import { callerOf, inScope, readScopeOf } from './read-scope';

export function retentionApiHandler(deps: RetentionDeps & HoldDeps & { cbrCallBudgetMs?: number }, options: { log?: Logger } = {}) {
  const log: Logger = options.log ?? (() => undefined);
  return withInvocationFields(httpHandler(async (event, context: InvocationContext | undefined) => {
    const remaining = context?.getRemainingTimeInMillis;
    const budget = deps.cbrCallBudgetMs;
    const cbr = typeof remaining === 'function' && budget !== undefined ? deadlineCbr(deps.cbr, () => remaining.call(context), budget) : deps.cbr;
    const scope = readScopeOf(event);
    const allowed = (projectId: string) => inScope(scope, projectId);
    const route = event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`;
    const q = event.queryStringParameters ?? {};
    const plan = q.plan === undefined ? undefined : q.plan.trim();
    if (plan !== undefined && !/^[a-z0-9][a-z0-9-]{0,31}$/.test(plan)) throw new ValidationError('query.plan', 'must be a plan name (lowercase letters, digits and -, at most 32)');
    try {
      if (route === 'POST /holds') {
        const hold = await placeHold(deps, readJsonBody(event), callerOf(event), allowed);
        return { statusCode: 201, body: holdView(hold) };
      }
      if (route === 'DELETE /holds/{id}') {
        const { hold, released } = await releaseHold(deps, event.pathParameters?.id ?? '', callerOf(event), allowed, q.reason);
        return { statusCode: 200, body: { released, hold: holdView(hold) } };
      }
      if (route === 'GET /holds') {
        if (q.all !== undefined && q.all !== 'true' && q.all !== 'false') throw new ValidationError('query.all', 'must be true or false');
        return { statusCode: 200, body: { holds: (await listHolds(deps, allowed, q.all === 'true')).map(holdView) } };
      }
      if (route === 'GET /retention/preview') {
        const view = previewView(await planSweep({ ...deps, cbr }, plan === undefined ? {} : { plan }));
        return { statusCode: 200, body: { ...view, scopes: view.scopes.filter((s) => allowed(s.projectId)) } };
      }
      if (route === 'GET /retention/ledger') {
        const scopes = (await refreshScopes(deps)).filter((s) => allowed(s.projectId) && (plan === undefined || s.plan === plan));
        const entries = (await Promise.all(scopes.map((s) => deps.retention.listLedger(s.key)))).flat().sort((a, b) => b.requestedAt - a.requestedAt);
        return { statusCode: 200, body: { entries: entries.map(({ expiresAt: _e, scopeKey: _k, ...e }) => ({ ...e, requestedAt: new Date(e.requestedAt).toISOString(), updatedAt: new Date(e.updatedAt).toISOString() })) } };
      }
    } catch (error) {
      if (error instanceof HoldNotFoundError) throw new HttpError(404, error.message, { field: error.field });
      const answer = cbrFailure(error, log, 'retention');
      if (answer) return answer;
      throw error;
    }
    throw new ValidationError('route', `unsupported route ${route}`);
  }, options.log));
}
