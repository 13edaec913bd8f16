/**
 * The whole pipeline on loopback, driven like AWS would drive it: the CBR emulator, dynalite and
 * local-aws-sqs (real wire protocols), the real handlers (lib/pipeline/edge: the same middy stacks
 * functions/*.ts export) with real adapters (DynamoRunStore, SqsBus, the lib/cbr client), and a
 * harness that plays Lambda's SQS event-source mapping (batches, partial batch responses, deletes,
 * redelivery after the visibility timeout, DLQ redrive by local-aws-sqs) and EventBridge (one
 * check-status sweep per minute).
 *
 * Time: one virtual clock is "now" for the pipeline, the store, the CBR client's X-Sdk-Date and the
 * emulator (checkpoint durations), so minutes pass in milliseconds and tests are deterministic. It only
 * moves while no handler is running and no message is visible, jumping to the next event (the next
 * minute's sweep, or the next delayed message), so leases and claims can never lapse under a live
 * invocation. Message delays (SQS DelaySeconds) are played on the virtual clock by the harness's
 * bus; client timeouts and Retry-After/backoff sleeps are real time.
 *
 * Redelivery: a received message stays invisible for 60 s (as production's 180 s, far longer than any
 * invocation, so a slow invocation never sees its own message delivered again); the records a batch
 * failed (or all of a killed invocation's) are made visible again at once, i.e. the visibility timeout
 * elapses instantly, since time stands still while no handler runs. local-aws-sqs 2.0.2 counts a
 * ChangeMessageVisibility as one more receive (real SQS does not), so every failed receive counts
 * twice there: the queues' redrive maxReceiveCount is 2 x the configured one and the handler is shown
 * ceil(count / 2) as ApproximateReceiveCount — the real count of receives — so local-aws-sqs's own
 * redrive moves a message to the DLQ exactly after `maxReceiveCount` failed receives.
 *
 * Faults the harness adds on top of the emulator's: duplicate and out-of-order delivery
 * (`delivery.duplicates`), and crashes at the named crash points of lib/wiring/deps.ts (`crashAt`):
 * the invocation is killed there (nothing after the point runs, every later store/queue/CBR call of that
 * invocation hangs forever, its batch is reported to nobody, so SQS redelivers it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message as SqsMessage,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index';
import type { CallEvent } from '../../lib/cbr';
import { parseMessage, type Message } from '../../lib/contracts';
import { stableUuid } from '../../lib/contracts/ids';
import type { RunRequestInput } from '../../lib/contracts/run-request';
import { addResources } from '../../lib/pipeline/add-resources';
import { cbrFactory } from '../../lib/wiring/cbr-factory';
import type { SweepResult } from '../../lib/pipeline/check-status';
import { createVault } from '../../lib/pipeline/create-vault';
import { DEFAULT_SETTINGS, type CrashPoint, type PipelineDeps, type PipelineSettings } from '../../lib/wiring/deps';
import { checkStatusHandler } from '../../lib/pipeline/edge/check-status';
import { sqsStepHandler } from '../../lib/pipeline/edge/sqs';
import { startRunHandler } from '../../lib/pipeline/edge/start-run';
import type { Logger, LogLevel } from '../../lib/wiring/log';
import { emfMetrics } from '../../lib/wiring/metrics';
import { shareBackups } from '../../lib/pipeline/share-backup';
import { startCheckpoint } from '../../lib/pipeline/start-checkpoint';
import type { CbrApi, CbrFactory, MessageBus, QueueName, RunStore } from '../../lib/ports';
import { SqsBus } from '../../lib/queue/sqs';
import { DynamoRunStore } from '../../lib/store/dynamodb/store';
import { createRunsTable } from '../../lib/store/dynamodb/table';
import { isTerminal, type RunRecord } from '../../lib/store/run';
import { MemoryReplayGuard, signWebhook } from '../../lib/webhooks';
import { startLocalDynamo, startLocalSqs, type LocalServer } from '../../local/servers';
import { toSqsRecord } from '../../local/sqs-source';
import { mulberry32 } from '../../emulator/random';
import { makeContext, makeHttpEvent, makeScheduledEvent } from './factories';

// ---------------------------------------------------------------------------------------------
// Small deterministic helpers

/** mulberry32 (the emulator's seeded PRNG) for delivery decisions: same seed, same decisions for the same order. */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

