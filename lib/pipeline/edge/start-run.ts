/**
 * start-run's edges: HTTP POST /runs (202), the intake queue (run.requested), a plan's schedule and a
 * direct invoke (run.requested envelope). All four end in the same use-case.
 *
 * POST /runs is a webhook: the Standard Webhooks signature over the raw body is verified BEFORE the
 * body is even parsed; an unsigned, wrongly signed or stale (> 5 min) request is answered 401 with the
 * reason and never reaches the use-case. A reused webhook-id is not refused: the run id is derived from
 * it (unless an Idempotency-Key names the run), and the run store's conditional create lets only one
 * copy create the run, so a sender's retry — also after we died mid-request — or a replay within the
 * window is answered with the same run (202, created: false). The webhook-id is therefore not claimed
 * up front (a claim made before a crash would refuse every retry as a replay). Authentication is
 * required, so no caller can forget it; `{ mode: 'off', stage: 'local' }` turns it off, on the local
 * stage only. A key scoped to some projects (lib/webhooks/keys.ts) may start runs of those projects
 * only: another projectId is refused 403 before anything is recorded. The queue, schedule and
 * direct-invoke edges are reachable by AWS principals only (IAM).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '../../contracts';
import { parseWith } from '../../contracts/parse';
import { RunRequest } from '../../contracts/run-request';
import { ScheduleTrigger } from '../../contracts/schedule-trigger';
import { ValidationError } from '../../errors';
import type { IntakeDeps } from '../../wiring/deps';
import { jsonLogger, withInvocationFields } from '../../wiring/log';
import type { Logger } from '../../ports';
import { verifiedWebhookOf, webhookAuth, type WebhookAuthOptions } from '../../webhooks/middleware';
import { runIdForKey, runIdForPlan, runIdForWebhook, startRun } from '../start-run';
import { HttpError, httpHandler, readJsonBody } from './http';
import { sqsStepHandler } from './sqs';

export type StartRunEvent = APIGatewayProxyEventV2 | SQSEvent | ScheduleTrigger | Record<string, unknown>;
export type StartRunResponse = APIGatewayProxyStructuredResultV2 | SQSBatchResponse | { runId: string; created: boolean; state: string };

function isHttp(event: StartRunEvent): event is APIGatewayProxyEventV2 {
  return typeof (event as APIGatewayProxyEventV2).requestContext?.http === 'object';
}
function isSqs(event: StartRunEvent): event is SQSEvent {
  return Array.isArray((event as SQSEvent).Records);
}

/**
 * Lambda Invoke accepts any JSON, so a direct call can bring what no AWS trigger would: null, a
 * number, `Records` that are not SQS records. Refuse those as bad input (naming the part at fault)
 * rather than let them crash into a TypeError somewhere below.
 */
function assertInvokable(event: unknown): asserts event is Record<string, unknown> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError('event', `must be an object (an HTTP API request, SQS records, a plan trigger or a run.requested message), got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`);
  }
  const records = (event as { Records?: unknown }).Records;
  if (Array.isArray(records)) {
    records.forEach((r: unknown, i) => {
      if (typeof r !== 'object' || r === null || typeof (r as SQSRecord).messageId !== 'string' || typeof (r as SQSRecord).body !== 'string') {
        throw new ValidationError(`Records[${i}]`, 'is not an SQS record (an object with a string messageId and body)');
      }
    });
  }
}

export interface StartRunOptions {
  /**
   * Inbound webhook authentication of POST /runs (lib/webhooks: on with keys, or off on the local
   * stage).
   */
  webhookAuth: WebhookAuthOptions;
  publicBaseUrl?: string | undefined;
  log?: Logger;
}

export function startRunHandler(deps: IntakeDeps, options: StartRunOptions) {
  const log = options.log ?? jsonLogger;

  const http = httpHandler(async (event) => {
    const body = readJsonBody(event);
    const key = event.headers?.['idempotency-key'];
    const projectId = typeof body === 'object' && body !== null ? (body as { projectId?: unknown }).projectId : undefined;
    const verified = verifiedWebhookOf(event);
    const webhookId = verified?.messageId;
    if (verified?.projects && typeof projectId === 'string' && !verified.projects.includes(projectId)) {
      log('warn', 'run refused: project out of the webhook key\'s scope', { projectId, keyIndex: verified.keyIndex, webhookId });
      throw new HttpError(
        403,
        `projectId '${projectId}' is not one of the projects webhook key #${verified.keyIndex + 1} may start runs for (${verified.projects.join(', ')}); sign with a key scoped to this project`,
        { field: 'body.projectId' },
      );
    }
    const runId =
      typeof projectId !== 'string' ? undefined : key ? runIdForKey(projectId, key) : webhookId ? runIdForWebhook(projectId, webhookId) : undefined;
    const started = await startRun(deps, { request: body, ...(runId ? { runId } : {}), source: { kind: 'http' } });
    const proto = event.headers?.['x-forwarded-proto'] ?? 'https';
    const base = options.publicBaseUrl ?? `${proto}://${event.headers?.host ?? event.requestContext.domainName}`;
    log('info', 'run accepted', { runId: started.runId, created: started.created, source: 'http' });
    return {
      statusCode: 202,
      headers: { location: `${base}/runs/${started.runId}` },
      body: { runId: started.runId, statusUrl: `${base}/runs/${started.runId}`, state: started.run.state, created: started.created },
    };
  }, log)
    // API Gateway always delivers the body as text; a direct invoke may not. Refuse that as bad input
    // before the signature check reads the raw bytes.
    .use({
      before: (request) => {
        const body: unknown = request.event.body;
        if (body !== undefined && body !== null && typeof body !== 'string') throw new ValidationError('body', 'must be the raw JSON text (a string)');
      },
    })
    .use(webhookAuth({ log, ...options.webhookAuth }));

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
            // Checked here first so that a bad request is named as it sits in the trigger (`request.…`).
            parseWith(RunRequest, t.request, 'request');
            return startRun(deps, { request: t.request, runId: runIdForPlan(t.plan, t.scheduledTime), source: { kind: 'schedule', plan: t.plan, scheduledTime: t.scheduledTime } });
          })()
        : await (async () => {
            const m = parseMessage(event, 'run.requested');
            return startRun(deps, { request: m.data.request, runId: m.runId, source: { kind: 'invoke' } });
          })();
    log('info', 'run accepted', { runId: started.runId, created: started.created, source: event.source === 'cbr-flow.plan' ? 'schedule' : 'invoke' });
    return { runId: started.runId, created: started.created, state: started.run.state };
  });

  return withInvocationFields(async (event: StartRunEvent, context: Context): Promise<StartRunResponse> => {
    assertInvokable(event);
    if (isHttp(event)) return http(event, context);
    if (isSqs(event)) return intake(event, context);
    return direct(event as Record<string, unknown>, context);
  });
}
