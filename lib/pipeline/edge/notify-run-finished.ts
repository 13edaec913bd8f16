/**
 * notify-run-finished's edge: the events queue (run.finished, checkpoint.started) in, one notification
 * per finished run out, failures reported per record (ReportBatchItemFailures) so one slow receiver
 * never re-drives its batch-mates. The deadline of every delivery is the invocation's remaining time
 * (context.getRemainingTimeInMillis) less a margin for recording the outcome.
 */
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '../../contracts/index';
import { errorFields, jsonLogger, type Logger } from '../../wiring/log';
import { notifyFinished, type NotifyDeps } from '../notify-run-finished';

/** Kept back from the Lambda's remaining time to record the outcome and answer. */
export const RECORD_MARGIN_MS = 2_000;

export function notifyHandler(deps: NotifyDeps, options: { maxReceiveCount: number; log?: Logger }) {
  const log = options.log ?? jsonLogger;
  const processRecord = async (record: SQSRecord, deadlineAt: number): Promise<void> => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    let runId: string | undefined;
    try {
      const message = parseMessage(record.body);
      runId = message.runId;
      const outcome = await notifyFinished(deps, message, { deadlineAt, receiveCount, maxReceiveCount: options.maxReceiveCount });
      log('info', 'notify done', { outcome, runId, type: message.type, messageId: record.messageId });
    } catch (error) {
      log('error', 'notify failed', { runId, messageId: record.messageId, receiveCount, ...errorFields(error) });
      throw error;
    }
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(sqsPartialBatchFailure({ logger: () => {} })) // failures are logged per record above
    .handler(async (event, context: Context) => {
      const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 30_000;
      const deadlineAt = deps.clock.now() + Math.max(0, remaining - RECORD_MARGIN_MS);
      const settled = await Promise.allSettled(event.Records.map((r) => processRecord(r, deadlineAt)));
      return settled as unknown as SQSBatchResponse;
    });
}
