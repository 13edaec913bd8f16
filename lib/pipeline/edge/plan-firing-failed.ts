/**
 * plan-firing-failed's edge: the schedules DLQ in, one recorded failure per record, failures reported
 * per record (ReportBatchItemFailures; an unprocessed record stays in the DLQ and trips its depth alarm).
 * Accepts both record shapes AWS puts there: Lambda's async invocation record (OnFailure destination:
 * `requestPayload` + `responsePayload`/`requestContext.condition`) and an EventBridge / Scheduler
 * dead letter (the body is what was to be delivered; ERROR_CODE / ERROR_MESSAGE message attributes).
 */
import type { SQSRecord } from 'aws-lambda';
import { ValidationError } from '../../errors';
import type { Logger } from '../../ports';
import type { IntakeDeps } from '../../wiring/deps';
import { errorFields, jsonLogger } from '../../wiring/log';
import { recordFailedFiring, type FailedFiring } from '../plan-firing-failed';
import { sqsBatchHandler } from './sqs';

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The failed firing a DLQ record describes; ValidationError when the body is not JSON. */
export function failedFiringOf(record: Pick<SQSRecord, 'body' | 'messageAttributes'>): FailedFiring {
  let body: unknown;
  try {
    body = JSON.parse(record.body) as unknown;
  } catch (cause) {
    throw new ValidationError('body', `is not JSON (${(cause as Error).message})`, { cause });
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if ('requestPayload' in b && typeof b.requestContext === 'object' && b.requestContext !== null) {
    const context = b.requestContext as Record<string, unknown>;
    const response = (typeof b.responsePayload === 'object' && b.responsePayload !== null ? b.responsePayload : {}) as Record<string, unknown>;
    const condition = text(context.condition) ?? 'RetriesExhausted';
    const attempts = typeof context.approximateInvokeCount === 'number' ? ` after ${context.approximateInvokeCount} attempt(s)` : '';
    const cause = [text(response.errorType), text(response.errorMessage)].filter(Boolean).join(': ');
    return { payload: b.requestPayload, error: `${condition}${attempts}${cause ? ` (${cause})` : ''}`, via: 'lambda-on-failure' };
  }
  const attrs = record.messageAttributes ?? {};
  const code = text(attrs.ERROR_CODE?.stringValue);
  const message = text(attrs.ERROR_MESSAGE?.stringValue);
  const error = [code, message].filter(Boolean).join(': ') || 'EventBridge could not deliver it';
  return { payload: body, error: `delivery failed (${error})`, via: 'eventbridge-dlq' };
}

export function planFiringFailedHandler(deps: IntakeDeps, log: Logger = jsonLogger) {
  return sqsBatchHandler(async (record) => {
    try {
      const outcome = await recordFailedFiring(deps, failedFiringOf(record), log);
      log('info', 'failed firing handled', { outcome, messageId: record.messageId });
    } catch (error) {
      log('error', 'failed firing not recorded', { messageId: record.messageId, ...errorFields(error) });
      throw error;
    }
  });
}
