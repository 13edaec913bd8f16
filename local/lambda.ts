/**
 * Local stand-in for a Lambda function: one worker thread per function ("execution environment")
 * that loads the handler from TypeScript source via tsx (local/worker-boot.mjs), with the function's
 * own environment variables, a Lambda-like context and the function's Timeout enforced.
 *
 * Differences from Lambda, on purpose: one environment serves concurrent invocations (Node handlers
 * are async; Lambda would start one environment per concurrent invocation), and a timed-out
 * environment is retired (no new invocations) and terminated once its other in-flight invocations
 * settle, rather than frozen at once.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FunctionInvocationError } from './errors';

const BOOT_FILE = fileURLToPath(new URL('./worker-boot.mjs', import.meta.url));

export type Trigger = 'http' | 'sqs' | 'schedule' | 'invoke';

export interface LocalFunctionSpec {
  /** serverless.yml key, used as the log prefix and by `invoke(name)`. */
  key: string;
  functionName: string;
  arn: string;
  /** Absolute path of the handler's source file. */
  file: string;
  /** Export path inside the module, e.g. ['handler']. */
  exportPath: string[];
  timeoutSeconds: number;
  memoryMb: number;
  /** The complete process.env of the function's environment. */
  env: Record<string, string>;
  /** ReservedConcurrentExecutions, when set. */
  reservedConcurrency?: number | undefined;
}

export interface InvocationRecord {
  function: string;
  trigger: Trigger;
  requestId: string;
  event: unknown;
  startedAt: number;
  durationMs: number;
  ok: boolean;
  result?: unknown;
  error?: FunctionInvocationError;
}

interface SerializedError { errorType: string; errorMessage: string; stack?: string }

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: string; ok: true; payload: string }
  | { type: 'result'; id: string; ok: false; error: SerializedError };

interface Pending { resolve(value: unknown): void; reject(err: FunctionInvocationError): void; timer: NodeJS.Timeout }

class Environment {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly pending = new Map<string, Pending>();
  retired = false;
  exited = false;

  constructor(private readonly spec: LocalFunctionSpec, log: (line: string) => void) {
    this.worker = new Worker(BOOT_FILE, {
      workerData: { file: spec.file, exportPath: spec.exportPath },
      env: spec.env,
      execArgv: [],
      stdout: true,
      stderr: true,
    });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => log(`[${spec.key}] ${line}`));
    }
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'init-error') reject(this.toError(msg.error));
        else this.settle(msg);
      });
      const fail = (err: FunctionInvocationError): void => {
        this.exited = true;
        reject(err);
        for (const [id, p] of this.pending) { clearTimeout(p.timer); this.pending.delete(id); p.reject(err); }
      };
      this.worker.on('error', (err) => fail(new FunctionInvocationError(spec.key, 'Runtime.ExitError', `environment crashed: ${err.message}`, { cause: err })));
      this.worker.on('exit', (code) => fail(new FunctionInvocationError(spec.key, 'Runtime.ExitError', `environment exited (code ${code})`)));
    });
    // A failed init is reported to whoever awaits `ready`; never an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  private toError(e: SerializedError): FunctionInvocationError {
    const err = new FunctionInvocationError(this.spec.key, e.errorType, e.errorMessage);
    if (e.stack) err.stack = `${err.name}: ${err.message}\n--- in the handler ---\n${e.stack}`;
    return err;
  }

  private settle(msg: Extract<WorkerMessage, { type: 'result' }>): void {
    const p = this.pending.get(msg.id);
    if (!p) return; // already timed out
    clearTimeout(p.timer);
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(JSON.parse(msg.payload) as unknown);
    else p.reject(this.toError(msg.error));
    this.terminateIfDrained();
  }

  invoke(event: unknown, requestId: string): Promise<unknown> {
    const { spec } = this;
    const timeoutMs = spec.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        // Lambda ends the environment of a timed-out invocation; retire this one.
        this.retired = true;
        this.terminateIfDrained();
        reject(new FunctionInvocationError(spec.key, 'Sandbox.Timedout', `Task timed out after ${spec.timeoutSeconds.toFixed(2)} seconds`, { timedOut: true }));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.worker.postMessage({
        type: 'invoke',
        id: requestId,
        event: JSON.stringify(event ?? null),
        context: {
          functionName: spec.functionName,
          invokedFunctionArn: spec.arn,
          memoryLimitInMB: spec.memoryMb,
          awsRequestId: requestId,
          logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
          deadlineMs: Date.now() + timeoutMs,
        },
      });
    });
  }

  private terminateIfDrained(): void {
    if (this.retired && this.pending.size === 0 && !this.exited) void this.worker.terminate();
  }

  async stop(): Promise<void> {
    this.retired = true;
    if (!this.exited) await this.worker.terminate();
  }
}

