/**
 * The SQS edge of every step: parse each record's envelope (one message type per queue), run the
 * use-case, and report failures per record (ReportBatchItemFailures via @middy/sqs-partial-batch-failure),
 * so one bad record never fails or re-drives its batch-mates. A failed record is recorded on its run
 * (attempts, lastError) and, on the receive that sends it to the DLQ, fails the run with the reason.
 */
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage, type MessageOf, type MessageType } from '../../contracts';
import { RunId } from '../../contracts/ids';
import { RunNotFoundError } from '../../store/errors';
import type { Step } from '../../store/run';
import type { StepOutcome } from '../common';
import type { IntakeDeps } from '../deps';
import { errorFields, jsonLogger, type Logger } from '../log';
import { recordDeliveryFailure } from '../record-failure';

export interface StepBinding<T extends MessageType, D extends IntakeDeps> {
  type: T;
  step: Step;
  run: (deps: D, message: MessageOf<T>) => Promise<StepOutcome | unknown>;
}

export function sqsRecordProcessor<T extends MessageType, D extends IntakeDeps>(binding: StepBinding<T, D>, deps: D | (() => D), log: Logger = jsonLogger) {
  return async (record: SQSRecord): Promise<void> => {
    const d = typeof deps === 'function' ? deps() : deps;
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    let runId = record.messageAttributes?.runId?.stringValue;
    try {
      const message = parseMessage(record.body, binding.type);
      runId = message.runId;
      const outcome = await binding.run(d, message);
      log('info', 'step done', { step: binding.step, outcome, runId, type: message.type, attempt: message.attempt, messageId: record.messageId });
    } catch (error) {
      log('error', 'step failed', { step: binding.step, runId, messageId: record.messageId, receiveCount, ...errorFields(error) });
      if (runId && RunId.safeParse(runId).success) {
        await recordDeliveryFailure(d, { runId, step: binding.step, error, receiveCount }).catch((e: unknown) => {
          if (!(e instanceof RunNotFoundError)) log('error', 'recording the failure on the run failed', { runId, ...errorFields(e) });
        });
      }
      throw error;
    }
  };
}

export function sqsStepHandler<T extends MessageType, D extends IntakeDeps>(binding: StepBinding<T, D>, deps: D | (() => D), log: Logger = jsonLogger) {
  const processRecord = sqsRecordProcessor(binding, deps, log);
  return middy<SQSEvent, SQSBatchResponse>()
    .use(sqsPartialBatchFailure({ logger: () => {} })) // failures are logged per record above
    .handler(async (event) => {
      // The middleware turns these settled results into { batchItemFailures }.
      const settled = await Promise.allSettled(event.Records.map(processRecord));
      return settled as unknown as SQSBatchResponse;
    });
}
