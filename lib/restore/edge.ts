/**
 * The restores' HTTP edge: POST /restores (start one, 202) and GET /restores/{id} (its record and
 * timeline). Authenticated like run-actions' writes: behind the JWT authorizer, the project must be in
 * the token's `cbr_projects` claim (lib/pipeline/edge/read-scope.ts); another project's restore answers
 * 404 like an unknown one. An `Idempotency-Key` header names the restore (a retried POST finds it).
 *
 * Errors: a bad field or a missing/wrong `confirm` 400 (the field named, and why); disks that do not
 * fit or CBR's parameter refusals 400; CBR's "being backed up" (2002) / "being restored" (2010), a key
 * reused for another target 409; unknown backup/run/target/restore 404.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CbrId } from '../contracts/ids';
import { parseWith } from '../contracts/parse';
import { ValidationError } from '../errors';
import type { Logger } from '../ports';
import { HttpError, httpHandler, readJsonBody } from '../pipeline/edge/http';
import { callerOf, inScope, readScopeOf } from '../pipeline/edge/read-scope';
import { withInvocationFields } from '../wiring/log';
import { RestoreNotFoundError, RestoreRefusedError } from './errors';
import type { RestoreRecord } from './record';
import { fireDrill, isDrillFiring, type DrillDeps } from './drill';
import { startRestore } from './restore';

/** What GET /restores/{id} and POST /restores answer: the record without internals (token, version). */
export function restoreView(r: RestoreRecord): Record<string, unknown> {
  const { intent, version: _v, due, kind: _k, expiresAt: _e, ...rest } = r;
  return { ...rest, ...(intent ? { calledAt: intent.at } : {}), ...(due ? { nextCheckAt: due.at } : {}) };
}

const STATUS: Record<RestoreRefusedError['kind'], number> = { invalid: 400, conflict: 409, 'not-found': 404 };

/**
 * The `restores` function: the HTTP routes, and a plan's drill firing (EventBridge Scheduler input
 * `{source: 'cbr-flow.drill', ...}`, lib/restore/drill.ts) which answers `{restoreId, created, state}` or
 * throws (Lambda's async retries, then the schedules DLQ).
 */
export function restoresHandler(deps: DrillDeps, options: { publicBaseUrl?: string | undefined; log?: Logger } = {}) {
  const http = restoresHttpHandler(deps, options);
  return async (event: unknown, context?: unknown): Promise<unknown> => {
    if (!isDrillFiring(event)) return (http as (e: unknown, c?: unknown) => Promise<unknown>)(event, context);
    const { restore, created } = await fireDrill(deps, event);
    options.log?.('info', 'drill firing: restore started', { restoreId: restore.restoreId, created, state: restore.state, plan: restore.drill?.plan, drill: restore.drill?.name });
    return { restoreId: restore.restoreId, created, state: restore.state, backupId: restore.backupId, targetServerId: restore.targetServerId };
  };
}

function restoresHttpHandler(deps: DrillDeps, options: { publicBaseUrl?: string | undefined; log?: Logger }) {
  const base = (event: APIGatewayProxyEventV2) => options.publicBaseUrl ?? `${event.headers?.['x-forwarded-proto'] ?? 'https'}://${event.headers?.host ?? event.requestContext.domainName}`;
  return withInvocationFields(
    httpHandler(async (event) => {
      const scope = readScopeOf(event);
      const action = event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`;
      try {
        if (action === 'POST /restores') {
          const body = readJsonBody(event);
          const key = event.headers?.['idempotency-key'];
          if (key !== undefined && (key.length === 0 || key.length > 255)) throw new ValidationError('headers.idempotency-key', 'must be 1..255 characters');
          const { restore, created } = await startRestore(deps, {
            request: body,
            idempotencyKey: key,
            source: { kind: event.headers?.['user-agent']?.startsWith('cbr-flow-cli') ? 'cli' : 'http' },
            requestedBy: callerOf(event),
            allowed: (projectId) => inScope(scope, projectId),
          });
          const url = `${base(event)}/restores/${restore.restoreId}`;
          options.log?.('info', 'restore accepted', { restoreId: restore.restoreId, created, state: restore.state });
          return { statusCode: 202, headers: { location: url }, body: { restoreId: restore.restoreId, created, state: restore.state, statusUrl: url, restore: restoreView(restore) } };
        }
        if (action === 'GET /restores/{id}') {
          const id = parseWith(CbrId, event.pathParameters?.id ?? '', 'id');
          const r = await deps.store.getRestore(id);
          if (!r || !inScope(scope, r.projectId)) throw new RestoreNotFoundError(id);
          return { statusCode: 200, body: restoreView(r) };
        }
      } catch (error) {
        if (error instanceof RestoreRefusedError) throw new HttpError(STATUS[error.kind], `${error.message} [${error.code}]`, { field: error.field });
        if (error instanceof RestoreNotFoundError) throw new HttpError(404, error.message, { field: 'id' });
        throw error;
      }
      throw new ValidationError('route', `unsupported route ${action}`);
    }, options.log),
  );
}
