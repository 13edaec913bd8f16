/**
 * The SQS event-source mapping, driven the way Lambda's pollers drive it: long polling, BatchSize and
 * MaximumBatchingWindowInSeconds, records shaped exactly like Lambda's SQS records, and on return:
 * - a thrown error (or a timeout): nothing is deleted; the whole batch becomes visible again after the
 *   queue's visibility timeout and ends in the DLQ through the queue's own redrive policy;
 * - ReportBatchItemFailures: only the records not listed in `batchItemFailures` are deleted, and an
 *   invalid response (empty/unknown itemIdentifier) fails the whole batch, as documented by AWS;
 * - otherwise: every record is deleted.
 * This is why serverless-offline-sqs is not used (tooling.md §3c: it deletes failed messages).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventSourceMappingDef } from './template';

/** Lambda's poller long-polls for the maximum time SQS allows. */
const LONG_POLL_SECONDS = 20;

export function toSqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const attributes: Record<string, string> = { ...(m.Attributes ?? {}) };
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, a] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { binaryValue: Buffer.from(a.BinaryValue).toString('base64') } : {}),
      stringListValues: a.StringListValues ?? [],
      binaryListValues: (a.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: a.DataType ?? 'String',
    };
  }
  const record: SQSRecord = {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: attributes as unknown as SQSRecord['attributes'],
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (m.MD5OfMessageAttributes) record.md5OfMessageAttributes = m.MD5OfMessageAttributes;
  return record;
}

export type BatchOutcome =
  | { kind: 'all-succeeded' }
  | { kind: 'partial'; failed: Set<string> }
  | { kind: 'all-failed'; reason: string };

/** How Lambda reads a ReportBatchItemFailures response (AWS docs, "Reporting batch item failures"). */
export function interpretBatchResponse(result: unknown, messageIds: ReadonlySet<string>): BatchOutcome {
  if (result === null || result === undefined || typeof result !== 'object' || Array.isArray(result)) return { kind: 'all-succeeded' };
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'all-succeeded' };
  if (!Array.isArray(failures)) return { kind: 'all-failed', reason: 'batchItemFailures is not a list' };
  const failed = new Set<string>();
  for (const item of failures) {
    const id = typeof item === 'object' && item !== null ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') return { kind: 'all-failed', reason: `invalid itemIdentifier ${JSON.stringify(id)}` };
    if (!messageIds.has(id)) return { kind: 'all-failed', reason: `itemIdentifier ${id} is not a message of the batch` };
    failed.add(id);
  }
  return failed.size === 0 ? { kind: 'all-succeeded' } : { kind: 'partial', failed };
}

export interface SqsSource { stop(): Promise<void> }

export function startSqsSource(options: {
  endpoint: string;
  region: string;
  queueUrl: string;
  queueArn: string;
  queueName: string;
  functionKey: string;
  mapping: EventSourceMappingDef;
  pollers: number;
  invoke: (event: SQSEvent) => Promise<unknown>;
  log: (line: string) => void;
}): SqsSource {
  const { mapping, log } = options;
  // One client per mapping, so its long polls never starve another mapping's sockets.
  const client = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const abort = new AbortController();
  const tag = `[sqs ${options.queueName} -> ${options.functionKey}]`;

  const receive = async (max: number, waitSeconds: number): Promise<Message[]> => {
    const out = await client.send(new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
      WaitTimeSeconds: waitSeconds,
      // local-aws-sqs only returns system attributes for the legacy AttributeNames (tooling.md §3b).
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }), { abortSignal: abort.signal });
    return out.Messages ?? [];
  };

  /**
   * One batch, as Lambda's poller builds it: wait (long poll) for the first message, then take what
   * else is available, and keep collecting for up to MaximumBatchingWindowInSeconds until BatchSize.
   * The long poll asks for ONE message on purpose: local-aws-sqs holds a long poll open until it can
   * fill MaxNumberOfMessages (real SQS answers as soon as one message is there), which kept messages
   * in flight, invisible and unprocessed; the follow-up receives are short polls, which it answers at once.
   */
  const gatherBatch = async (): Promise<Message[]> => {
    const batch = new Map<string, Message>();
    for (const m of await receive(1, LONG_POLL_SECONDS)) batch.set(m.MessageId ?? '', m);
    if (batch.size === 0) return [];
    const deadline = Date.now() + mapping.maximumBatchingWindowInSeconds * 1000;
    while (batch.size < mapping.batchSize && !abort.signal.aborted) {
      const more = await receive(mapping.batchSize - batch.size, 0);
      // A message seen twice (its visibility expired while gathering) keeps only its newest receipt.
      for (const m of more) batch.set(m.MessageId ?? '', m);
      if (more.length > 0) continue;
      if (Date.now() >= deadline) break;
      await sleep(Math.min(100, deadline - Date.now()));
    }
    return [...batch.values()];
  };

  const deleteMessages = async (messages: Message[]): Promise<void> => {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const out = await client.send(new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
      }));
      for (const f of out.Failed ?? []) log(`${tag} delete failed for ${chunk[Number(f.Id)]?.MessageId}: ${f.Code} ${f.Message ?? ''}`);
    }
  };

  const handleBatch = async (messages: Message[]): Promise<void> => {
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, options.queueArn, options.region)) };
    const counts = event.Records.map((r) => r.attributes.ApproximateReceiveCount).join(',');
    let result: unknown;
    try {
      result = await options.invoke(event);
    } catch (err) {
      log(`${tag} batch=${messages.length} receives=${counts} failed, nothing deleted: ${(err as Error).message}`);
      return;
    }
    if (!mapping.reportBatchItemFailures) {
      await deleteMessages(messages);
      log(`${tag} batch=${messages.length} receives=${counts} ok, deleted=${messages.length}`);
      return;
    }
    const outcome = interpretBatchResponse(result, new Set(messages.map((m) => m.MessageId ?? '')));
    if (outcome.kind === 'all-failed') {
      log(`${tag} batch=${messages.length} receives=${counts} invalid batch response (${outcome.reason}), nothing deleted`);
      return;
    }
    const done = outcome.kind === 'partial' ? messages.filter((m) => !outcome.failed.has(m.MessageId ?? '')) : messages;
    await deleteMessages(done);
    log(`${tag} batch=${messages.length} receives=${counts} deleted=${done.length} retry=${messages.length - done.length}`);
  };

  const poll = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const batch = await gatherBatch();
        if (batch.length > 0) await handleBatch(batch);
      } catch (err) {
        if (abort.signal.aborted) return;
        log(`${tag} poll error: ${(err as Error).message}`);
        await sleep(1000, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
  };

  const loops = mapping.enabled ? Array.from({ length: Math.max(1, options.pollers) }, () => poll()) : [];
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
      client.destroy();
    },
  };
}
