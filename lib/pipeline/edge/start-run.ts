/**
 * start-run's edges: HTTP POST /runs (202), the intake queue (run.requested), a plan's schedule and a
 * direct invoke (run.requested envelope). All four end in the same use-case.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseMessage } from '../../contracts';
import { parseWith } from '../../contracts/parse';
import { ScheduleTrigger } from '../../contracts/schedule-trigger';
import type { IntakeDeps } from '../deps';
import { jsonLogger, type Logger } from '../log';
import { runIdForKey, runIdForPlan, startRun } from '../start-run';
import { httpHandler, readJsonBody } from './http';
import { sqsStepHandler } from './sqs';

export type StartRunEvent = APIGatewayProxyEventV2 | SQSEvent | ScheduleTrigger | Record<string, unknown>;
export type StartRunResponse = APIGatewayProxyStructuredResultV2 | SQSBatchResponse | { runId: string; created: boolean; state: string };

function isHttp(event: StartRunEvent): event is APIGatewayProxyEventV2 {
  return typeof (event as APIGatewayProxyEventV2).requestContext?.http === 'object';
}
function isSqs(event: StartRunEvent): event is SQSEvent {
  return Array.isArray((event as SQSEvent).Records);
}

export function startRunHandler(deps: IntakeDeps, options: { publicBaseUrl?: string | undefined; log?: Logger } = {}) {
  const log = options.log ?? jsonLogger;

  const http = httpHandler(async (event) => {
    const body = readJsonBody(event);
    const key = event.headers?.['idempotency-key'];
    const projectId = typeof body === 'object' && body !== null ? (body as { projectId?: unknown }).projectId : undefined;
    const runId = key && typeof projectId === 'string' ? runIdForKey(projectId, key) : undefined;
    const started = await startRun(deps, { request: body, ...(runId ? { runId } : {}), source: { kind: 'http' } });
    const proto = event.headers?.['x-forwarded-proto'] ?? 'https';
    const base = options.publicBaseUrl ?? `${proto}://${event.headers?.host ?? event.requestContext.domainName}`;
    log('info', 'run accepted', { runId: started.runId, created: started.created, source: 'http' });
    return {
      statusCode: 202,
      headers: { location: `${base}/runs/${started.runId}` },
      body: { runId: started.runId, statusUrl: `${base}/runs/${started.runId}`, state: started.run.state, created: started.created },
    };
  }, log);

  const intake = sqsStepHandler(
    { type: 'run.requested', step: 'create-vault', run: (d, m) => startRun(d, { request: m.data.request, runId: m.runId, source: { kind: 'queue' } }) },
    deps,
    log,
  );

  const direct = middy<Record<string, unknown>, { runId: string; created: boolean; state: string }>().handler(async (event) => {
    const started =
      event.source === 'cbr-flow.plan'
        ? await (async () => {
            const t = parseWith(ScheduleTrigger, event);
            return startRun(deps, { request: t.request, runId: runIdForPlan(t.plan, t.scheduledTime), source: { kind: 'schedule', plan: t.plan, scheduledTime: t.scheduledTime } });
          })()
        : await (async () => {
            const m = parseMessage(event, 'run.requested');
            return startRun(deps, { request: m.data.request, runId: m.runId, source: { kind: 'invoke' } });
          })();
    log('info', 'run accepted', { runId: started.runId, created: started.created, source: event.source === 'cbr-flow.plan' ? 'schedule' : 'invoke' });
    return { runId: started.runId, created: started.created, state: started.run.state };
  });

  return async (event: StartRunEvent, context: Context): Promise<StartRunResponse> => {
    if (isHttp(event)) return http(event, context);
    if (isSqs(event)) return intake(event, context);
    return direct(event as Record<string, unknown>, context);
  };
}
