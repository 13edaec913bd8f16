/**
 * The schedules DLQ consumer: a plan firing that never became a run becomes a FAILED run keyed like the
 * run the firing would have made (so it is listed and a late copy finds it), with the PlanFiringFailed
 * metric; a run the firing did start is left alone; the checker's failures are counted, not recorded.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { failedFiringOf, planFiringFailedHandler } from '../../../lib/pipeline/edge/plan-firing-failed';
import { runIdForPlan, startRun } from '../../../lib/pipeline/start-run';
import type { Logger } from '../../../lib/ports';
import { emfMetrics } from '../../../lib/wiring/metrics';
import { makeContext, makeSqsEvent, makeSqsRecord } from '../../helpers/factories';
import { makeWorld, request } from './world';

const ctx = makeContext();
const trigger = (plan = 'nightly', scheduledTime = '2026-12-05T02:00:07Z', req: unknown = request()) => ({ source: 'cbr-flow.plan', plan, scheduledTime, request: req });
const lambdaRecord = (payload: unknown) => JSON.stringify({
  version: '1.0', timestamp: '2026-12-05T02:03:00Z',
  requestContext: { requestId: 'r1', functionArn: 'arn:aws:lambda:ap-southeast-1:1:function:start-run:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
  requestPayload: payload, responseContext: { statusCode: 200, functionError: 'Unhandled' },
  responsePayload: { errorType: 'StoreError', errorMessage: 'DynamoDB throttled' },
});

function capture(): { log: Logger; lines: Array<Record<string, unknown>>; emf: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const emf: Array<Record<string, unknown>> = [];
  return { lines, emf, log: (level, msg, fields = {}) => lines.push({ level, msg, ...fields }) };
}

/** The world with its EMF lines captured (the metrics port the deployed functions get). */
function world(emf: Array<Record<string, unknown>>) {
  const w = makeWorld();
  w.deps.metrics = emfMetrics('test', (line) => emf.push(JSON.parse(line) as Record<string, unknown>), () => w.clock.now());
  return w;
}

