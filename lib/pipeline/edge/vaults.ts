/**
 * The `vaults` function's edge: the operator's view of the vaults cbr-flow's runs created.
 *
 *   GET    /vaults[?projectId=]                    the vaults the runs used, with CBR's size/used and when each
 *                                                 fills (lib/capacity/vaults.ts: ShowVault + ListBackups per vault)
 *   GET    /vaults/orphaned[?projectId=&region=]  vaults of runs that failed after CreateVault, used by no
 *                                                 later run (../orphaned-vaults.ts); reads the run store only
 *   DELETE /vaults/{vaultId}[?force=true]         deletes one such orphan (ShowVault, ListBackups, DeleteVault)
 *
 * Behind the JWT authorizer like the reads and the run actions: only vaults of the token's
 * `cbr_projects` are listed, and a vault of another project answers 404 exactly like a vault that is not
 * an orphan. API Gateway's HTTP API waits at most 30 s for the function, so every CBR call is made with
 * OPERATOR_CALL_LIMITS and none starts with less than its budget left (503, "run it again").
 *
 * Answers: list 200 `{ vaults: [...] }`; delete 200 `{ deleted, vault, resources, backups }` (`deleted:
 * false` when CBR no longer had it); 404 not an orphan of cbr-flow; 409 not empty (use force); CBR's own
 * refusal 502 with its code and request id; CBR unavailable or no time left 503 with `retry-after`.
 */
import * as z from 'zod';
import { CbrId, ProjectId, Region } from '../../contracts/ids';
import { parseWith } from '../../contracts/parse';
import { ValidationError } from '../../errors';
import { cbrErrorOf, type Logger } from '../../ports';
import type { OperatorDeps } from '../../wiring/deps';
import { errorFields, withInvocationFields } from '../../wiring/log';
import { deadlineCbr } from '../deadline';
import { CredentialsNotMappedError, StepRetryError } from '../errors';
import { vaultCapacities } from '../../capacity/vaults';
import { deleteOrphanedVault, listOrphanedVaults, NotOrphanedError, VaultNotEmptyError, type OrphanedVault } from '../orphaned-vaults';
import { HttpError, httpHandler, type HttpResult, type InvocationContext } from './http';
import { inScope, readScopeOf } from './read-scope';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** An orphan as the API shows it: timestamps as ISO strings. */
export function orphanView(v: OrphanedVault) {
  return { ...v, createdAt: iso(v.createdAt), finishedAt: iso(v.finishedAt) };
}

const OrphanQuery = z.strictObject({ projectId: ProjectId.optional(), region: Region.optional() });
const DeleteQuery = z.strictObject({
  force: z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true').optional(),
});

/** CBR's answer, the credentials or the deadline as an HTTP answer naming what happened; undefined = not one of these (also the retention API's). */
export function cbrFailure(error: unknown, log: Logger, api = 'vaults'): HttpResult | undefined {
  if (error instanceof StepRetryError) {
    return { statusCode: 503, headers: { 'retry-after': '5' }, body: { error: 'Unavailable', code: error.code, message: `${error.message.replace(/; the message is retried on its next delivery$/, '')}; run the command again` } };
  }
  if (error instanceof CredentialsNotMappedError) {
    log('error', `${api}: no CBR credentials for the project`, errorFields(error));
    return { statusCode: 502, body: { error: 'CredentialsNotMapped', code: error.code, message: error.message } };
  }
  const cbr = cbrErrorOf(error);
  if (!cbr) return undefined;
  log('warn', `${api}: CBR call failed`, errorFields(error));
  const body = { error: 'CbrError', message: cbr.message, ...(cbr.errorCode ? { code: cbr.errorCode } : {}), ...(cbr.requestId ? { requestId: cbr.requestId } : {}) };
  return cbr.retryable ? { statusCode: 503, headers: { 'retry-after': '5' }, body } : { statusCode: 502, body };
}

export function vaultsHandler(deps: OperatorDeps, options: { log?: Logger } = {}) {
  const log: Logger = options.log ?? (() => undefined);
  return withInvocationFields(httpHandler(async (event, context: InvocationContext | undefined) => {
    const scope = readScopeOf(event);
    const action = event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`;
    const remaining = context?.getRemainingTimeInMillis;
    const cbr = typeof remaining === 'function' ? deadlineCbr(deps.cbr, () => remaining.call(context), deps.cbrCallBudgetMs) : deps.cbr;
    try {
      if (action === 'GET /vaults') {
        const q = parseWith(z.strictObject({ projectId: ProjectId.optional() }), event.queryStringParameters ?? {}, 'query');
        const { vaults, complete } = await vaultCapacities({ store: deps.store, cbr }, {
          now: Date.now(),
          projects: (p) => inScope(scope, p) && (q.projectId === undefined || p === q.projectId),
        });
        return { statusCode: 200, body: { vaults: vaults.map((v) => ({ ...v, lastRunAt: iso(v.lastRunAt) })), complete } };
      }
      if (action === 'GET /vaults/orphaned') {
        const q = parseWith(OrphanQuery, event.queryStringParameters ?? {}, 'query');
        const vaults = (await listOrphanedVaults(deps.store)).filter(
          (v) => inScope(scope, v.projectId) && (q.projectId === undefined || v.projectId === q.projectId) && (q.region === undefined || v.region === q.region),
        );
        return { statusCode: 200, body: { vaults: vaults.map(orphanView) } };
      }
      if (action === 'DELETE /vaults/{vaultId}') {
        const vaultId = parseWith(CbrId, event.pathParameters?.vaultId ?? '', 'vaultId');
        const q = parseWith(DeleteQuery, event.queryStringParameters ?? {}, 'query');
        // Another project's orphan is not revealed: the same 404 as a vault that is not an orphan.
        const orphan = (await listOrphanedVaults(deps.store)).find((v) => v.vaultId === vaultId);
        if (!orphan || !inScope(scope, orphan.projectId)) throw new NotOrphanedError(vaultId);
        const result = await deleteOrphanedVault({ store: deps.store, cbr }, vaultId, { force: q.force ?? false });
        log('info', 'orphaned vault deleted', { vaultId, projectId: result.vault.projectId, deleted: result.deleted, resources: result.resources, backups: result.backups, force: q.force ?? false });
        return { statusCode: 200, body: { ...result, vault: orphanView(result.vault) } };
      }
    } catch (error) {
      if (error instanceof NotOrphanedError) throw new HttpError(404, error.message, { field: 'vaultId' });
      if (error instanceof VaultNotEmptyError) throw new HttpError(409, error.message, { field: 'force' });
      const answer = cbrFailure(error, log);
      if (answer) return answer;
      throw error;
    }
    throw new ValidationError('route', `unsupported route ${action}`);
  }, options.log));
}
