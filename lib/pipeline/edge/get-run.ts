/** get-run's edge: GET /runs/{id} (the record and timeline, 404 when unknown) and GET /runs (recent). */
import { RunId } from '../../contracts/ids';
import { parseWith } from '../../contracts/parse';
import { ValidationError } from '../../errors';
import * as z from 'zod';
import type { RunStore } from '../../ports';
import { RunNotFoundError } from '../../store/errors';
import type { RunRecord } from '../../store/run';
import type { Logger } from '../../ports';
import { withInvocationFields } from '../../wiring/log';
import { httpHandler } from './http';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The run as the API shows it: timestamps as ISO strings, internal claim tokens left out. */
export function runView(run: RunRecord) {
  return {
    ...run,
    createdAt: iso(run.createdAt),
    updatedAt: iso(run.updatedAt),
    deadlineAt: iso(run.deadlineAt),
    finishedAt: iso(run.finishedAt),
    progressAt: iso(run.progressAt),
    due: run.due ? { shard: run.due.shard, at: iso(run.due.at) } : undefined,
    checkpoints: run.checkpoints.map(({ claim: _claim, ...c }) => ({ ...c, createdAt: iso(c.createdAt), finishedAt: iso(c.finishedAt) })),
    pendingResources: run.pendingResources.map((p) => ({ ...p, retryAt: iso(p.retryAt) })),
    timeline: run.timeline.map((e) => ({ ...e, at: iso(e.at) })),
    lastError: run.lastError ? { ...run.lastError, at: iso(run.lastError.at) } : undefined,
    notification: run.notification ? { ...run.notification, at: iso(run.notification.at) } : undefined,
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
    const id = event.pathParameters?.id;
    if (id !== undefined || event.routeKey === 'GET /runs/{id}') {
      const runId = parseWith(RunId, id ?? '', 'id');
      const run = await store.get(runId);
      if (!run) throw new RunNotFoundError(runId);
      return { statusCode: 200, body: runView(run) };
    }
    if (event.routeKey !== undefined && event.routeKey !== 'GET /runs' && event.routeKey !== '$default') {
      throw new ValidationError('route', `unsupported route ${event.routeKey}`);
    }
    const { limit } = parseWith(ListQuery, event.queryStringParameters ?? {}, 'query');
    const runs = await store.listRecent(limit);
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
