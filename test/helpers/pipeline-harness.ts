/**
 * The whole pipeline on loopback, driven like AWS would drive it: the CBR emulator, dynalite and
 * local-aws-sqs (real wire protocols), the real handlers (lib/pipeline/edge: the same middy stacks
 * functions/*.ts export) with real adapters (DynamoRunStore, SqsBus, the lib/cbr client), Lambda's SQS
 * event-source mapping played by the same driver as the local runtime's (local/sqs-driver.ts, on virtual
 * time: batches, partial batch responses, deletes, redelivery after the visibility timeout, DLQ redrive
 * by local-aws-sqs) and EventBridge (one check-status sweep per minute).
 *
 * Time: one virtual clock is "now" for the pipeline, the store, the CBR client's X-Sdk-Date, the
 * emulator (checkpoint durations) and the SQS driver, so minutes pass in milliseconds and tests are
 * deterministic. It only moves while no handler is running and no message is visible, jumping to the
 * next event (the next minute's sweep, or the next delayed message), so leases and claims can never
 * lapse under a live invocation. Message delays (SQS DelaySeconds) are held by the driver until the
 * virtual clock reaches them; client timeouts and Retry-After/backoff sleeps are real time.
 *
 * Redelivery: a received message stays invisible for 60 s (as production's 180 s, far longer than any
 * invocation, so a slow invocation never sees its own message delivered again); the records a batch
 * failed (or all of a killed invocation's) are made visible again at once by the driver, and the
 * queues' redrive policy comes from the driver, which corrects local-aws-sqs's receive count (see
 * local/sqs-driver.ts), so a message goes to the DLQ exactly after `maxReceiveCount` failed receives.
 *
 * Faults the harness adds on top of the emulator's: duplicate and out-of-order delivery
 * (`delivery.duplicates`), and crashes at the named crash points of lib/wiring/deps.ts (`crashAt`):
 * the invocation is killed there (nothing after the point runs, every later store/queue/CBR call of that
 * invocation hangs forever, its batch is reported to nobody, so SQS redelivers it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message as SqsMessage,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index';
import type { CallEvent } from '../../lib/cbr/http';
import { parseMessage, type Message } from '../../lib/contracts';
import { stableUuid } from '../../lib/contracts/ids';
import type { RunRequestInput } from '../../lib/contracts/run-request';
import { addResources } from '../../lib/pipeline/add-resources';
import { cbrFactory } from '../../lib/wiring/cbr-factory';
import type { CbrCredentials } from '../../lib/wiring/credentials';
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
import type { CbrApi, CbrReplicationApi, MessageBus, QueueName, RunStore } from '../../lib/ports';
import { SqsBus } from '../../lib/queue/sqs';
import { DynamoRunStore } from '../../lib/store/dynamodb/store';
import { createRunsTable } from '../../lib/store/dynamodb/table';
import { isTerminal, type RunRecord } from '../../lib/store/run';
import { signWebhook } from '../../lib/webhooks/verify';
import { startLocalDynamo, startLocalSqs, type LocalServer } from '../../local/servers';
import { SqsDriver } from '../../local/sqs-driver';
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

/** The emulator's URL, or with several regions the template `<url>/{region}` (each region under its prefix). */
function regional(emulator: Emulator): string {
  return emulator.state.regions().length > 1 ? `${emulator.url}/{region}` : emulator.url;
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
  /** CBR credentials per project (lib/wiring/credentials.ts projectCredentials). Default: DEMO's AK/SK for every project. */
  credentials?: (projectId: string) => Promise<CbrCredentials>;
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
  const tag = `rel${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const backends = await startBackends(options, clock);
  try {
    const driver = new SqsDriver({ endpoint: backends.sqsServer.url, region: REGION, time: { kind: 'virtual', clock } });
    const queues = await createQueues(backends.sqs, driver, tag, options);
    const tableName = `${tag}-runs`;
    await createRunsTable(backends.ddb, tableName);
    const crashes = crashControl(clock);
    const pipeline = pipelineDeps(options, clock, tag, backends, queues, tableName, driver, crashes);
    const handlers = bindHandlers(pipeline, clock);
    const delivery = deliveryLayer(options, tag, backends.sqs, queues, driver, crashes, handlers);
    return harnessHandle({ clock, tag, backends, driver, queues, crashes, pipeline, handlers, delivery, options });
  } catch (err) {
    await backends.stop();
    throw err;
  }
}

const REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Backends {
  emulator: Emulator;
  sqsServer: LocalServer;
  /** Test-side SQS client (queue admin, sendRaw, depth, DLQs, the events queue). */
  sqs: SQSClient;
  /** The pipeline's SqsBus client. */
  busClient: SQSClient;
  ddb: DynamoDBClient;
  stop(): Promise<void>;
}

/** Phase 1: the CBR emulator on the virtual clock, dynalite and local-aws-sqs. */
async function startBackends(options: HarnessOptions, clock: VirtualClock): Promise<Backends> {
  const [emulator, dynamo, sqsServer] = await Promise.all([
    startEmulator({ ...options.emulator, clock }),
    startLocalDynamo(),
    startLocalSqs(),
  ]);
  const sqs = new SQSClient({ endpoint: sqsServer.url, region: REGION, credentials: LOCAL_CREDENTIALS });
  const busClient = new SQSClient({ endpoint: sqsServer.url, region: REGION, credentials: LOCAL_CREDENTIALS });
  const ddb = new DynamoDBClient({ endpoint: dynamo.url, region: REGION, credentials: LOCAL_CREDENTIALS });
  return {
    emulator, sqsServer, sqs, busClient, ddb,
    async stop() {
      sqs.destroy();
      busClient.destroy();
      ddb.destroy();
      await Promise.all([emulator, dynamo, sqsServer].map((s) => s.stop()));
    },
  };
}

interface Queues {
  urls: Record<QueueName, string>;
  dlqUrls: Record<QueueName, string>;
  arn(queue: QueueName): string;
}

/** Phase 2: every queue with its DLQ and redrive policy (maxReceiveCount as the driver needs it). */
async function createQueues(sqs: SQSClient, driver: SqsDriver, tag: string, options: HarnessOptions): Promise<Queues> {
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const urls = {} as Record<QueueName, string>;
  const dlqUrls = {} as Record<QueueName, string>;
  await Promise.all(
    ALL_QUEUES.map(async (q) => {
      dlqUrls[q] = (await sqs.send(new CreateQueueCommand({ QueueName: `${tag}-${q}-dlq` }))).QueueUrl!;
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrls[q], AttributeNames: ['QueueArn'] }));
      const attributes = {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 60),
        RedrivePolicy: driver.redrivePolicy(Attributes!.QueueArn!, maxReceiveCount),
      };
      urls[q] = (await sqs.send(new CreateQueueCommand({ QueueName: `${tag}-${q}`, Attributes: attributes }))).QueueUrl!;
    }),
  );
  return { urls, dlqUrls, arn: (queue) => `arn:aws:sqs:${REGION}:000000000000:${tag}-${queue}` };
}

/** A killed invocation, as the SQS driver sees it: the whole batch failed. */
class InvocationKilled extends Error {
  constructor(readonly point: CrashPoint) {
    super(`invocation killed at crash point ${point}`);
    this.name = 'InvocationKilled';
  }
}

interface CrashControl {
  crashes: Harness['crashes'];
  arm(point: CrashPoint, runId: string | undefined, times: number): void;
  /** Runs `fn` as one invocation that a crash point can kill. */
  invoke<R>(fn: () => Promise<R>): Promise<{ killed: true; point: CrashPoint } | { killed: false; value: R }>;
  /** Calls made by a killed invocation never happen (its process is gone). */
  freeze<T extends object>(target: T): T;
  crashPoint: NonNullable<PipelineDeps['crashPoint']>;
}

/** Phase 3: invocations and crashes (see the header). */
function crashControl(clock: VirtualClock): CrashControl {
  const als = new AsyncLocalStorage<Invocation>();
  const armed: Array<{ point: CrashPoint; runId?: string | undefined; remaining: number }> = [];
  const crashes: Harness['crashes'] = [];
  return {
    crashes,
    arm(point, runId, times) {
      armed.push({ point, runId, remaining: times });
    },
    async invoke(fn) {
      const inv: Invocation = { killed: false };
      const killed = new Promise<CrashPoint>((r) => (inv.onKill = r));
      const work = als.run(inv, fn);
      try {
        return await Promise.race([work.then((value) => ({ killed: false as const, value })), killed.then((point) => ({ killed: true as const, point }))]);
      } finally {
        inv.onKill = undefined;
      }
    },
    freeze(target) {
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
    },
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
}

interface Pipeline {
  deps: PipelineDeps;
  settings: PipelineSettings;
  store: RunStore;
  logs: LogEntry[];
  emf: Array<Record<string, unknown>>;
  log: Logger;
  calls: CallEvent[];
}

/** Phase 4: the pipeline's real adapters; the bus holds delayed sends on the virtual clock. */
function pipelineDeps(
  options: HarnessOptions, clock: VirtualClock, tag: string, backends: Backends, queues: Queues, tableName: string,
  driver: SqsDriver, crashes: CrashControl,
): Pipeline {
  const logs: LogEntry[] = [];
  const emf: Array<Record<string, unknown>> = [];
  const log: Logger = (level, msg, fields = {}) => {
    if (level !== 'info' || options.retainInfoLogs !== false) logs.push({ level, msg, fields });
    if (options.echoLogs && level !== 'info') console.log(JSON.stringify({ level, msg, ...fields }));
  };
  const calls: CallEvent[] = [];
  const store = new DynamoRunStore(backends.ddb, tableName, clock);
  const sqsBus = new SqsBus(backends.busClient, queues.urls);
  const bus: MessageBus = {
    async send(queue, message, opts = {}) {
      const delay = Math.max(0, Math.min(900, Math.round(opts.delaySeconds ?? 0)));
      if (delay > 0) {
        const copy = structuredClone(message);
        driver.hold(clock.now() + delay * 1000, queues.urls[queue], () => sqsBus.send(queue, copy));
        return;
      }
      await sqsBus.send(queue, message);
      driver.wake(queues.urls[queue]);
    },
  };
  const baseFactory = cbrFactory(
    // Several emulated regions: each client reaches its own under the `/{region}` path prefix.
    { CBR_ENDPOINT: regional(backends.emulator), IAM_ENDPOINT: regional(backends.emulator), CBR_TIMEOUT_MS: options.cbrTimeoutMs ?? 10_000 },
    options.credentials ?? (async () => ({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk })),
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
  const frozenClients = new Map<string, CbrApi & CbrReplicationApi>();
  const cbr = async (target: { projectId: string; region: string }): Promise<CbrApi & CbrReplicationApi> => {
    const key = `${target.projectId}|${target.region}`;
    let c = frozenClients.get(key);
    if (!c) {
      c = crashes.freeze(await baseFactory(target));
      frozenClients.set(key, c);
    }
    return c;
  };
  const settings: PipelineSettings = { ...DEFAULT_SETTINGS, defaultRegion: DEMO.region, maxReceiveCount: options.maxReceiveCount ?? 5, ...options.settings };
  let tokens = 0;
  const deps: PipelineDeps = {
    store: crashes.freeze(store),
    bus: crashes.freeze(bus),
    clock,
    cbr,
    settings,
    newToken: () => `${tag}-t${++tokens}`,
    metrics: emfMetrics('harness', (line) => emf.push(JSON.parse(line) as Record<string, unknown>), () => clock.now()),
    crashPoint: crashes.crashPoint,
    replication: { cbr },
  };
  return { deps, settings, store, logs, emf, log, calls };
}

interface Handlers {
  startRun: ReturnType<typeof startRunHandler>;
  steps: Record<(typeof STEP_QUEUES)[number], SqsHandler>;
  checkStatus: ReturnType<typeof checkStatusHandler>;
  ctx: ReturnType<typeof makeContext>;
}

/** Phase 5: the handlers, with the same bindings as functions/*.ts. */
function bindHandlers({ deps, log }: Pipeline, clock: VirtualClock): Handlers {
  const startRun = startRunHandler(deps, {
    webhookAuth: { keys: async () => [WEBHOOK_KEY], clock },
    publicBaseUrl: 'http://127.0.0.1',
    log,
  });
  return {
    startRun,
    steps: {
      intake: startRun as unknown as SqsHandler,
      vault: sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, deps, log),
      resources: sqsStepHandler({ type: 'vault.ready', step: 'add-resources', run: addResources }, deps, log),
      checkpoint: sqsStepHandler({ type: 'resources.bound', step: 'start-checkpoint', run: startCheckpoint }, deps, log),
      share: sqsStepHandler({ type: 'checkpoint.finished', step: 'share-backup', run: shareBackups }, deps, log),
    },
    checkStatus: checkStatusHandler(deps, log),
    ctx: makeContext('cbr-flow-reliability'),
  };
}

interface DeliveryLayer {
  stats: Harness['delivery'];
  duplicates: DuplicatePolicy | undefined;
  /** Late copies waiting to be re-sent (see `releaseLateCopies`). */
  lateCopies(): number;
  releaseLateCopies(): Promise<void>;
}

/** A Lambda record's message attributes as SendMessage takes them (for a late copy). */
function sendAttributes(record: SQSRecord): Record<string, MessageAttributeValue> {
  return Object.fromEntries(Object.entries(record.messageAttributes).map(([name, a]) => [name, {
    DataType: a.dataType,
    ...(a.stringValue !== undefined ? { StringValue: a.stringValue } : {}),
    ...(a.binaryValue !== undefined ? { BinaryValue: Buffer.from(a.binaryValue, 'base64') } : {}),
  }]));
}

/**
 * Phase 6: the step queues' event-source mappings on the SQS driver, with the harness's faults on top:
 * a killed invocation fails its whole batch, and duplicate / out-of-order delivery when `duplicates` is set.
 */
function deliveryLayer(
  options: HarnessOptions, tag: string, sqs: SQSClient, queues: Queues, driver: SqsDriver, crashes: CrashControl, handlers: Handlers,
): DeliveryLayer {
  const stats = { received: 0, records: 0, extraCopies: 0, lateCopies: 0, invocations: 0, killed: 0 };
  const late: Array<{ queue: QueueName; body: string; attributes: Record<string, MessageAttributeValue> }> = [];
  const copyIds = new Set<string>();
  let random = seededRandom(1);
  let duplicates: DuplicatePolicy | undefined;

  /** One Lambda invocation with `records`; throws InvocationKilled when a crash point killed it. */
  async function invokeStep(queue: (typeof STEP_QUEUES)[number], records: SQSRecord[]): Promise<SQSBatchResponse> {
    stats.invocations++;
    stats.records += records.length;
    const result = await crashes.invoke(() => handlers.steps[queue]({ Records: records }, handlers.ctx));
    if (result.killed) {
      stats.killed++;
      throw new InvocationKilled(result.point);
    }
    return result.value;
  }

  /**
   * At-least-once, out of order: shuffle the batch; each message 2..3 deliveries in all, the extra ones
   * in the same batch (concurrent), in a parallel invocation, or re-sent to the queue to arrive after
   * later steps ran. Copies of copies are not copied again. Only the first invocation answers for the
   * batch (a copy's failure is not the message's).
   */
  async function deliverWithCopies(queue: (typeof STEP_QUEUES)[number], records: SQSRecord[], policy: DuplicatePolicy): Promise<SQSBatchResponse> {
    const primary = [...records];
    const parallel: SQSRecord[] = [];
    for (const r of records) {
      if (copyIds.has(r.messageId)) continue;
      const copies = policy.minCopies + Math.floor(random() * (policy.maxCopies - policy.minCopies + 1));
      for (let c = 1; c < copies; c++) {
        const mode = random();
        if (mode < 0.34) primary.push({ ...r, messageId: `${r.messageId}#${c}` });
        else if (mode < 0.67) parallel.push({ ...r, messageId: `${r.messageId}#${c}` });
        else {
          late.push({ queue, body: r.body, attributes: sendAttributes(r) });
          stats.lateCopies++;
        }
        stats.extraCopies++;
      }
    }
    for (let i = primary.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [primary[i], primary[j]] = [primary[j]!, primary[i]!];
    }
    const [first] = await Promise.allSettled([invokeStep(queue, primary), parallel.length ? invokeStep(queue, parallel) : Promise.resolve(undefined)]);
    if (first.status === 'rejected') throw first.reason;
    const originals = new Set(records.map((r) => r.messageId));
    return { batchItemFailures: first.value.batchItemFailures.filter((f) => originals.has(f.itemIdentifier)) };
  }

  for (const queue of STEP_QUEUES) {
    driver.add({
      queueUrl: queues.urls[queue],
      queueArn: queues.arn(queue),
      queueName: `${tag}-${queue}`,
      functionKey: queue,
      batchSize: options.batchSize ?? 10,
      maximumBatchingWindowInSeconds: 0,
      reportBatchItemFailures: true,
      pollers: options.pollers ?? 4,
      invoke: async (event: SQSEvent) => {
        stats.received += event.Records.length;
        return duplicates ? deliverWithCopies(queue, event.Records, duplicates) : invokeStep(queue, event.Records);
      },
    });
  }

  return {
    stats,
    get duplicates() {
      return duplicates;
    },
    set duplicates(policy) {
      duplicates = policy;
      if (policy) random = seededRandom(policy.seed);
    },
    lateCopies: () => late.length,
    async releaseLateCopies() {
      await Promise.all(
        late.splice(0).map(async (c) => {
          const out = await sqs.send(new SendMessageCommand({ QueueUrl: queues.urls[c.queue], MessageBody: c.body, MessageAttributes: c.attributes }));
          copyIds.add(out.MessageId!);
          driver.wake(queues.urls[c.queue]);
        }),
      );
    },
  };
}