export class VirtualClock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('the virtual clock never goes back');
    this.ms += ms;
  }
  set(ms: number): void {
    if (ms > this.ms) this.ms = ms;
  }
}

/** Owner-project servers for the emulator catalogue, with stable ids (one 40 GB system disk each). */
export function makeServers(count: number, prefix: string): Array<{ id: string; projectId: string; type: 'OS::Nova::Server'; name: string; disks: Array<{ id: string; name: string; sizeGb: number }> }> {
  return Array.from({ length: count }, (_, i) => ({
    id: stableUuid('harness-server', prefix, i),
    projectId: DEMO.projectId,
    type: 'OS::Nova::Server' as const,
    name: `${prefix}-${i}`,
    disks: [{ id: stableUuid('harness-disk', prefix, i), name: `${prefix}-${i}-sys`, sizeGb: 40 }],
  }));
}

/** The harness's inbound webhook key (POST /runs is signed the Standard Webhooks way, as in production). */
export const WEBHOOK_KEY = `whsec_${Buffer.from('cbr-flow reliability harness key 32B').toString('base64')}`;

/** A second share target besides DEMO.peerProjectId. */
export const PEER2 = { id: 'b2d4f6a8c0e1f3a5b7c9d1e3f5a7b9c1', name: DEMO.region, domainName: 'cbr-peer2' } as const;

