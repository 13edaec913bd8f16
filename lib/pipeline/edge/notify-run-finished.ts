/**
 * notify-run-finished's edge: the events queue (run.finished, share.pending, checkpoint.started) in, one notification
 * per finished run out, failures reported per record (ReportBatchItemFailures) so one slow receiver
 * never re-drives its batch-mates. The deadline of every delivery is the invocation's remaining time
 * (context.getRemainingTimeInMillis) less a margin for recording the outcome.
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { parseMessage } from '../../contracts';
import { errorFields, jsonLogger } from '../../wiring/log';
import type { Logger } from '../../ports';
import { notifyFinished, type NotifyDeps } from '../notify-run-finished';
import { sqsBatchHandler } from './sqs';

/** Kept back from the Lambda's remaining time to record the outcome and answer. */
export const RECORD_MARGIN_MS = 2_000;

export function notifyHandler(deps: NotifyDeps, options: { maxReceiveCount: number; log?: Logger }) {
  const log = options.log ?? jsonLogger;
  return sqsBatchHandler(async (record: SQSRecord, context: Context): Promise<void> => {
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 30_000;
    const deadlineAt = deps.clock.now() + Math.max(0, remaining - RECORD_MARGIN_MS);
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
  });
}
