/**
 * get-run's edge: GET /runs/{id} (the record and timeline, 404 when unknown) and GET /runs (recent).
 * Both answer only runs of the caller's projects (./read-scope.ts: the JWT authorizer's claims); a run
 * of another project is 404. The request's notifyUrl is shown as its origin only (its userinfo, path
 * or query may be a credential).
 */
import { RunId } from '../../contracts/ids';
import { parseWith } from '../../contracts/parse';
import { ValidationError } from '../../errors';
import * as z from 'zod';
import type { RunStore } from '../../ports';
import { RunNotFoundError } from '../../store/errors';
import type { RunRecord } from '../../store/run';
import type { Logger } from '../../ports';
import { REDACTED, redactUrl } from '../../secrets/redact';
import { withInvocationFields } from '../../wiring/log';
import { httpHandler } from './http';
import { inScope, readScopeOf } from './read-scope';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** `text` with every form of `url` that could carry its credential replaced. */
function scrubUrl(text: string, url: string | undefined): string {
  if (!url) return text;
  let out = text.split(url).join(REDACTED);
  try {
    const u = new URL(url);
    for (const part of [u.href, u.search, u.username, u.password, u.pathname.length > 1 ? u.pathname : '']) {
      if (part.length >= 4) out = out.split(part).join(REDACTED);
    }
  } catch { /* not a URL: the whole-string replacement above is all there is */ }
  return out;
}

/** The run as the API shows it: timestamps as ISO strings, internal claim tokens and the notifyUrl's secrets left out. */
export function runView(run: RunRecord) {
  const notifyUrl = run.request.notifyUrl;
  return {
    ...run,
    request: { ...run.request, ...(notifyUrl !== undefined ? { notifyUrl: redactUrl(notifyUrl) } : {}) },
    createdAt: iso(run.createdAt),
    updatedAt: iso(run.updatedAt),
    deadlineAt: iso(run.deadlineAt),
    finishedAt: iso(run.finishedAt),
    progressAt: iso(run.progressAt),
    due: run.due ? { shard: run.due.shard, at: iso(run.due.at) } : undefined,
    checkpoints: run.checkpoints.map(({ claim: _claim, ...c }) => ({ ...c, createdAt: iso(c.createdAt), finishedAt: iso(c.finishedAt) })),
    pendingResources: run.pendingResources.map((p) => ({ ...p, retryAt: iso(p.retryAt) })),
    timeline: run.timeline.map((e) => ({ ...e, ...(e.detail !== undefined ? { detail: scrubUrl(e.detail, notifyUrl) } : {}), at: iso(e.at) })),
    lastError: run.lastError ? { ...run.lastError, message: scrubUrl(run.lastError.message, notifyUrl), at: iso(run.lastError.at) } : undefined,
    notification: run.notification
      ? { ...run.notification, ...(run.notification.message !== undefined ? { message: scrubUrl(run.notification.message, notifyUrl) } : {}), at: iso(run.notification.at) }
      : undefined,
  };
}

// Decimal digits only: z.coerce.number() alone would also take '0x10', '1e1', ' 5' or '0b11'.
const ListQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]+$/, { error: 'must be a whole number from 1 to 100' })
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .default(20),
});

export function getRunHandler(store: RunStore, log?: Logger) {
  return withInvocationFields(httpHandler(async (event) => {
    const scope = readScopeOf(event);
    const id = event.pathParameters?.id;
    if (id !== undefined || event.routeKey === 'GET /runs/{id}') {
      const runId = parseWith(RunId, id ?? '', 'id');
      const run = await store.get(runId);
      if (!run || !inScope(scope, run.request.projectId)) throw new RunNotFoundError(runId);
      return { statusCode: 200, body: runView(run) };
    }
    if (event.routeKey !== undefined && event.routeKey !== 'GET /runs' && event.routeKey !== '$default') {
      throw new ValidationError('route', `unsupported route ${event.routeKey}`);
    }
    const { limit } = parseWith(ListQuery, event.queryStringParameters ?? {}, 'query');
    const runs = await store.listRecent(limit, scope.all ? {} : { projectIds: scope.projects });
    return {
      statusCode: 200,
      body: {
        runs: runs.map((r) => ({
          runId: r.runId, state: r.state, step: r.step, projectId: r.request.projectId, region: r.request.region,
          vaultName: r.request.vault.name, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt), reason: r.reason,
        })),
      },
    };
  }, log));
}