/** A run request for `servers`, in a create-mode pay-per-use vault named `vaultName`. */
export function runBody(vaultName: string, serverIds: string[], extra: Partial<RunRequestInput> = {}): RunRequestInput {
  return {
    projectId: DEMO.projectId,
    region: DEMO.region,
    vault: { mode: 'create', name: vaultName, billing: { chargingMode: 'post_paid', size: 2000 } },
    resources: serverIds.map((id) => ({ id, type: 'OS::Nova::Server' as const })),
    checkpoint: { name: 'rel', incremental: true },
    shareWith: [DEMO.peerProjectId],
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------

export interface HarnessOptions {
  /** Emulator options (the clock is the harness's). Default: DEMO seed, no faults. */
  emulator?: Omit<EmulatorOptions, 'clock'>;
  /** Pipeline settings over DEFAULT_SETTINGS (production defaults). */
  settings?: Partial<PipelineSettings>;
  /** SQS redrive maxReceiveCount of every queue, also settings.maxReceiveCount. Default 5 (serverless.yml). */
  maxReceiveCount?: number;
  /** Real seconds a received message stays invisible while its invocation runs. Default 60. */
  visibilityTimeoutSeconds?: number;
  /** CBR client per-attempt timeout (CBR_TIMEOUT_MS). Default 10 000. */
  cbrTimeoutMs?: number;
  /**
   * The client's retry sleeps (Retry-After, backoff) last this fraction of what it asks for, in real
   * time. Default 1. Attempt counts do not depend on it; wall time does.
   */
  sleepScale?: number;
  /** Records per batch (serverless.yml: 10). */
  batchSize?: number;
  /** Batches per queue in flight at once (Lambda's concurrent pollers). Default 4. */
  pollers?: number;
  /** Print warn/error log lines as they happen (debugging). */
  echoLogs?: boolean;
  /** Keep info lines in `logs` (default true; load tests keep warn/error only). */
  retainInfoLogs?: boolean;
}

export interface DuplicatePolicy {
  seed: number;
  /** Each received message is delivered this many times in all (uniform in [min, max]). */
  minCopies: number;
  maxCopies: number;
}

export interface LogEntry {
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
}

export interface DriveOptions {
  /** Stop when every one of these runs is terminal (default: every run started through the harness). */
  runIds?: string[];
  /** Give up (and return) after this much virtual time. Default 6 h. */
  maxVirtualMs?: number;
  /** Give up after this much real time. Default 240 s. */
  maxRealMs?: number;
}

export interface DriveStats {
  virtualMs: number;
  realMs: number;
  /** Real time spent delivering messages, in sweeps, and waiting for visibility timeouts. */
  pumpMs: number;
  sweepMs: number;
  waitMs: number;
  sweeps: SweepStat[];
  done: boolean;
}

export interface SweepStat extends SweepResult {
  at: number;
  ms: number;
  killed: boolean;
}

type SqsHandler = (event: SQSEvent, context: ReturnType<typeof makeContext>) => Promise<SQSBatchResponse>;

/**
 * The AsyncLocalStorage store of one invocation. Kept tiny and cut loose when the invocation ends:
 * module-level timers (undici's clock) capture the store they were created under for ever.
 */
interface Invocation {
  killed: boolean;
  point?: CrashPoint;
  onKill?: ((point: CrashPoint) => void) | undefined;
}

const NEVER = new Promise<never>(() => {});
const STEP_QUEUES = ['intake', 'vault', 'resources', 'checkpoint', 'share'] as const satisfies ReadonlyArray<QueueName>;
const ALL_QUEUES: ReadonlyArray<QueueName> = [...STEP_QUEUES, 'events'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Harness {
  readonly clock: VirtualClock;
  readonly emulator: Emulator;
  readonly deps: PipelineDeps;
  readonly settings: PipelineSettings;
  readonly store: RunStore;
  readonly sqs: SQSClient;
  readonly queueUrls: Record<QueueName, string>;
  readonly dlqUrls: Record<QueueName, string>;
  /** Everything seen on the events queue (checkpoint.started, run.finished), duplicates included. */
  readonly events: Message[];
  /** Every log line of every handler. */
  readonly logs: LogEntry[];
  /** Every EMF metrics document the handlers wrote (stage 'harness'). */
  readonly emf: Array<Record<string, unknown>>;
  /** One entry per CBR HTTP attempt (the client's onCall). */
  readonly calls: CallEvent[];
  /** Crash points hit so far. */
  readonly crashes: Array<{ point: CrashPoint; runId: string; at: number }>;
  /** Runs started through the harness. */
  readonly runIds: string[];
  /** What the event-source mapping did: SQS messages received, records delivered (copies included), invocations. */
  readonly delivery: { received: number; records: number; extraCopies: number; lateCopies: number; invocations: number; killed: number };
  /** Duplicate/out-of-order delivery, off by default. */
  duplicates: DuplicatePolicy | undefined;
  /** Arm a crash: the next `times` (default 1) hits of `point` (for `runId`, or any run) kill their invocation. */
  crashAt(point: CrashPoint, options?: { runId?: string; times?: number }): void;
  /**
   * POST /runs through the start-run handler, signed with WEBHOOK_KEY under a fresh webhook-id. Returns
   * the run id, or `crashed` when the invocation died.
   */
  startRun(body: unknown, options?: { idempotencyKey?: string; webhookId?: string }): Promise<{ runId?: string; statusCode?: number; crashed: boolean; body?: unknown }>;
  /** Deliver visible messages until none is visible (also drains the events queue). Returns records delivered. */
  pump(): Promise<number>;
  /** One check-status sweep (an EventBridge minute). */
  sweep(): Promise<SweepStat>;
  /** Pump, sweep every virtual minute and jump time forward until the runs are terminal. */
  drive(options?: DriveOptions): Promise<DriveStats>;
  run(runId: string): Promise<RunRecord>;
  /** Send a raw body to a queue (poison messages), with optional message attributes. */
  sendRaw(queue: QueueName, body: string, attributes?: Record<string, string>): Promise<string>;
  /** Receive (and delete) everything in a queue's DLQ. */
  drainDlq(queue: QueueName): Promise<SqsMessage[]>;
  /** ApproximateNumberOfMessages (+NotVisible) of a queue. */
  depth(queue: QueueName, dlq?: boolean): Promise<{ visible: number; invisible: number }>;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new VirtualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const batchSize = options.batchSize ?? 10;
  const pollers = options.pollers ?? 4;
  const tag = `rel${process.pid}x${Math.floor(Math.random() * 1e6)}`;

  const [emulator, dynamo, sqsServer] = await Promise.all([
    startEmulator({ ...options.emulator, clock }),
    startLocalDynamo(),
    startLocalSqs(),
  ]);
  const servers: Array<{ stop(): Promise<void> }> = [emulator, dynamo, sqsServer as LocalServer];
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const sqs = new SQSClient({ endpoint: sqsServer.url, region: 'us-east-1', credentials });
  const ddb = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials });
  const busClient = new SQSClient({ endpoint: sqsServer.url, region: 'us-east-1', credentials });

  const queueUrls = {} as Record<QueueName, string>;
  const dlqUrls = {} as Record<QueueName, string>;
  await Promise.all(
    ALL_QUEUES.map(async (q) => {
      dlqUrls[q] = (await sqs.send(new CreateQueueCommand({ QueueName: `${tag}-${q}-dlq` }))).QueueUrl!;
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrls[q], AttributeNames: ['QueueArn'] }));
      queueUrls[q] = (
        await sqs.send(
          new CreateQueueCommand({
            QueueName: `${tag}-${q}`,
            Attributes: {
              VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 60),
              // x2: local-aws-sqs counts the ChangeMessageVisibility of each failed receive as a receive.
              RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 2 * maxReceiveCount }),
            },
          }),
        )
      ).QueueUrl!;
    }),
  );
  const tableName = `${tag}-runs`;
  await createRunsTable(ddb, tableName);

  // --- invocations and crashes -------------------------------------------------------------
  const als = new AsyncLocalStorage<Invocation>();
  const armed: Array<{ point: CrashPoint; runId?: string | undefined; remaining: number }> = [];
  const crashes: Harness['crashes'] = [];

  async function invoke<R>(fn: () => Promise<R>): Promise<{ killed: true; point: CrashPoint } | { killed: false; value: R }> {
    const inv: Invocation = { killed: false };
    const killed = new Promise<CrashPoint>((r) => (inv.onKill = r));
    const work = als.run(inv, fn);
    try {
      return await Promise.race([work.then((value) => ({ killed: false as const, value })), killed.then((point) => ({ killed: true as const, point }))]);
    } finally {
      inv.onKill = undefined;
    }
  }

  /** Calls made by a killed invocation never happen (its process is gone). */
  function freeze<T extends object>(target: T): T {
    return new Proxy(target, {
      get(t, p, receiver) {
        const v = Reflect.get(t, p, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (als.getStore()?.killed) {
            return typeof p === 'string' && p.startsWith('paginate') ? { [Symbol.asyncIterator]: () => ({ next: () => NEVER }) } : NEVER;
          }
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  }

  // --- the pipeline's adapters ---------------------------------------------------------------
  const logs: LogEntry[] = [];
  const emf: Array<Record<string, unknown>> = [];
  const log: Logger = (level, msg, fields = {}) => {
    if (level !== 'info' || options.retainInfoLogs !== false) logs.push({ level, msg, fields });
    if (options.echoLogs && level !== 'info') console.log(JSON.stringify({ level, msg, ...fields }));
  };
  const calls: CallEvent[] = [];
  const store = new DynamoRunStore(ddb, tableName, clock);
  const sqsBus = new SqsBus(busClient, queueUrls);

  /**
   * Wake-ups instead of busy polling: every producer of messages is in this process (the bus below,
   * sendRaw, the release of failed/held/late messages), so an idle worker sleeps until something is
   * sent to its queue or nothing is in flight any more.
   */
  const waiters = new Map<QueueName, Array<() => void>>();
  const notify = (queue?: QueueName): void => {
    for (const [q, list] of waiters) {
      if (queue !== undefined && q !== queue) continue;
      waiters.set(q, []);
      for (const w of list) w();
    }
  };
  const nextSend = (queue: QueueName): Promise<void> =>
    new Promise((resolve) => waiters.set(queue, [...(waiters.get(queue) ?? []), resolve]));

  /** SQS DelaySeconds on the virtual clock: held here, sent when due (see drive). */
  const held: Array<{ at: number; queue: QueueName; message: Message }> = [];
  const bus: MessageBus = {
    async send(queue, message, opts = {}) {
      const delay = Math.max(0, Math.min(900, Math.round(opts.delaySeconds ?? 0)));
      if (delay > 0) {
        held.push({ at: clock.now() + delay * 1000, queue, message: structuredClone(message) });
        return;
      }
      await sqsBus.send(queue, message);
      notify(queue);
    },
  };
  const baseFactory = cbrFactory(
    { CBR_ENDPOINT: emulator.url, IAM_ENDPOINT: emulator.url, CBR_TIMEOUT_MS: options.cbrTimeoutMs ?? 10_000 },
    async () => ({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }),
    {
      now: () => new Date(clock.now()),
      onCall: (e) => calls.push(e),
      sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason as Error);
          const timer = setTimeout(resolve, ms * (options.sleepScale ?? 1));
          signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
        }),
    },
  );
  const frozenClients = new Map<string, CbrApi>();
  const cbr: CbrFactory = async (target) => {
    const key = `${target.projectId}|${target.region}`;
    let c = frozenClients.get(key);
    if (!c) {
      c = freeze(await baseFactory(target));
      frozenClients.set(key, c);
    }
    return c;
  };
  const settings: PipelineSettings = { ...DEFAULT_SETTINGS, defaultRegion: DEMO.region, maxReceiveCount, ...options.settings };
  let tokens = 0;
  const deps: PipelineDeps = {
    store: freeze(store),
    bus: freeze(bus),
    clock,
    cbr,
    settings,
    newToken: () => `${tag}-t${++tokens}`,
    metrics: emfMetrics('harness', (line) => emf.push(JSON.parse(line) as Record<string, unknown>), () => clock.now()),
    async crashPoint(point, runId) {
      const arm = armed.find((a) => a.point === point && (a.runId === undefined || a.runId === runId) && a.remaining > 0);
      if (!arm) return;
      arm.remaining--;
      crashes.push({ point, runId, at: clock.now() });
      const inv = als.getStore();
      if (!inv?.onKill) throw new Error(`crash point ${point} hit outside a live invocation`);
      inv.killed = true;
      inv.point = point;
      inv.onKill(point);
      return NEVER;
    },
  };

  // --- the handlers (the same bindings as functions/*.ts) -----------------------------------
  const startRun = startRunHandler(deps, {
    webhookAuth: { keys: async () => [WEBHOOK_KEY], replay: new MemoryReplayGuard(clock), clock },
    publicBaseUrl: 'http://127.0.0.1',
    log,
  });
  let webhooks = 0;
  const steps: Record<(typeof STEP_QUEUES)[number], SqsHandler> = {
    intake: startRun as unknown as SqsHandler,
    vault: sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, deps, log),
    resources: sqsStepHandler({ type: 'vault.ready', step: 'add-resources', run: addResources }, deps, log),
    checkpoint: sqsStepHandler({ type: 'resources.bound', step: 'start-checkpoint', run: startCheckpoint }, deps, log),
    share: sqsStepHandler({ type: 'checkpoint.finished', step: 'share-backup', run: shareBackups }, deps, log),
  };
  const checkStatus = checkStatusHandler(deps, log);
  const ctx = makeContext('cbr-flow-reliability');

  // --- the SQS event-source mapping ----------------------------------------------------------
  const events: Message[] = [];
  const runIds: string[] = [];
  const lateCopies: Array<{ queue: QueueName; body: string; attributes: SqsMessage['MessageAttributes'] }> = [];
  const copyIds = new Set<string>();
  const delivery = { received: 0, records: 0, extraCopies: 0, lateCopies: 0, invocations: 0, killed: 0 };
  let random = seededRandom(1);
  let duplicates: DuplicatePolicy | undefined;

  function toRecord(m: SqsMessage, queue: QueueName, copy = 0): SQSRecord {
    const record = toSqsRecord(m, `arn:aws:sqs:us-east-1:000000000000:${tag}-${queue}`, 'us-east-1');
    if (copy) record.messageId = `${record.messageId}#${copy}`;
    // local-aws-sqs counts a visibility change as a receive too, so the queue's count runs at twice the
    // real one (its redrive threshold is doubled to match); handlers see the real count.
    record.attributes.ApproximateReceiveCount = String(Math.ceil(Number(record.attributes.ApproximateReceiveCount ?? '1') / 2));
    return record;
  }


  async function receive(queue: QueueName): Promise<SqsMessage[]> {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrls[queue], MaxNumberOfMessages: batchSize, AttributeNames: ['All'], MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }),
    );
    return out.Messages ?? [];
  }

  /** Failed records: visible again now (see the header on local-aws-sqs's receive count). */
  async function releaseMessages(queue: QueueName, messages: SqsMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrls[queue], Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }),
      );
    }
    if (messages.length > 0) notify(queue);
  }

  async function deleteMessages(queue: QueueName, messages: SqsMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrls[queue], Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  }

  /** One Lambda invocation with `records`; the ids it failed (all of them when it was killed). */
  async function invokeBatch(queue: (typeof STEP_QUEUES)[number], records: SQSRecord[]): Promise<Set<string>> {
    delivery.invocations++;
    delivery.records += records.length;
    const result = await invoke(() => steps[queue]({ Records: records }, ctx));
    if (result.killed) {
      delivery.killed++;
      return new Set(records.map((r) => r.messageId));
    }
    return new Set(result.value.batchItemFailures.map((f) => f.itemIdentifier));
  }

  async function acknowledge(queue: QueueName, messages: SqsMessage[], failed: Set<string>): Promise<void> {
    await Promise.all([deleteMessages(queue, messages.filter((m) => !failed.has(m.MessageId!))), releaseMessages(queue, messages.filter((m) => failed.has(m.MessageId!)))]);
  }

  async function processBatch(queue: (typeof STEP_QUEUES)[number], messages: SqsMessage[]): Promise<void> {
    delivery.received += messages.length;
    if (!duplicates) {
      const failed = await invokeBatch(queue, messages.map((m) => toRecord(m, queue)));
      await acknowledge(queue, messages, failed);
      return;
    }
    // At-least-once, out of order: shuffle the batch; each message 2..3 deliveries in all, the extra
    // ones in the same batch (concurrent), in a parallel invocation, or re-sent to the queue to arrive
    // after later steps ran. Copies of copies are not copied again.
    const primary = messages.map((m) => toRecord(m, queue));
    const parallel: SQSRecord[] = [];
    for (const m of messages) {
      if (copyIds.has(m.MessageId!)) continue;
      const copies = duplicates.minCopies + Math.floor(random() * (duplicates.maxCopies - duplicates.minCopies + 1));
      for (let c = 1; c < copies; c++) {
        const mode = random();
        if (mode < 0.34) primary.push(toRecord(m, queue, c));
        else if (mode < 0.67) parallel.push(toRecord(m, queue, c));
        else {
          lateCopies.push({ queue, body: m.Body!, attributes: m.MessageAttributes });
          delivery.lateCopies++;
        }
        delivery.extraCopies++;
      }
    }
    for (let i = primary.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [primary[i], primary[j]] = [primary[j]!, primary[i]!];
    }
    const [failed] = await Promise.all([invokeBatch(queue, primary), parallel.length ? invokeBatch(queue, parallel) : Promise.resolve(new Set<string>())]);
    await acknowledge(queue, messages, failed);
  }

  async function drainEvents(): Promise<number> {
    let n = 0;
    for (;;) {
      const got = (await Promise.all([receive('events'), receive('events')])).flat();
      if (got.length === 0) return n;
      n += got.length;
      for (const m of got) events.push(parseMessage(m.Body!));
      await deleteMessages('events', got);
    }
  }

  /**
   * `pollers` independent workers per queue, like Lambda's pollers: each receives a batch, invokes the
   * handler, acknowledges, and receives again; a worker stops when its queue is empty and no batch is in
   * flight anywhere (nothing can produce more). Returns the records delivered.
   */
  async function pump(): Promise<number> {
    let delivered = 0;
    let inFlight = 0;
    const worker = async (queue: (typeof STEP_QUEUES)[number]): Promise<void> => {
      for (;;) {
        const woken = nextSend(queue); // registered before the receive, so no send is missed
        const batch = await receive(queue);
        if (batch.length === 0) {
          if (inFlight === 0) {
            notify(); // let the other idle workers see that nothing is in flight either
            return;
          }
          await woken;
          continue;
        }
        inFlight++;
        try {
          await processBatch(queue, batch);
          delivered += batch.length;
        } finally {
          inFlight--;
          if (inFlight === 0) notify();
        }
      }
    };
    await Promise.all(STEP_QUEUES.flatMap((q) => Array.from({ length: pollers }, () => worker(q))));
    await drainEvents();
    return delivered;
  }

  async function releaseLateCopies(): Promise<void> {
    const copies = lateCopies.splice(0);
    await Promise.all(
      copies.map(async (c) => {
        const out = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrls[c.queue], MessageBody: c.body, ...(c.attributes ? { MessageAttributes: c.attributes } : {}) }));
        copyIds.add(out.MessageId!);
        notify(c.queue);
      }),
    );
  }

  async function releaseHeld(): Promise<void> {
    const now = clock.now();
    const due = held.filter((h) => h.at <= now);
    for (const d of due) held.splice(held.indexOf(d), 1);
    await Promise.all(due.map((d) => sqsBus.send(d.queue, d.message)));
  }

  async function depth(queue: QueueName, dlq = false): Promise<{ visible: number; invisible: number }> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: (dlq ? dlqUrls : queueUrls)[queue], AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return { visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0), invisible: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) };
  }

  async function sweep(): Promise<SweepStat> {
    const started = performance.now();
    const at = clock.now();
    const result = await invoke(() => checkStatus(makeScheduledEvent(new Date(at).toISOString()), ctx));
    const ms = performance.now() - started;
    if (result.killed) return { at, ms, killed: true, due: 0, vaults: 0, listCalls: 0, checked: 0, finished: 0, rescheduled: 0, expired: 0, redriven: 0, errors: 0 };
    return { ...result.value, at, ms, killed: false };
  }

  async function allTerminal(ids: string[], finished: Set<string>): Promise<boolean> {
    for (const e of events) if (e.type === 'run.finished') finished.add(e.runId);
    const open = ids.filter((id) => !finished.has(id));
    for (const id of open) {
      const run = await store.get(id);
      if (!run || !isTerminal(run.state)) return false;
      finished.add(id);
    }
    return true;
  }

  const harness: Harness = {
    clock,
    emulator,
    deps,
    settings,
    store,
    sqs,
    queueUrls,
    dlqUrls,
    events,
    logs,
    emf,
    calls,
    crashes,
    runIds,
    delivery,
    get duplicates() {
      return duplicates;
    },
    set duplicates(policy) {
      duplicates = policy;
      if (policy) random = seededRandom(policy.seed);
    },
    crashAt(point, opts = {}) {
      armed.push({ point, runId: opts.runId, remaining: opts.times ?? 1 });
    },
    async startRun(body, opts = {}) {
      const text = JSON.stringify(body);
      const signature = signWebhook([WEBHOOK_KEY], opts.webhookId ?? `msg_${tag}_${++webhooks}`, text, clock.now());
      const event = makeHttpEvent({
        method: 'POST',
        path: '/runs',
        body: text,
        headers: { 'content-type': 'application/json', ...signature, ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}) },
      });
      const result = await invoke(() => startRun(event, ctx) as Promise<APIGatewayProxyStructuredResultV2>);
      if (result.killed) return { crashed: true };
      const res = result.value;
      const parsed = JSON.parse(res.body ?? '{}') as { runId?: string };
      if (parsed.runId && !runIds.includes(parsed.runId)) runIds.push(parsed.runId);
      return { crashed: false, statusCode: res.statusCode, body: parsed, ...(parsed.runId ? { runId: parsed.runId } : {}) };
    },
    pump,
    sweep,
    async drive(opts = {}) {
      const ids = opts.runIds ?? runIds;
      const startVirtual = clock.now();
      const startReal = performance.now();
      const maxVirtual = opts.maxVirtualMs ?? 6 * 3600_000;
      const maxReal = opts.maxRealMs ?? 240_000;
      const sweeps: SweepStat[] = [];
      const finished = new Set<string>();
      const spent = { pumpMs: 0, sweepMs: 0, waitMs: 0 };
      const stats = (done: boolean): DriveStats => ({ virtualMs: clock.now() - startVirtual, realMs: performance.now() - startReal, ...spent, sweeps, done });
      let nextSweep = Math.floor(clock.now() / 60_000) * 60_000 + 60_000;
      for (;;) {
        await releaseHeld();
        const t0 = performance.now();
        const n = await pump();
        spent.pumpMs += performance.now() - t0;
        if (n > 0) continue;
        if (await allTerminal(ids, finished)) {
          // Let stragglers (late copies, re-published events) play out, then stop.
          if (lateCopies.length > 0) {
            await releaseLateCopies();
            continue;
          }
          const pending = (await Promise.all(STEP_QUEUES.map((q) => depth(q)))).some((d) => d.visible + d.invisible > 0);
          if (!pending) return stats(true);
        }
        if (clock.now() - startVirtual > maxVirtual || performance.now() - startReal > maxReal) {
          return stats(false);
        }
        // Failed messages come back after the (real) visibility timeout; time stands still meanwhile.
        const invisible = (await Promise.all(STEP_QUEUES.map((q) => depth(q)))).reduce((a, d) => a + d.visible + d.invisible, 0);
        if (invisible > 0) {
          await sleep(50);
          spent.waitMs += 50;
          continue;
        }
        // Quiet: jump to the next event (a delayed message or the next minute's sweep).
        await releaseLateCopies();
        const nextHeld = held.reduce((m, h) => Math.min(m, h.at), Infinity);
        clock.set(Math.min(nextSweep, nextHeld));
        if (clock.now() >= nextSweep) {
          const s = await sweep();
          spent.sweepMs += s.ms;
          sweeps.push(s);
          nextSweep += 60_000;
        }
      }
    },
    async run(runId) {
      const run = await store.get(runId);
      if (!run) throw new Error(`run ${runId} not found`);
      return run;
    },
    async sendRaw(queue, body, attributes = {}) {
      const out = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrls[queue],
          MessageBody: body,
          MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
        }),
      );
      return out.MessageId!;
    },
    async drainDlq(queue) {
      const all: SqsMessage[] = [];
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrls[queue], MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageAttributeNames: ['All'], WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
        );
        if (!out.Messages?.length) return all;
        all.push(...out.Messages);
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrls[queue], Entries: out.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    },
    depth,
    async stop() {
      sqs.destroy();
      busClient.destroy();
      ddb.destroy();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
  return harness;
}

/** The emulator's objects that belong to `vaultIds`: vaults, checkpoints, top-level backups, members. */
export function emulatorStateOf(emulator: Emulator, vaultIds: ReadonlySet<string>) {
  const snap = emulator.state.snapshot();
  const vaults = snap.vaults.filter((v) => vaultIds.has(v.id as string));
  const checkpoints = snap.checkpoints.filter((c) => vaultIds.has((c.vault as { id: string }).id));
  const backups = snap.backups.filter((b) => vaultIds.has(b.vault_id as string));
  const backupIds = new Set(backups.map((b) => b.id as string));
  const members = snap.members.filter((m) => backupIds.has(m.backup_id as string));
  return { vaults, checkpoints, backups, members };
}