/** Phase 7: what the tests drive: runs, pumps, sweeps, queue inspection (the virtual-time loop is phase 8). */
function harnessHandle(h: {
  clock: VirtualClock; tag: string; backends: Backends; driver: SqsDriver; queues: Queues; crashes: CrashControl;
  pipeline: Pipeline; handlers: Handlers; delivery: DeliveryLayer; options: HarnessOptions;
}): Harness {
  const { clock, tag, backends, driver, queues, crashes, pipeline, handlers, delivery } = h;
  const { sqs } = backends;
  const { store } = pipeline;
  const events: Message[] = [];
  const runIds: string[] = [];
  let webhooks = 0;

  async function receive(queueUrl: string): Promise<SqsMessage[]> {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageAttributeNames: ['All'], WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
    );
    return out.Messages ?? [];
  }

  async function deleteMessages(queueUrl: string, messages: SqsMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  }

  /** The events queue has no function here: the harness reads it. */
  async function drainEvents(): Promise<number> {
    let n = 0;
    for (;;) {
      const got = (await Promise.all([receive(queues.urls.events), receive(queues.urls.events)])).flat();
      if (got.length === 0) return n;
      n += got.length;
      for (const m of got) events.push(parseMessage(m.Body!));
      await deleteMessages(queues.urls.events, got);
    }
  }

  async function pump(): Promise<number> {
    const delivered = await driver.pump();
    await drainEvents();
    return delivered;
  }

  async function depth(queue: QueueName, dlq = false): Promise<{ visible: number; invisible: number }> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: (dlq ? queues.dlqUrls : queues.urls)[queue], AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return { visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0), invisible: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) };
  }

  async function stepQueueMessages(): Promise<number> {
    return (await Promise.all(STEP_QUEUES.map((q) => depth(q)))).reduce((a, d) => a + d.visible + d.invisible, 0);
  }

  async function sweep(): Promise<SweepStat> {
    const started = performance.now();
    const at = clock.now();
    const result = await crashes.invoke(() => handlers.checkStatus(makeScheduledEvent(new Date(at).toISOString()), handlers.ctx));
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

  return {
    clock,
    emulator: backends.emulator,
    deps: pipeline.deps,
    settings: pipeline.settings,
    store,
    sqs,
    queueUrls: queues.urls,
    dlqUrls: queues.dlqUrls,
    events,
    logs: pipeline.logs,
    emf: pipeline.emf,
    calls: pipeline.calls,
    crashes: crashes.crashes,
    runIds,
    delivery: delivery.stats,
    get duplicates() {
      return delivery.duplicates;
    },
    set duplicates(policy) {
      delivery.duplicates = policy;
    },
    crashAt(point, opts = {}) {
      crashes.arm(point, opts.runId, opts.times ?? 1);
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
      const result = await crashes.invoke(() => handlers.startRun(event, handlers.ctx) as Promise<APIGatewayProxyStructuredResultV2>);
      if (result.killed) return { crashed: true };
      const res = result.value;
      const parsed = JSON.parse(res.body ?? '{}') as { runId?: string };
      if (parsed.runId && !runIds.includes(parsed.runId)) runIds.push(parsed.runId);
      return { crashed: false, statusCode: res.statusCode, body: parsed, ...(parsed.runId ? { runId: parsed.runId } : {}) };
    },
    pump,
    sweep,
    drive: (opts = {}) => driveUntilDone({ clock, driver, delivery, pump, sweep, allTerminal, stepQueueMessages }, opts.runIds ?? runIds, opts),
    async run(runId) {
      const run = await store.get(runId);
      if (!run) throw new Error(`run ${runId} not found`);
      return run;
    },
    async sendRaw(queue, body, attributes = {}) {
      const out = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.urls[queue],
          MessageBody: body,
          MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
        }),
      );
      return out.MessageId!;
    },
    async drainDlq(queue) {
      const all: SqsMessage[] = [];
      for (;;) {
        const got = await receive(queues.dlqUrls[queue]);
        if (got.length === 0) return all;
        all.push(...got);
        await deleteMessages(queues.dlqUrls[queue], got);
      }
    },
    depth,
    async stop() {
      await driver.stop();
      await backends.stop();
    },
  };
}

