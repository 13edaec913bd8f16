/**
 * Lambda's SQS event-source mapping, the one implementation behind the local runtime (`npm start`,
 * real time) and the test harness (test/helpers/pipeline-harness.ts, virtual time). Per batch:
 * - records shaped exactly like Lambda's SQS records (toSqsRecord);
 * - a thrown error (a timeout, a killed invocation): nothing is deleted, the whole batch is retried;
 * - ReportBatchItemFailures: only the records not listed in `batchItemFailures` are deleted, and an
 *   invalid response (empty/unknown itemIdentifier) fails the whole batch, as documented by AWS;
 * - otherwise: every record is deleted.
 * A retried record comes back after the queue's visibility timeout and, after maxReceiveCount receives,
 * the queue's own redrive policy moves it to its DLQ (local-aws-sqs does that, as SQS does).
 * This is why serverless-offline-sqs is not used (tooling.md §3c: it deletes failed messages).
 *
 * The two clocks:
 * - real time (`start()`): `pollers` loops per mapping long-poll, gather a batch for up to
 *   MaximumBatchingWindowInSeconds, and leave failed records to the queue's visibility timeout;
 *   DelaySeconds is local-aws-sqs's.
 * - virtual time (`pump()`): time stands still while a handler runs or a message is visible, so a
 *   batch is what is visible now (no batching window), the visibility timeout of a failed record
 *   elapses at once (ChangeMessageVisibility 0), and delayed sends are held here until the virtual
 *   clock reaches them (`hold`, `releaseDue`). local-aws-sqs 2.0.2 counts a ChangeMessageVisibility as
 *   one more receive (real SQS does not), so every failed receive counts twice there: `redrivePolicy`
 *   doubles maxReceiveCount and the handler is shown ceil(count / 2) as ApproximateReceiveCount (the
 *   real count of receives), so the queue's redrive moves a message to the DLQ exactly after
 *   `maxReceiveCount` failed receives.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

/** Lambda's poller long-polls for the maximum time SQS allows. */
const LONG_POLL_SECONDS = 20;
/** SQS hands out at most 10 messages per receive and takes at most 10 entries per batch call. */
const SQS_MAX_BATCH = 10;

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

/** Real time, or a virtual clock that only its owner moves (see the header). */
export type SqsTime = { kind: 'real' } | { kind: 'virtual'; clock: { now(): number } };

/** One event-source mapping: a queue, its function and the mapping's settings. */
export interface SqsMapping {
  queueUrl: string;
  queueArn: string;
  /** For log lines: `[sqs <queueName> -> <functionKey>]`. */
  queueName: string;
  functionKey: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  reportBatchItemFailures: boolean;
  /** Concurrent pollers (batches in flight at once). */
  pollers: number;
  /** The function; what it returns is read as Lambda reads it, a throw fails the whole batch. */
  invoke(event: SQSEvent): Promise<unknown>;
}

export interface SqsDriverOptions {
  endpoint: string;
  region: string;
  time: SqsTime;
  /** One line per batch and per poll error; default none. */
  log?: (line: string) => void;
}

interface Held { at: number; queueUrl: string; send: () => Promise<void> }
interface Mapping { spec: SqsMapping; client: SQSClient; tag: string }

export class SqsDriver {
  private readonly mappings: Mapping[] = [];
  private readonly abort = new AbortController();
  private readonly loops: Array<Promise<void>> = [];
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly held: Held[] = [];
  private readonly log: (line: string) => void;
  private sender: SQSClient | undefined;

  constructor(private readonly options: SqsDriverOptions) {
    this.log = options.log ?? (() => undefined);
    // Every long poll listens on this one signal (pollers x mappings > 10): not a leak, no warning on the console.
    setMaxListeners(0, this.abort.signal);
  }

  private get virtual(): boolean {
    return this.options.time.kind === 'virtual';
  }

