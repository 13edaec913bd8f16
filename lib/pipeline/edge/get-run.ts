/**
 * get-run's edge: GET /runs/{id} (the record and timeline, 404 when unknown) and GET /runs (newest
 * first; query: limit 1..100, state=A[,B], project, plan, since=<ISO>, cursor=<nextCursor of the
 * previous page>; the answer carries `nextCursor` while there may be more).
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
import { RunState, type RunRecord } from '../../store/run';
import type { Logger } from '../../ports';
import { REDACTED, redactUrl } from '../../secrets/redact';
import { withInvocationFields } from '../../wiring/log';
import { httpHandler } from './http';
import { inScope, readScopeOf, type ReadScope } from './read-scope';

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
  /** One state or several, comma-separated (FAILED,EXPIRED). */
  state: z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim().toUpperCase()))
    .pipe(z.array(z.enum(RunState.options, { error: `must be one or more of ${RunState.options.join(', ')}, comma-separated` })))
    .optional(),
  project: z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be a 32-character lowercase hex project id' }).optional(),
  plan: z.string().min(1).max(128).optional(),
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a zone (2026-01-31T00:00:00Z)' }).transform(Date.parse).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

/** The caller's projects narrowed to `project` when given (a project outside the scope matches nothing). */
function projectsOf(scope: ReadScope, project: string | undefined): ReadonlySet<string> | undefined {
  if (project === undefined) return scope.all ? undefined : scope.projects;
  return inScope(scope, project) ? new Set([project]) : new Set();
}

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
    const q = parseWith(ListQuery, event.queryStringParameters ?? {}, 'query');
    const projectIds = projectsOf(scope, q.project);
    const page = await store.listRuns({
      limit: q.limit,
      ...(projectIds ? { projectIds } : {}),
      ...(q.state ? { states: new Set(q.state) } : {}),
      ...(q.plan !== undefined ? { plan: q.plan } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
    return {
      statusCode: 200,
      body: {
        runs: page.runs.map((r) => ({
          runId: r.runId, state: r.state, step: r.step, projectId: r.request.projectId, region: r.request.region,
          vaultName: r.request.vault.name, plan: r.source.plan, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt),
          finishedAt: iso(r.finishedAt), reason: r.reason,
        })),
        ...(page.cursor ? { nextCursor: page.cursor } : {}),
      },
    };
  }, log));
}