/**
 * Phase 8, the virtual-time loop: pump, sweep every virtual minute and jump time forward until the runs
 * are terminal and nothing is left in the step queues (or a limit is hit).
 */
async function driveUntilDone(
  h: {
    clock: VirtualClock; driver: SqsDriver; delivery: DeliveryLayer;
    pump(): Promise<number>; sweep(): Promise<SweepStat>;
    allTerminal(ids: string[], finished: Set<string>): Promise<boolean>; stepQueueMessages(): Promise<number>;
  },
  ids: string[], opts: DriveOptions,
): Promise<DriveStats> {
  const { clock, driver, delivery, pump, sweep, allTerminal, stepQueueMessages } = h;
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
    await driver.releaseDue();
    const t0 = performance.now();
    const n = await pump();
    spent.pumpMs += performance.now() - t0;
    if (n > 0) continue;
    if (await allTerminal(ids, finished)) {
      // Let stragglers (late copies, re-published events) play out, then stop.
      if (delivery.lateCopies() > 0) {
        await delivery.releaseLateCopies();
        continue;
      }
      if ((await stepQueueMessages()) === 0) return stats(true);
    }
    if (clock.now() - startVirtual > maxVirtual || performance.now() - startReal > maxReal) {
      return stats(false);
    }
    // Failed messages come back after the (real) visibility timeout; time stands still meanwhile.
    if ((await stepQueueMessages()) > 0) {
      await sleep(50);
      spent.waitMs += 50;
      continue;
    }
    // Quiet: jump to the next event (a delayed message or the next minute's sweep).
    await delivery.releaseLateCopies();
    clock.set(Math.min(nextSweep, driver.nextDueAt()));
    if (clock.now() >= nextSweep) {
      const s = await sweep();
      spent.sweepMs += s.ms;
      sweeps.push(s);
      nextSweep += 60_000;
    }
  }
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
