/**
 * The SQS edge of every step: parse each record's envelope (one message type per queue), run the
 * use-case, and report failures per record (ReportBatchItemFailures, `sqsBatchHandler`), so one bad
 * record never fails or re-drives its batch-mates. A failed record is recorded on its run
 * (attempts, lastError) and, on the receive that sends it to the DLQ, fails the run with the reason;
 * a record that is not a valid message at all is only noted on the run it names (record-failure.ts).
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage, type MessageOf, type MessageType } from '../../contracts';
import { RunId } from '../../contracts/ids';
import { RunNotFoundError } from '../../store/errors';
import type { Step } from '../../store/run';
import type { StepOutcome } from '../common';
import type { IntakeDeps } from '../../wiring/deps';
import { errorFields, jsonLogger, withInvocationFields } from '../../wiring/log';
import type { Logger } from '../../ports';
import { withInvocationDeadline } from '../deadline';
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
    let runId: string | undefined;
    let parsed = false;
    try {
      const message = parseMessage(record.body, binding.type);
      parsed = true;
      runId = message.runId;
      const outcome = await binding.run(d, message);
      log('info', 'step done', { step: binding.step, outcome, runId, type: message.type, attempt: message.attempt, messageId: record.messageId });
    } catch (error) {
      runId ??= knownRunId(record);
      // Not a valid message (bad JSON, type, version, size): refused, noted on its run, never fails it.
      const refused = !parsed;
      log('error', 'step failed', { step: binding.step, runId, messageId: record.messageId, receiveCount, refused, ...errorFields(error) });
      if (runId) {
        await recordDeliveryFailure(d, { runId, step: binding.step, error, receiveCount, refused }).catch((e: unknown) => {
          if (!(e instanceof RunNotFoundError)) log('error', 'recording the failure on the run failed', { runId, ...errorFields(e) });
        });
      }
      throw error;
    }
  };
}

/**
 * The run a refused record belongs to: its `runId` message attribute, else the `runId` of its body
 * even though the body failed validation (a message from another producer may carry no attributes).
 * Only a well-formed run id counts, so a hostile value never reaches the store or the log.
 */
function knownRunId(record: SQSRecord): string | undefined {
  const attribute = record.messageAttributes?.runId?.stringValue;
  if (RunId.safeParse(attribute).success) return attribute;
  try {
    const body = JSON.parse(record.body) as unknown;
    const id = typeof body === 'object' && body !== null ? (body as { runId?: unknown }).runId : undefined;
    return RunId.safeParse(id).success ? (id as string) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one SQS batch edge: every record of the batch processed concurrently, and the records whose
 * processing rejected listed in `batchItemFailures` (the function's event source mapping has
 * ReportBatchItemFailures), so SQS deletes the others and redelivers only those. `processRecord` logs its
 * own failures; every line carries the invocation's request id, function name and cold-start flag.
 */
export function sqsBatchHandler(processRecord: (record: SQSRecord, context: Context) => Promise<void>) {
  return withInvocationFields(
    middy<SQSEvent, SQSBatchResponse>().handler(async (event, context): Promise<SQSBatchResponse> => {
      const settled = await Promise.allSettled(event.Records.map((record) => processRecord(record, context)));
      return { batchItemFailures: event.Records.flatMap((record, i) => (settled[i]!.status === 'rejected' ? [{ itemIdentifier: record.messageId }] : [])) };
    }),
  );
}

export function sqsStepHandler<T extends MessageType, D extends IntakeDeps>(binding: StepBinding<T, D>, deps: D | (() => D), log: Logger = jsonLogger) {
  // No CBR call starts that cannot finish in this invocation's remaining time (deadline.ts).
  return sqsBatchHandler((record, context) => sqsRecordProcessor(binding, withInvocationDeadline(typeof deps === 'function' ? deps() : deps, context), log)(record));
}