  /** Adds a mapping (before `start()`). */
  add(spec: SqsMapping): void {
    // One client per mapping, so its long polls never starve another mapping's sockets.
    const client = new SQSClient({
      endpoint: this.options.endpoint,
      region: this.options.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    this.mappings.push({ spec, client, tag: `[sqs ${spec.queueName} -> ${spec.functionKey}]` });
  }

  /** The RedrivePolicy attribute for a queue this driver drives (see the header on virtual time). */
  redrivePolicy(deadLetterTargetArn: string, maxReceiveCount: number): string {
    return JSON.stringify({ deadLetterTargetArn, maxReceiveCount: this.virtual ? 2 * maxReceiveCount : maxReceiveCount });
  }

  /** Real time: every mapping's pollers run until `stop()`. */
  start(): void {
    if (this.virtual) throw new Error('SqsDriver.start() runs on real time; a virtual-time driver is pumped');
    for (const m of this.mappings) {
      for (let i = 0; i < Math.max(1, m.spec.pollers); i++) this.loops.push(this.poll(m));
    }
  }

  /**
   * Virtual time: `pollers` workers per mapping receive a batch, invoke, settle and receive again; a
   * worker stops when its queue is empty and no batch is in flight anywhere (nothing can produce
   * more). Returns the messages delivered.
   */
  async pump(): Promise<number> {
    if (!this.virtual) throw new Error('SqsDriver.pump() runs on virtual time; a real-time driver is started');
    let delivered = 0;
    let inFlight = 0;
    const worker = async (m: Mapping): Promise<void> => {
      for (;;) {
        const woken = this.nextWake(m.spec.queueUrl); // registered before the receive, so no send is missed
        const batch = await this.gatherBatch(m);
        if (batch.length === 0) {
          if (inFlight === 0) {
            this.wake(); // let the other idle workers see that nothing is in flight either
            return;
          }
          await woken;
          continue;
        }
        inFlight++;
        try {
          await this.handleBatch(m, batch);
          delivered += batch.length;
        } finally {
          inFlight--;
          if (inFlight === 0) this.wake();
        }
      }
    };
    await Promise.all(this.mappings.flatMap((m) => Array.from({ length: Math.max(1, m.spec.pollers) }, () => worker(m))));
    return delivered;
  }

  /**
   * Virtual time: a message was sent to `queueUrl` (or, without it, something changed anywhere), so
   * idle workers receive again. Every producer of messages must call it: the pump sleeps instead of
   * busy polling.
   */
  wake(queueUrl?: string): void {
    for (const [url, list] of this.waiters) {
      if (queueUrl !== undefined && url !== queueUrl) continue;
      this.waiters.set(url, []);
      for (const w of list) w();
    }
  }

  /** Virtual time: a send with DelaySeconds, run by `releaseDue()` once the clock reaches `at`. */
  hold(at: number, queueUrl: string, send: () => Promise<void>): void {
    this.held.push({ at, queueUrl, send });
  }

  /** When the next held send is due (Infinity when none is held). */
  nextDueAt(): number {
    return this.held.reduce((min, h) => Math.min(min, h.at), Infinity);
  }

  /** Runs the held sends that are due on the virtual clock. */
  async releaseDue(): Promise<void> {
    if (this.options.time.kind !== 'virtual') return;
    const now = this.options.time.clock.now();
    const due = this.held.filter((h) => h.at <= now);
    for (const d of due) this.held.splice(this.held.indexOf(d), 1);
    await Promise.all(due.map(async (d) => {
      await d.send();
      this.wake(d.queueUrl);
    }));
  }

  /**
   * Lambda's own delivery of a message to a queue (an async invocation's OnFailure destination): sent
   * now, and the queue's idle workers woken (virtual time), so its mapping delivers it like any message.
   */
  async send(queueUrl: string, body: string): Promise<void> {
    this.sender ??= new SQSClient({ endpoint: this.options.endpoint, region: this.options.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await this.sender.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    this.wake(queueUrl);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops.splice(0));
    for (const m of this.mappings) m.client.destroy();
    this.sender?.destroy();
  }

  private nextWake(queueUrl: string): Promise<void> {
    return new Promise((resolve) => this.waiters.set(queueUrl, [...(this.waiters.get(queueUrl) ?? []), resolve]));
  }

  private async poll(m: Mapping): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      try {
        const batch = await this.gatherBatch(m);
        if (batch.length > 0) await this.handleBatch(m, batch);
      } catch (err) {
        if (signal.aborted) return;
        this.log(`${m.tag} poll error: ${(err as Error).message}`);
        await sleep(1000, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private async receive(m: Mapping, max: number, waitSeconds: number): Promise<Message[]> {
    const out = await m.client.send(new ReceiveMessageCommand({
      QueueUrl: m.spec.queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(SQS_MAX_BATCH, max)),
      WaitTimeSeconds: waitSeconds,
      // local-aws-sqs only returns system attributes for the legacy AttributeNames (tooling.md §3b).
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }), { abortSignal: this.abort.signal });
    return out.Messages ?? [];
  }

  /**
   * One batch, as Lambda's poller builds it: wait (long poll) for the first message, then take what
   * else is available, and keep collecting for up to MaximumBatchingWindowInSeconds until BatchSize.
   * The long poll asks for ONE message on purpose: local-aws-sqs holds a long poll open until it can
   * fill MaxNumberOfMessages (real SQS answers as soon as one message is there), which kept messages
   * in flight, invisible and unprocessed; the follow-up receives are short polls, which it answers at once.
   * On virtual time the batch is what is visible now: one short poll, more only while they come back full.
   */
  private async gatherBatch(m: Mapping): Promise<Message[]> {
    const { batchSize } = m.spec;
    const batch = new Map<string, Message>();
    const first = this.virtual ? await this.receive(m, batchSize, 0) : await this.receive(m, 1, LONG_POLL_SECONDS);
    for (const msg of first) batch.set(msg.MessageId ?? '', msg);
    if (batch.size === 0) return [];
    if (this.virtual && first.length < Math.min(SQS_MAX_BATCH, batchSize)) return [...batch.values()];
    const deadline = Date.now() + m.spec.maximumBatchingWindowInSeconds * 1000;
    while (batch.size < batchSize && !this.abort.signal.aborted) {
      const more = await this.receive(m, batchSize - batch.size, 0);
      // A message seen twice (its visibility expired while gathering) keeps only its newest receipt.
      for (const msg of more) batch.set(msg.MessageId ?? '', msg);
      if (more.length > 0) continue;
      if (this.virtual || Date.now() >= deadline) break;
      await sleep(Math.min(100, deadline - Date.now()));
    }
    return [...batch.values()];
  }

  private toRecord(m: Mapping, msg: Message): SQSRecord {
    const record = toSqsRecord(msg, m.spec.queueArn, this.options.region);
    if (this.virtual) {
      record.attributes.ApproximateReceiveCount = String(Math.ceil(Number(record.attributes.ApproximateReceiveCount ?? '1') / 2));
    }
    return record;
  }

  private async handleBatch(m: Mapping, messages: Message[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((msg) => this.toRecord(m, msg)) };
    const head = `${m.tag} batch=${messages.length} receives=${event.Records.map((r) => r.attributes.ApproximateReceiveCount).join(',')}`;
    let outcome: BatchOutcome;
    try {
      const result = await m.spec.invoke(event);
      outcome = m.spec.reportBatchItemFailures
        ? interpretBatchResponse(result, new Set(event.Records.map((r) => r.messageId)))
        : { kind: 'all-succeeded' };
      if (outcome.kind === 'all-failed') this.log(`${head} invalid batch response (${outcome.reason}), nothing deleted`);
    } catch (err) {
      outcome = { kind: 'all-failed', reason: (err as Error).message };
      this.log(`${head} failed, nothing deleted: ${outcome.reason}`);
    }
    const isFailed = (msg: Message): boolean =>
      outcome.kind === 'all-failed' || (outcome.kind === 'partial' && outcome.failed.has(msg.MessageId ?? ''));
    const done = messages.filter((msg) => !isFailed(msg));
    const failed = messages.filter(isFailed);
    await Promise.all([this.deleteMessages(m, done), this.retryLater(m, failed)]);
    if (outcome.kind !== 'all-failed') this.log(`${head} deleted=${done.length} retry=${failed.length}`);
  }

  private async deleteMessages(m: Mapping, messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_MAX_BATCH) {
      const chunk = messages.slice(i, i + SQS_MAX_BATCH);
      const out = await m.client.send(new DeleteMessageBatchCommand({
        QueueUrl: m.spec.queueUrl,
        Entries: chunk.map((msg, j) => ({ Id: String(j), ReceiptHandle: msg.ReceiptHandle })),
      }));
      for (const f of out.Failed ?? []) this.log(`${m.tag} delete failed for ${chunk[Number(f.Id)]?.MessageId}: ${f.Code} ${f.Message ?? ''}`);
    }
  }

  /**
   * Failed records come back after the visibility timeout: on real time the queue's own timer; on
   * virtual time it elapses now, since time stands still while no handler runs.
   */
  private async retryLater(m: Mapping, messages: Message[]): Promise<void> {
    if (!this.virtual || messages.length === 0) return;
    for (let i = 0; i < messages.length; i += SQS_MAX_BATCH) {
      const chunk = messages.slice(i, i + SQS_MAX_BATCH);
      await m.client.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: m.spec.queueUrl,
        Entries: chunk.map((msg, j) => ({ Id: String(j), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0 })),
      }));
    }
    this.wake(m.spec.queueUrl);
  }
}