/** Invocations over a function's reserved concurrency: Lambda throttles them. */
const THROTTLE_WAIT_LIMIT = 1000;

export class LocalFunction {
  private env: Environment | undefined;
  private readonly retiredEnvs = new Set<Environment>();
  private stopped = false;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly spec: LocalFunctionSpec,
    private readonly log: (line: string) => void,
    private readonly onInvocation: (record: InvocationRecord) => void,
  ) {}

  private current(): Environment {
    if (this.stopped) throw new FunctionInvocationError(this.spec.key, 'Runtime.Stopped', 'the local runtime is stopping');
    for (const old of this.retiredEnvs) if (old.exited) this.retiredEnvs.delete(old);
    if (this.env && (this.env.retired || this.env.exited)) {
      this.retiredEnvs.add(this.env);
      this.env = undefined;
    }
    this.env ??= new Environment(this.spec, this.log);
    return this.env;
  }

  /** The current environment once its handler is loaded (a cold start if new); throws the init error. */
  private async readyEnvironment(): Promise<Environment> {
    const env = this.current();
    try {
      await env.ready;
      return env;
    } catch (err) {
      if (this.env === env) this.env = undefined;
      void env.stop();
      throw err;
    }
  }

  /** Starts the environment and loads the handler now instead of on the first invocation. */
  async warm(): Promise<void> {
    await this.readyEnvironment();
  }

  /**
   * Honours ReservedConcurrentExecutions the way Lambda does: a synchronous caller (HTTP, direct
   * invoke) over the limit is throttled at once; event sources (SQS pollers, schedules, whose
   * asynchronous invocations Lambda keeps retrying) wait for a free slot.
   */
  private async acquire(trigger: Trigger): Promise<void> {
    const limit = this.spec.reservedConcurrency;
    if (limit === undefined || this.running < limit) { this.running++; return; }
    if (trigger === 'http' || trigger === 'invoke' || limit === 0 || this.waiting.length >= THROTTLE_WAIT_LIMIT) {
      throw new FunctionInvocationError(this.spec.key, 'TooManyRequestsException', `Rate Exceeded. (reserved concurrency ${limit})`);
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  /** Invokes the handler with `event` (JSON round-tripped, as Lambda does) and returns its result. */
  async invoke(event: unknown, trigger: Trigger): Promise<unknown> {
    await this.acquire(trigger);
    try {
      return await this.invokeNow(event, trigger);
    } finally {
      this.release();
    }
  }

  private async invokeNow(event: unknown, trigger: Trigger): Promise<unknown> {
    const requestId = randomUUID();
    const startedAt = Date.now();
    const record = (fields: Partial<InvocationRecord>): void => {
      this.onInvocation({ function: this.spec.key, trigger, requestId, event, startedAt, durationMs: Date.now() - startedAt, ok: false, ...fields });
    };
    try {
      const env = await this.readyEnvironment();
      const result = await env.invoke(event, requestId);
      record({ ok: true, result });
      return result;
    } catch (err) {
      const error = err instanceof FunctionInvocationError
        ? err
        : new FunctionInvocationError(this.spec.key, 'Runtime.Unknown', String(err), { cause: err });
      record({ ok: false, error });
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const envs = [...this.retiredEnvs, ...(this.env ? [this.env] : [])];
    this.env = undefined;
    await Promise.all(envs.map((e) => e.stop()));
  }
}