describe('plan-firing-failed', () => {
  it('a plan firing that failed every attempt is a FAILED run keyed like its run, announced, with the metric; a second copy changes nothing', async () => {
    const { log, lines, emf } = capture();
    const w = world(emf);
    const handler = planFiringFailedHandler(w.deps, log);
    const body = lambdaRecord(trigger());
    const res = (await handler(makeSqsEvent([makeSqsRecord(body)]), ctx)) as SQSBatchResponse;
    expect(res.batchItemFailures).toEqual([]);
    const runId = runIdForPlan('nightly', '2026-12-05T02:00:07Z');
    const run = (await w.memory.get(runId))!;
    expect(run).toMatchObject({ state: 'FAILED', source: { kind: 'schedule', plan: 'nightly' }, lastError: { code: 'PlanFiringFailed' } });
    expect(run.reason).toBe('plan firing failed: RetriesExhausted after 3 attempt(s) (StoreError: DynamoDB throttled)');
    expect(w.bus.on('events').map((m) => m.type)).toEqual(['run.finished']);
    expect(lines.find((l) => l.msg === 'plan firing failed')).toMatchObject({ level: 'error', plan: 'nightly', runId, recorded: true });
    const metric = emf.find((l) => 'PlanFiringFailed' in l)!;
    expect(metric).toMatchObject({ PlanFiringFailed: 1, Stage: 'test', plan: 'nightly', runId, _aws: { CloudWatchMetrics: [{ Namespace: 'cbr-flow', Dimensions: [['Stage']], Metrics: [{ Name: 'PlanFiringFailed', Unit: 'Count' }] }] } });
    // The late copy of the firing (start-run itself) finds the failed run and starts nothing.
    const late = await startRun(w.deps, { request: request(), runId, source: { kind: 'schedule', plan: 'nightly' } });
    expect([late.created, late.run.state]).toEqual([false, 'FAILED']);
    expect(w.bus.on('vault')).toHaveLength(0);
    // The FAILED run is counted once as a failed run too (RunsFailedOrExpiredAlarm).
    expect(emf.filter((l) => l.RunsFailed === 1).map((l) => l.runId)).toEqual([runId]);
    await handler(makeSqsEvent([makeSqsRecord(body)]), ctx);
    expect(w.bus.on('events')).toHaveLength(1);
    expect(emf.filter((l) => l.RunsFailed === 1)).toHaveLength(1);
  });

  it('leaves a run the firing did start alone; counts a checker firing; refuses a non-JSON record (it stays in the DLQ)', async () => {
    const { log, lines, emf } = capture();
    const w = world(emf);
    const handler = planFiringFailedHandler(w.deps, log);
    const runId = runIdForPlan('nightly', '2026-12-05T02:00:00Z');
    await startRun(w.deps, { request: request(), runId, source: { kind: 'schedule', plan: 'nightly' } });
    const checker = makeSqsRecord(JSON.stringify({ source: 'cbr-flow.check-status' }), { messageAttributes: { ERROR_CODE: { stringValue: 'Lambda.TooManyRequestsException', dataType: 'String', stringListValues: [], binaryListValues: [] } } });
    const garbage = makeSqsRecord('not json');
    const res = (await handler(makeSqsEvent([makeSqsRecord(lambdaRecord(trigger())), checker, garbage]), ctx)) as SQSBatchResponse;
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: garbage.messageId }]);
    expect((await w.memory.get(runId))!.state).toBe('PENDING');
    expect(lines.find((l) => l.msg === 'checker firing failed')).toMatchObject({ error: 'delivery failed (Lambda.TooManyRequestsException)' });
    expect(emf.filter((l) => 'CheckerFiringFailed' in l)).toEqual([expect.objectContaining({ CheckerFiringFailed: 1, error: 'delivery failed (Lambda.TooManyRequestsException)' })]);
  });

  it("a recovery drill's firing that never became a restore is logged and counted as PlanFiringFailed, naming plan and drill", async () => {
    const { log, lines, emf } = capture();
    const w = world(emf);
    const handler = planFiringFailedHandler(w.deps, log);
    const drill = { source: 'cbr-flow.drill', plan: 'nightly', drill: 'web-1', scheduledTime: '2026-12-05T06:00:00Z', projectId: '0605767b5780d5762fc5c0118072a564', resourceId: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', target: '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d' };
    const res = (await handler(makeSqsEvent([makeSqsRecord(lambdaRecord(drill))]), ctx)) as SQSBatchResponse;
    expect(res.batchItemFailures).toEqual([]);
    expect(lines.find((l) => l.msg === 'drill firing failed')).toMatchObject({ plan: 'nightly', drill: 'web-1', via: 'lambda-on-failure' });
    expect(emf.filter((l) => 'PlanFiringFailed' in l)).toEqual([expect.objectContaining({ PlanFiringFailed: 1, plan: 'nightly', drill: 'web-1' })]);
    expect(lines.some((l) => l.msg === 'unrecognised schedule firing in the schedules DLQ')).toBe(false);
  });

  it('reads an EventBridge Scheduler dead letter (body = the Input, ERROR_CODE / ERROR_MESSAGE attributes)', () => {
    const attr = (v: string) => ({ stringValue: v, dataType: 'String', stringListValues: [], binaryListValues: [] });
    const firing = failedFiringOf({ body: JSON.stringify(trigger()), messageAttributes: { ERROR_CODE: attr('AWS.Lambda.ResourceNotFound'), ERROR_MESSAGE: attr('Function not found') } });
    expect(firing).toEqual({ payload: trigger(), error: 'delivery failed (AWS.Lambda.ResourceNotFound: Function not found)', via: 'eventbridge-dlq' });
  });
});
