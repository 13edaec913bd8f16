/**
 * The coverage function's edge. Two triggers:
 *   - GET /coverage (JWT authorizer, like GET /runs): the projects of the caller's `cbr_projects` claim
 *     among the configured ones; `?project=<id>` narrows to one, `?status=unprotected,stale` keeps only
 *     resources in those states (the counts stay whole).
 *   - its schedule (hourly): every configured project; one EMF line per project with
 *     ResourcesUnprotected and ResourcesStale (dimensions Stage, and Stage+ProjectId; CoverageAlarm).
 *     When no project could be read at all the invocation fails (the function's Errors alarm).
 *   - POST /gates/fresh-backup (same JWT authorizer; the body's projectId must be in the caller's
 *     `cbr_projects`, else 403): the freshness gate (./fresh-gate.ts). 200 `{ fresh: true, resources }`
 *     when every resource has a young enough backup; else 202 `{ fresh: false, runId, created, state,
 *     statusUrl, resources }` with a Location header (the run started, or the one already under way).
 *   - GET / (no authorizer: a browser cannot send a bearer token when it navigates): the dashboard page,
 *     a static shell with no data (lib/dashboard/page.ts), which then reads
 *   - GET /dashboard/data (same JWT authorizer, cbr_projects scope): the caller's runs, failed and expired
 *     first, with their timelines, and the plans with their next firings (lib/dashboard/view.ts).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod';
import { parseWith } from '../contracts/parse';
import type { Logger } from '../ports';
import { HttpError, httpHandler, readJsonBody } from '../pipeline/edge/http';
import { inScope, readScopeOf } from '../pipeline/edge/read-scope';
import { jsonLogger, withInvocationFields } from '../wiring/log';
import { DASHBOARD_HEADERS, DASHBOARD_HTML } from '../dashboard/page';
import { dashboardData, type DashboardDeps } from '../dashboard/view';
import { METRICS_NAMESPACE } from '../wiring/metrics';
import { freshGate, type FreshGateDeps } from './fresh-gate';
import { COVERAGE_STATUSES, coverage, type CoverageDeps, type CoverageTarget, type ProjectCoverage } from './coverage';

const Query = z.strictObject({
  project: z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be a 32-character lowercase hex project id' }).optional(),
  status: z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim().toLowerCase()))
    .pipe(z.array(z.enum(COVERAGE_STATUSES, { error: `must be one or more of ${COVERAGE_STATUSES.join(', ')}, comma-separated` })))
    .optional(),
});

/** The EMF line of one project's figures (namespace cbr-flow). */
export function coverageMetricLine(stage: string, at: number, p: ProjectCoverage): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [{
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['Stage'], ['Stage', 'ProjectId']],
        Metrics: [{ Name: 'ResourcesUnprotected', Unit: 'Count' }, { Name: 'ResourcesStale', Unit: 'Count' }],
      }],
    },
    Stage: stage,
    ProjectId: p.projectId,
    Region: p.region,
    ResourcesUnprotected: p.counts.unprotected + p.counts.missing,
    ResourcesStale: p.counts.stale + p.counts['share-missing'],
  });
}

function isHttp(event: unknown): event is APIGatewayProxyEventV2 {
  return typeof event === 'object' && event !== null && typeof (event as { requestContext?: { http?: unknown } }).requestContext?.http === 'object';
}

export interface CoverageOptions {
  targets: readonly CoverageTarget[];
  stage: string;
  log?: Logger;
  /** Where EMF lines go (stdout in Lambda). */
  write?: (line: string) => void;
  /** POST /gates/fresh-backup's dependencies (the route answers 404 without them). */
  gate?: FreshGateDeps;
  /** The base of status URLs (else the request's host). */
  publicBaseUrl?: string | undefined;
  /** GET /dashboard/data's dependencies (the route answers 404 without them). */
  dashboard?: DashboardDeps;
}

/** The dashboard shell's route: public, static (lib/dashboard/page.ts). */
const isShell = (event: APIGatewayProxyEventV2) => (event.routeKey ?? `${event.requestContext.http.method} ${event.rawPath}`) === 'GET /';

export function coverageHandler(deps: CoverageDeps, options: CoverageOptions) {
  const log = options.log ?? jsonLogger;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const http = httpHandler(async (event) => {
    const scope = readScopeOf(event);
    const route = event.routeKey ?? `${event.requestContext?.http?.method} ${event.rawPath}`;
    if (route === 'GET /dashboard/data') {
      if (!options.dashboard) throw new HttpError(404, 'the dashboard is not wired on this function', { field: 'route' });
      const headers: Record<string, string> = { 'cache-control': 'no-store' };
      return { statusCode: 200, headers, body: await dashboardData(options.dashboard, scope.all ? undefined : scope.projects) };
    }
    if (route === 'POST /gates/fresh-backup') {
      if (!options.gate) throw new HttpError(404, 'the freshness gate is not wired on this function', { field: 'route' });
      const body = readJsonBody(event);
      const projectId = (body as { projectId?: unknown } | null)?.projectId;
      if (typeof projectId === 'string' && !inScope(scope, projectId)) {
        throw new HttpError(403, `the token's cbr_projects claim does not include project ${projectId}; ask the issuer to add it`, { field: 'projectId' });
      }
      const r = await freshGate(options.gate, body);
      if (r.fresh) return { statusCode: 200, body: r };
      const proto = event.headers?.['x-forwarded-proto'] ?? 'https';
      const base = options.publicBaseUrl ?? `${proto}://${event.headers?.host ?? event.requestContext.domainName}`;
      const statusUrl = `${base}/runs/${r.runId}`;
      const { run, ...rest } = r;
      return { statusCode: 202, headers: { location: statusUrl }, body: { ...rest, state: run.state, statusUrl } };
    }
    const q = parseWith(Query, event.queryStringParameters ?? {}, 'query');
    const targets = options.targets.filter((t) => inScope(scope, t.projectId) && (q.project === undefined || t.projectId === q.project));
    const report = await coverage(deps, targets);
    const keep = q.status ? new Set<string>(q.status) : undefined;
    return {
      statusCode: 200,
      body: keep ? { ...report, projects: report.projects.map((p) => ({ ...p, resources: p.resources.filter((r) => keep.has(r.status)) })) } : report,
    };
  }, log);
  const scheduled = middy<unknown, { projects: number; failed: number }>().handler(async () => {
    const report = await coverage(deps, options.targets);
    const at = deps.clock.now();
    let failed = 0;
    for (const p of report.projects) {
      if (p.error) {
        failed++;
        log('warn', 'coverage: project not read', { projectId: p.projectId, region: p.region, error: p.error.name, message: p.error.message });
        continue;
      }
      write(coverageMetricLine(options.stage, at, p));
      log('info', 'coverage', { projectId: p.projectId, region: p.region, ...p.counts });
    }
    if (report.projects.length > 0 && failed === report.projects.length) throw new Error(`coverage: none of the ${failed} project(s) could be read`);
    return { projects: report.projects.length, failed };
  });
  return withInvocationFields(async (event: unknown, context: Parameters<typeof scheduled>[1]) =>
    !isHttp(event) ? scheduled(event, context)
      : isShell(event) ? { statusCode: 200, headers: DASHBOARD_HEADERS, body: DASHBOARD_HTML }
        : http(event, context));
}
