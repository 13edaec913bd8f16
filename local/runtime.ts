/**
 * The local runtime: runs a Serverless service on this machine exactly as its packaged CloudFormation
 * template wires it, so local and deployed wiring cannot drift.
 *
 *   osls package --stage local  ->  .serverless/cloudformation-template-update-stack.json
 *   dynalite (tables + GSIs, on disk under dataDir)  +  local-aws-sqs (queues + DLQ redrive)
 *   every function in its own worker (handler loaded from TS source via tsx, its own env)
 *   HTTP API routes (payload 2.0) on 127.0.0.1, JWT authorizers (local issuer), SQS event-source mappings,
 *   schedules and async invocations (Lambda's retries, then the OnFailure queue), direct invoke
 *
 * Everything listens on loopback only. Nothing here is ever deployed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException,
  type CreateTableCommandInput, type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { startAwsGuard } from './aws-guard';
import { LocalRuntimeError } from './errors';
import { startHttpApi } from './http-api';
import { gatewayClaims, loadOrCreateLocalIssuer, type LocalIssuer } from './jwt-issuer';
import { LocalFunction, type InvocationRecord, type LocalFunctionSpec } from './lambda';
import { isPackageFresh, packageService } from './package';
import { parseScheduleExpression } from './schedule';
import { startLocalDynamo, startLocalSqs, type LocalServer } from './servers';
import { SqsDriver } from './sqs-driver';
import {
  buildServiceModel, LOCAL_ACCOUNT_ID, readTemplate, resolveIntrinsics,
  type FunctionDef, type LocalResolver, type QueueDef, type ScheduleDef, type ServiceModel, type TableDef,
} from './template';

export type { InvocationRecord } from './lambda';

export interface LocalRuntimeOptions {
  /** Directory holding serverless.yml. */
  serviceDir: string;
  /** Stage to package and run; default 'local'. */
  stage?: string;
  /** Where DynamoDB data persists between runs; default `<serviceDir>/.data`; null = in memory only. */
  dataDir?: string | null;
  /** Extra environment for every function; wins over the template (e.g. local-only credentials). */
  env?: Record<string, string>;
  /** Environment for every function that the template may override (local-friendly defaults). */
  envDefaults?: Record<string, string>;
  /**
   * Multiplies every rate() interval, async-retry delay and queue VisibilityTimeout (0.05 turns 1 minute
   * into 3 s, and a failed message comes back after 27 s instead of 540 s); default 1.
   */
  rateScale?: number;
  /** Port of the HTTP API on 127.0.0.1; default 0 (any free port). */
  httpPort?: number;
  /** 'auto' (default) packages unless a fresh template for the stage exists; 'always'; 'never'. */
  package?: 'auto' | 'always' | 'never';
  /** Which event sources to drive; all by default. Direct invoke always works. */
  sources?: { http?: boolean; sqs?: boolean; schedules?: boolean };
  /** Load every handler at start (fail fast on import errors); default true. */
  warm?: boolean;
  /** Concurrent pollers per SQS mapping; default min(5, ScalingConfig.MaximumConcurrency), like Lambda's first scale step. */
  sqsPollers?: number;
  /** Where runtime and handler log lines go (already prefixed); default stdout. */
  log?: (line: string) => void;
  /** Called after every invocation, whatever triggered it. */
  onInvocation?: (record: InvocationRecord) => void;
  /** Called as each start-up phase begins (`npm start` prints them), e.g. 'packaging serverless.yml for stage local'. */
  onPhase?: (phase: string) => void;
}

export interface QueueInfo { logicalId: string; name: string; url: string; arn: string }
export interface TableInfo { logicalId: string; name: string; arn: string }
export interface FunctionInfo { key: string; logicalId: string; functionName: string; handlerFile: string; timeoutSeconds: number; env: Record<string, string> }
export interface ScheduleInfo { logicalId: string; functionKey: string; expression: string; timezone: string | undefined; enabled: boolean; nextAt: Date | undefined }

export interface LocalRuntime {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly stage: string;
  readonly region: string;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly model: ServiceModel;
  readonly functions: readonly FunctionInfo[];
  readonly queues: readonly QueueInfo[];
  readonly tables: readonly TableInfo[];
  /** The local token issuer of the template's JWT authorizer (undefined when no route has one). */
  readonly issuer: LocalIssuer | undefined;
  schedules(): ScheduleInfo[];
  /** A queue by logical id or name. */
  queue(name: string): QueueInfo;
  /** A table by logical id or name. */
  table(name: string): TableInfo;
  /** Invokes a function (serverless.yml key, logical id or function name) and returns its result. */
  invoke(name: string, event: unknown): Promise<unknown>;
  /**
   * Invokes a function asynchronously (InvocationType Event, as EventBridge and Scheduler do): retried
   * per its EventInvokeConfig (delays x rateScale), then its invocation record goes to its OnFailure queue.
   */
  invokeAsync(name: string, event: unknown): void;
  /** Fires a schedule now, as its rule would (Input or the scheduled event); returns the result. */
  fireSchedule(logicalId: string): Promise<unknown>;
  stop(): Promise<void>;
}

const HANDLER_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs'];

/** Maps a Lambda handler string (`functions/start-run.handler`) to its source file and export path. */
export function resolveHandler(serviceDir: string, handler: string): { file: string; exportPath: string[] } {
  const slash = handler.lastIndexOf('/');
  const dir = slash >= 0 ? handler.slice(0, slash) : '';
  const rest = handler.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot <= 0) throw new LocalRuntimeError(`handler "${handler}" must look like <file>.<export>`);
  const base = join(serviceDir, dir, rest.slice(0, dot));
  const candidates = [...HANDLER_EXTENSIONS.map((e) => base + e), ...HANDLER_EXTENSIONS.map((e) => join(base, `index${e}`))];
  const file = candidates.find((c) => existsSync(c));
  if (!file) throw new LocalRuntimeError(`no source for handler "${handler}" (looked for ${base}.ts and the like)`);
  return { file, exportPath: rest.slice(dot + 1).split('.') };
}

/** Lambda's retry delays for failed asynchronous invocations (about 1 and 2 minutes). */
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

/**
 * A process's start time (clock ticks since boot, /proc/<pid>/stat field 22) and whether it is a zombie
 * (killed, not yet reaped by its parent: it holds nothing any more); undefined without /proc (not Linux).
 */
function procStat(pid: number): { startTicks: string; zombie: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { zombie: fields[0] === 'Z' || fields[0] === 'X', startTicks: fields[19] ?? '' };
}

/**
 * The process holding a data folder (a live local runtime), if any. The lock file names the holder's pid
 * and its start time: a lock whose process is gone, is a zombie (killed, not yet reaped) or is another
 * process that got the same pid later is stale.
 */
export function dataDirHolder(dataDir: string): number | undefined {
  const lock = join(dataDir, 'runtime.lock');
  if (!existsSync(lock)) return undefined;
  const [pidText, startTicks] = readFileSync(lock, 'utf8').trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return pid;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // a stale lock of a process that is gone
  }
  const stat = procStat(pid);
  if (stat && (stat.zombie || (startTicks !== undefined && stat.startTicks !== startTicks))) return undefined;
  return pid;
}

/** Holds the data folder for one process: dynalite's LevelDB cannot be opened twice. */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const holder = dataDirHolder(dataDir);
  if (holder !== undefined) {
    throw new LocalRuntimeError(`the data folder ${dataDir} is in use by process ${holder} (another local runtime, e.g. \`npm start -- --serve\`); stop it or use another data folder`);
  }
  const lock = join(dataDir, 'runtime.lock');
  const startTicks = procStat(process.pid)?.startTicks;
  writeFileSync(lock, startTicks ? `${process.pid} ${startTicks}` : String(process.pid));
  return () => rmSync(lock, { force: true });
}

function tableInput(def: TableDef, resolver: LocalResolver): CreateTableCommandInput {
  const p = resolveIntrinsics(def.properties, resolver, `${def.logicalId}.Properties`) as Record<string, unknown>;
  const onDemand = p.BillingMode === 'PAY_PER_REQUEST';
  const strip = (index: Record<string, unknown>): Record<string, unknown> => {
    const { ProvisionedThroughput, ...rest } = index;
    return onDemand ? rest : { ...rest, ProvisionedThroughput };
  };
  return {
    TableName: def.name,
    AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
    ...(onDemand ? { BillingMode: 'PAY_PER_REQUEST' } : { ProvisionedThroughput: (p.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }) as CreateTableCommandInput['ProvisionedThroughput'] }),
    ...(Array.isArray(p.GlobalSecondaryIndexes) ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((g) => strip(g as Record<string, unknown>)) as unknown as CreateTableCommandInput['GlobalSecondaryIndexes'] } : {}),
    ...(Array.isArray(p.LocalSecondaryIndexes) ? { LocalSecondaryIndexes: p.LocalSecondaryIndexes as CreateTableCommandInput['LocalSecondaryIndexes'] } : {}),
  };
}

/** True when an existing table has the keys and indexes the template asks for. */
function sameShape(existing: TableDescription, wanted: CreateTableCommandInput): boolean {
  const keys = (k: { AttributeName?: string; KeyType?: string }[] | undefined) => JSON.stringify((k ?? []).map((x) => `${x.AttributeName}:${x.KeyType}`));
  const indexes = (list: { IndexName?: string; KeySchema?: { AttributeName?: string; KeyType?: string }[] }[] | undefined) =>
    JSON.stringify((list ?? []).map((i) => `${i.IndexName}=${keys(i.KeySchema)}`).sort());
  return keys(existing.KeySchema) === keys(wanted.KeySchema)
    && indexes(existing.GlobalSecondaryIndexes) === indexes(wanted.GlobalSecondaryIndexes)
    && indexes(existing.LocalSecondaryIndexes) === indexes(wanted.LocalSecondaryIndexes);
}

const QUEUE_ATTRIBUTES = ['DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds', 'VisibilityTimeout',
  'FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'];

/** Queues in creation order: a dead-letter queue before the queues that redrive into it. */
function creationOrder(queues: QueueDef[]): QueueDef[] {
  const byId = new Map(queues.map((q) => [q.logicalId, q]));
  const out: QueueDef[] = [];
  const seen = new Set<string>();
  const visit = (q: QueueDef, path: string[]): void => {
    if (seen.has(q.logicalId)) return;
    if (path.includes(q.logicalId)) throw new LocalRuntimeError(`redrive cycle: ${[...path, q.logicalId].join(' -> ')}`);
    const dlq = q.deadLetterLogicalId ? byId.get(q.deadLetterLogicalId) : undefined;
    if (dlq) visit(dlq, [...path, q.logicalId]);
    seen.add(q.logicalId);
    out.push(q);
  };
  for (const q of queues) visit(q, []);
  return out;
}

/** A queue URL written as a literal for some local tool (http://127.0.0.1:9324/000000000000/name) is ours. */
const LITERAL_LOCAL_QUEUE_URL = /^https?:\/\/(?:127\.0\.0\.1|localhost)(?::\d+)?\/\d{12}\/([^/?#]+)$/;

/** Undo steps of a start, run in reverse order on stop or when the start fails. */
class Cleanups {
  private readonly steps: Array<() => Promise<void> | void> = [];
  constructor(private readonly log: (line: string) => void) {}
  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try { await step(); } catch (err) { this.log(`[runtime] cleanup failed: ${(err as Error).message}`); }
    }
  }
}

interface Settings {
  serviceDir: string;
  stage: string;
  rateScale: number;
  sources: { http: boolean; sqs: boolean; schedules: boolean };
  log: (line: string) => void;
  phase: (phase: string) => void;
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const started = Date.now();
  const settings = runtimeSettings(options);
  const { log } = settings;
  const cleanups = new Cleanups(log);
  try {
    const model = await loadModel(settings, options.package ?? 'auto');
    settings.phase('backends: DynamoDB (dynalite), SQS (local-aws-sqs)');
    const backends = await startBackends(settings, model, options.dataDir, cleanups);
    const issuer = await localIssuer(model, backends.dataDir);
    const localFunctions = new Map<string, LocalFunction>();
    const http = settings.sources.http && model.routes.length > 0
      ? await startHttpApi({
        port: options.httpPort ?? 0,
        apiId: 'local',
        accountId: LOCAL_ACCOUNT_ID,
        routes: () => model.routes,
        invoke: (logicalId, event: APIGatewayProxyEventV2) => mustGet(localFunctions, logicalId).invoke(event, 'http'),
        ...(issuer ? { verifyJwt: async (a, token) => gatewayClaims(await issuer.verify(token, { issuer: a.issuer, audience: a.audience })) } : {}),
        log,
      })
      : undefined;
    if (http) cleanups.add(() => http.close());
    const names = localNames(model, backends.sqs.url, http?.url);
    await createTables(model, names.resolver, backends.dynamo.url, log);
    await createQueues(model, names.resolver, backends.sqs.url, settings.rateScale);
    settings.phase(`functions: loading ${model.functions.length} handlers`);
    const functionInfos = createFunctions(settings, model, names, backends, options, localFunctions);
    cleanups.add(() => Promise.all([...localFunctions.values()].map((f) => f.stop())).then(() => undefined));
    if (options.warm ?? true) await Promise.all([...localFunctions.values()].map((f) => f.warm()));
    const pollers = startSqsMappings(settings, model, names, backends.sqs.url, localFunctions, options.sqsPollers);
    cleanups.add(() => pollers.driver.stop());
    const timers = new Timers();
    cleanups.add(() => timers.stop());
    const invokeAsync = asyncInvoker(settings, names, localFunctions, pollers.driver, timers);
    const schedules = armSchedules(settings, model, names, localFunctions, invokeAsync, timers);
    // Stop taking HTTP requests before the functions behind them go away.
    if (http) cleanups.add(() => http.close());
    log(`[runtime] ready in ${Date.now() - started} ms: ${model.functions.length} functions, ${model.routes.length} routes`
      + `${http ? ` on ${http.url}` : ''}, ${pollers.count} queue pollers, ${schedules.armed()} schedules armed (rateScale ${settings.rateScale})`);
    return runtimeHandle(settings, model, names, backends, http?.url ?? '', functionInfos, localFunctions, { schedules, invokeAsync, issuer }, cleanups);
  } catch (err) {
    await cleanups.run();
    throw err;
  }
}

function runtimeSettings(options: LocalRuntimeOptions): Settings {
  const rateScale = options.rateScale ?? 1;
  if (!(rateScale > 0)) throw new LocalRuntimeError(`rateScale must be a positive number, got ${rateScale}`);
  return {
    serviceDir: resolve(options.serviceDir),
    stage: options.stage ?? 'local',
    rateScale,
    sources: { http: true, sqs: true, schedules: true, ...options.sources },
    log: options.log ?? ((line: string) => { process.stdout.write(`${line}\n`); }),
    phase: options.onPhase ?? (() => undefined),
  };
}

/** Phase 1: the packaged template (packaged now unless a fresh one exists, per `mode`). */
async function loadModel({ serviceDir, stage, log, phase }: Settings, mode: 'auto' | 'always' | 'never'): Promise<ServiceModel> {
  if (mode === 'always' || (mode === 'auto' && !isPackageFresh(serviceDir, stage))) {
    phase(`packaging serverless.yml for stage ${stage} (osls package; only when it changed)`);
    const { ms } = await packageService(serviceDir, stage);
    log(`[runtime] packaged ${serviceDir} for stage ${stage} in ${ms} ms`);
  }
  const { template, state } = readTemplate(serviceDir);
  const model = buildServiceModel(template, state, stage);
  if (model.stage !== stage) {
    throw new LocalRuntimeError(`.serverless/ holds a package for stage "${model.stage}", not "${stage}"; run with package: 'always'`);
  }
  for (const w of model.warnings) log(`[runtime] note: ${w}`);
  return model;
}

interface Backends { dynamo: LocalServer; sqs: LocalServer; guardUrl: string; dataDir: string | undefined }

/** Phase 2: DynamoDB (on disk unless dataDir is null), SQS and the guard for every other AWS service. */
async function startBackends({ serviceDir, log }: Settings, model: ServiceModel, dataDirOption: string | null | undefined, cleanups: Cleanups): Promise<Backends> {
  const dataDir = dataDirOption === null ? undefined : resolve(dataDirOption ?? join(serviceDir, '.data'));
  if (dataDir) cleanups.add(lockDataDir(dataDir));
  const dynamo = await startLocalDynamo(dataDir ? { path: join(dataDir, 'dynamodb') } : {});
  cleanups.add(() => dynamo.stop());
  const sqs = await startLocalSqs({ region: model.region, accountId: LOCAL_ACCOUNT_ID });
  cleanups.add(() => sqs.stop());
  const guard = await startAwsGuard(log);
  cleanups.add(() => guard.close());
  return { dynamo, sqs, guardUrl: guard.url, dataDir };
}

/**
 * Phase 2b: the local issuer of the template's JWT authorizer (its key pair kept in the data folder),
 * against which the HTTP API verifies bearer tokens like API Gateway would; none without a JWT route.
 */
async function localIssuer(model: ServiceModel, dataDir: string | undefined): Promise<LocalIssuer | undefined> {
  const authorizer = model.routes.find((r) => r.jwtAuthorizer)?.jwtAuthorizer;
  return authorizer ? loadOrCreateLocalIssuer(dataDir, { issuer: authorizer.issuer, audience: authorizer.audience[0] ?? '' }) : undefined;
}

interface LocalNames {
  queueInfo: Map<string, QueueInfo>;
  tableInfo: Map<string, TableInfo>;
  fnDefs: Map<string, FunctionDef>;
  fnArn(f: FunctionDef): string;
  resolver: LocalResolver;
}

/** Phase 3: what Ref / GetAtt mean here (the HTTP API's URL can appear in the functions' environment). */
function localNames(model: ServiceModel, sqsUrl: string, httpUrl: string | undefined): LocalNames {
  const { region, stackName } = model;
  const queueInfo = new Map<string, QueueInfo>(model.queues.map((q) => [q.logicalId, {
    logicalId: q.logicalId,
    name: q.name,
    url: `${sqsUrl}/${LOCAL_ACCOUNT_ID}/${q.name}`,
    arn: `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${q.name}`,
  }]));
  const tableInfo = new Map<string, TableInfo>(model.tables.map((t) => [t.logicalId, {
    logicalId: t.logicalId, name: t.name, arn: `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${t.name}`,
  }]));
  const fnArn = (f: FunctionDef) => `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${f.functionName}`;
  const fnDefs = new Map(model.functions.map((f) => [f.logicalId, f]));
  const resolver: LocalResolver = {
    region,
    accountId: LOCAL_ACCOUNT_ID,
    stackName,
    ref(id) {
      return queueInfo.get(id)?.url ?? tableInfo.get(id)?.name ?? fnDefs.get(id)?.functionName
        ?? (model.httpApis.includes(id) ? 'local' : undefined);
    },
    getAtt(id, attr) {
      const q = queueInfo.get(id);
      if (q) return ({ Arn: q.arn, QueueName: q.name, QueueUrl: q.url } as Record<string, string>)[attr];
      const t = tableInfo.get(id);
      if (t) return attr === 'Arn' ? t.arn : undefined;
      const f = fnDefs.get(id);
      if (f) return attr === 'Arn' ? fnArn(f) : undefined;
      if (model.httpApis.includes(id)) return attr === 'ApiEndpoint' ? httpUrl : attr === 'ApiId' ? 'local' : undefined;
      return undefined;
    },
  };
  return { queueInfo, tableInfo, fnDefs, fnArn, resolver };
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Phase 4a: the template's tables (a table whose keys or indexes changed is recreated). */
async function createTables(model: ServiceModel, resolver: LocalResolver, endpoint: string, log: (line: string) => void): Promise<void> {
  const ddb = new DynamoDBClient({ endpoint, region: model.region, credentials: LOCAL_CREDENTIALS });
  try {
    for (const def of model.tables) {
      const wanted = tableInput(def, resolver);
      const existing = await ddb.send(new DescribeTableCommand({ TableName: def.name })).then((r) => r.Table, (err: unknown) => {
        if (err instanceof ResourceNotFoundException) return undefined;
        throw err;
      });
      if (existing && sameShape(existing, wanted)) continue;
      if (existing) {
        log(`[runtime] table ${def.name} changed shape in the template; recreating it (its local data is dropped)`);
        await ddb.send(new DeleteTableCommand({ TableName: def.name }));
      }
      await ddb.send(new CreateTableCommand(wanted));
      if (def.properties.TimeToLiveSpecification) log(`[runtime] note: ${def.logicalId}: TTL expiry is not emulated by dynalite (items are never expired)`);
    }
  } finally {
    ddb.destroy();
  }
}

/**
 * A queue's VisibilityTimeout on this machine: scaled like the schedules (a failed message is retried
 * after 27 s instead of 540 s at rateScale 0.05), but never below 5 s (or the template's value when that
 * is smaller), so a message is not handed out again while its handler is still running. The mapping
 * check (VisibilityTimeout >= the function's Timeout) is made on the template's values, as AWS makes it.
 */
export function scaledVisibility(seconds: number, rateScale: number): number {
  if (!Number.isFinite(seconds)) return seconds;
  return Math.min(seconds, Math.max(5, Math.ceil(seconds * rateScale)));
}

/** Phase 4b: the template's queues, dead-letter queues first, with their redrive policies. */
async function createQueues(model: ServiceModel, resolver: LocalResolver, endpoint: string, rateScale: number): Promise<void> {
  const sqsAdmin = new SQSClient({ endpoint, region: model.region, credentials: LOCAL_CREDENTIALS });
  try {
    for (const q of creationOrder(model.queues)) {
      const p = resolveIntrinsics(q.properties, resolver, `${q.logicalId}.Properties`) as Record<string, unknown>;
      const attributes: Record<string, string> = {};
      for (const key of QUEUE_ATTRIBUTES) if (p[key] !== undefined) attributes[key] = String(p[key]);
      if (attributes.VisibilityTimeout !== undefined) attributes.VisibilityTimeout = String(scaledVisibility(Number(attributes.VisibilityTimeout), rateScale));
      if (p.RedrivePolicy !== undefined) {
        const policy = (typeof p.RedrivePolicy === 'string' ? JSON.parse(p.RedrivePolicy) : p.RedrivePolicy) as Record<string, unknown>;
        attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: Number(policy.maxReceiveCount) });
      }
      await sqsAdmin.send(new CreateQueueCommand({ QueueName: q.name, Attributes: attributes }));
    }
  } finally {
    sqsAdmin.destroy();
  }
}

/** Phase 5: every function in its own environment with exactly its resolved variables. */
function createFunctions(
  { serviceDir, log }: Settings, model: ServiceModel, names: LocalNames, backends: Backends,
  options: LocalRuntimeOptions, localFunctions: Map<string, LocalFunction>,
): FunctionInfo[] {
  const { region } = model;
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // Nothing from the developer's ~/.aws (profiles, endpoint overrides) leaks into a function.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_ENDPOINT_URL: backends.guardUrl,
    AWS_ENDPOINT_URL_DYNAMODB: backends.dynamo.url,
    AWS_ENDPOINT_URL_SQS: backends.sqs.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    LAMBDA_TASK_ROOT: serviceDir,
  };
  const functionInfos: FunctionInfo[] = [];
  const overridden = new Set<string>();
  for (const def of model.functions) {
    const { file, exportPath } = resolveHandler(serviceDir, def.handler);
    const env: Record<string, string> = {
      ...baseEnv,
      AWS_LAMBDA_FUNCTION_NAME: def.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(def.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${def.functionName}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${def.runtime}`,
      ...options.envDefaults,
    };
    for (const [name, raw] of Object.entries(def.environment)) {
      const value = resolveIntrinsics(raw, names.resolver, `${def.logicalId}.Environment.Variables.${name}`);
      if (typeof value === 'symbol') continue; // AWS::NoValue
      let text = typeof value === 'string' ? value : JSON.stringify(value);
      const literal = LITERAL_LOCAL_QUEUE_URL.exec(text);
      const queue = literal ? [...names.queueInfo.values()].find((q) => q.name === literal[1]) : undefined;
      if (queue) text = queue.url;
      if (name in baseEnv && text !== baseEnv[name]) {
        // Endpoints, region and credentials of the local AWS stand-ins belong to the runtime.
        if (text !== '' && !overridden.has(name)) log(`[runtime] note: ${name}=${text} from the template is replaced by the local runtime's ${baseEnv[name]}`);
        overridden.add(name);
        continue;
      }
      env[name] = text;
    }
    Object.assign(env, options.env ?? {});
    const spec: LocalFunctionSpec = {
      key: def.key, functionName: def.functionName, arn: names.fnArn(def), file, exportPath,
      timeoutSeconds: def.timeoutSeconds, memoryMb: def.memoryMb, env, reservedConcurrency: def.reservedConcurrency,
    };
    localFunctions.set(def.logicalId, new LocalFunction(spec, log, options.onInvocation ?? (() => undefined)));
    functionInfos.push({ key: def.key, logicalId: def.logicalId, functionName: def.functionName, handlerFile: file, timeoutSeconds: def.timeoutSeconds, env });
  }
  return functionInfos;
}

/** Phase 6: the SQS event-source mappings, on real time (local/sqs-driver.ts). */
function startSqsMappings(
  { sources, log }: Settings, model: ServiceModel, names: LocalNames, endpoint: string,
  localFunctions: Map<string, LocalFunction>, pollersOption: number | undefined,
): { driver: SqsDriver; count: number } {
  const driver = new SqsDriver({ endpoint, region: model.region, time: { kind: 'real' }, log });
  let count = 0;
  for (const m of model.eventSourceMappings) {
    const q = mustGet(names.queueInfo, m.queueLogicalId);
    const fn = mustGet(localFunctions, m.functionLogicalId);
    const visibility = Number((model.queues.find((x) => x.logicalId === m.queueLogicalId)?.properties.VisibilityTimeout) ?? 30);
    if (visibility < fn.spec.timeoutSeconds) {
      // AWS refuses to create this mapping; refuse too, so the mistake is found before deploying.
      throw new LocalRuntimeError(`queue ${q.name} VisibilityTimeout (${visibility} s) is less than ${fn.spec.key}'s Timeout (${fn.spec.timeoutSeconds} s); AWS rejects this event source mapping`, { where: m.logicalId });
    }
    if (!sources.sqs || !m.enabled) continue;
    driver.add({
      queueUrl: q.url, queueArn: q.arn, queueName: q.name, functionKey: fn.spec.key,
      batchSize: m.batchSize, maximumBatchingWindowInSeconds: m.maximumBatchingWindowInSeconds, reportBatchItemFailures: m.reportBatchItemFailures,
      pollers: pollersOption ?? Math.min(5, m.maximumConcurrency ?? 5),
      invoke: (event: SQSEvent) => fn.invoke(event, 'sqs'),
    });
    count++;
  }
  driver.start();
  return { driver, count };
}

/** Timers of the schedules and async retries: none fires once stopped; any delay (setTimeout caps at 2^31-1 ms). */
class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private stopping = false;

  later(ms: number, fn: () => void): void {
    const MAX_TIMER_MS = 2 ** 31 - 1; // longer delays would fire at once (TimeoutOverflowWarning)
    const wait = Math.min(Math.max(0, ms), MAX_TIMER_MS);
    const t = setTimeout(() => {
      this.pending.delete(t);
      if (this.stopping) return;
      if (ms > MAX_TIMER_MS) this.later(ms - MAX_TIMER_MS, fn); else fn();
    }, wait);
    this.pending.add(t);
  }

  stop(): void {
    this.stopping = true;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}

/** An asynchronous invocation (`eventOf(attempt)` is the event of each attempt). */
type AsyncInvoke = (fnLogicalId: string, eventOf: (attempt: number) => unknown, label: string, kind: 'schedule' | 'invoke') => void;

/**
 * Phase 7a: Lambda's asynchronous invocations: a failed attempt is retried per the function's
 * EventInvokeConfig (about 1 then 2 minutes, x rateScale); once every attempt failed, the invocation
 * record (AWS's documented OnFailure record shape) is sent to its OnFailure destination queue through
 * the SQS driver, whose mapping (if any) delivers it like any other message.
 */
function asyncInvoker({ rateScale, log }: Settings, names: LocalNames, localFunctions: Map<string, LocalFunction>, driver: SqsDriver, timers: Timers): AsyncInvoke {
  const sendToOnFailure = async (def: FunctionDef, event: unknown, err: unknown, attempts: number): Promise<void> => {
    const queue = def.onFailureQueue ? names.queueInfo.get(def.onFailureQueue) : undefined;
    if (!queue) return;
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: randomUUID(), functionArn: `${names.fnArn(def)}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: attempts },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: (err as Error)?.name ?? 'Error', errorMessage: (err as Error)?.message ?? String(err), trace: [] },
    };
    await driver.send(queue.url, JSON.stringify(record));
    log(`[async ${def.key}] failed ${attempts} time(s): invocation record sent to ${queue.logicalId} (OnFailure)`);
  };
  const invokeAsync: AsyncInvoke = (fnLogicalId, eventOf, label, kind) => {
    const attemptOnce = (attempt: number): void => {
      const fn = mustGet(localFunctions, fnLogicalId);
      const event = eventOf(attempt);
      fn.invoke(event, kind).catch((err: unknown) => {
        const def = names.fnDefs.get(fnLogicalId);
        const retries = def?.maximumRetryAttempts ?? 2;
        if (attempt >= retries) {
          log(`[${label} -> ${fn.spec.key}] failed, no retries left: ${(err as Error).message}`);
          if (def) sendToOnFailure(def, event, err, attempt + 1).catch((e: unknown) => log(`[${label}] OnFailure delivery failed: ${(e as Error).message}`));
          return;
        }
        const delay = (ASYNC_RETRY_DELAYS_MS[attempt] ?? 120_000) * rateScale;
        log(`[${label} -> ${fn.spec.key}] failed, retry ${attempt + 1}/${retries} in ${delay} ms: ${(err as Error).message}`);
        timers.later(delay, () => attemptOnce(attempt + 1));
      });
    };
    attemptOnce(0);
  };
  return invokeAsync;
}

interface Schedules {
  list(): ScheduleInfo[];
  armed(): number;
  /** Fires a schedule now, as its rule would. */
  fire(logicalId: string): Promise<unknown>;
}

/** Phase 7b: schedules (rate and cron, invoked asynchronously: Lambda's retries, then OnFailure), on real time scaled by rateScale. */
function armSchedules(
  { sources, rateScale }: Settings, model: ServiceModel, names: LocalNames, localFunctions: Map<string, LocalFunction>,
  invokeAsync: AsyncInvoke, timers: Timers,
): Schedules {
  const { region } = model;
  const scheduleState = new Map<string, { def: ScheduleDef; nextAt: Date | undefined }>();
  const later = (ms: number, fn: () => void): void => timers.later(ms, fn);
  const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  /** What the target receives: the Input (Scheduler context attributes filled in), or the scheduled event. */
  const scheduleEvent = (def: ScheduleDef, scheduledAt: Date, executionId: string, attempt: number): unknown => {
    if (def.input !== undefined) {
      const input = def.kind !== 'scheduler' ? def.input : def.input
        .replaceAll('<aws.scheduler.scheduled-time>', isoSeconds(scheduledAt))
        .replaceAll('<aws.scheduler.execution-id>', executionId)
        .replaceAll('<aws.scheduler.attempt-number>', String(attempt + 1))
        .replaceAll('<aws.scheduler.schedule-arn>', `arn:aws:scheduler:${region}:${LOCAL_ACCOUNT_ID}:schedule/default/${def.logicalId}`);
      return JSON.parse(input) as unknown;
    }
    if (def.kind === 'scheduler') return {};
    return {
      version: '0', id: executionId, 'detail-type': 'Scheduled Event', source: 'aws.events', account: LOCAL_ACCOUNT_ID,
      time: isoSeconds(scheduledAt), region,
      resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${def.logicalId}`], detail: {},
    };
  };
  const fire = (def: ScheduleDef, scheduledAt: Date, executionId = randomUUID()): void =>
    invokeAsync(def.functionLogicalId, (attempt) => scheduleEvent(def, scheduledAt, executionId, attempt), `schedule ${def.logicalId}`, 'schedule');
  for (const def of model.schedules) {
    const parsed = parseScheduleExpression(def.expression, def.timezone, def.logicalId);
    const entry = { def, nextAt: undefined as Date | undefined };
    scheduleState.set(def.logicalId, entry);
    if (!def.enabled || !sources.schedules) continue;
    if (parsed.kind === 'rate') {
      const every = Math.max(10, parsed.everyMs * rateScale);
      const tick = (): void => {
        const at = new Date(Date.now() + every);
        entry.nextAt = at;
        later(every, () => { fire(def, at); tick(); });
      };
      tick();
    } else {
      const arm = (): void => {
        const at = parsed.next(new Date());
        entry.nextAt = at;
        if (at) later(at.getTime() - Date.now(), () => { fire(def, at); arm(); });
      };
      arm();
    }
  }
  return {
    list: () => [...scheduleState.values()].map(({ def, nextAt }) => ({
      logicalId: def.logicalId,
      functionKey: names.fnDefs.get(def.functionLogicalId)?.key ?? def.functionLogicalId,
      expression: def.expression,
      timezone: def.timezone,
      enabled: def.enabled,
      nextAt,
    })),
    armed: () => [...scheduleState.values()].filter((s) => s.nextAt).length,
    fire: async (logicalId) => {
      const entry = scheduleState.get(logicalId) ?? fail(`no schedule "${logicalId}"; known: ${[...scheduleState.keys()].join(', ')}`);
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      return mustGet(localFunctions, entry.def.functionLogicalId).invoke(scheduleEvent(entry.def, now, randomUUID(), 0), 'schedule');
    },
  };
}

/** Phase 8: the handle the caller drives the runtime with. */
function runtimeHandle(
  { stage }: Settings, model: ServiceModel, names: LocalNames, backends: Backends, url: string,
  functionInfos: FunctionInfo[], localFunctions: Map<string, LocalFunction>,
  { schedules, invokeAsync, issuer }: { schedules: Schedules; invokeAsync: AsyncInvoke; issuer: LocalIssuer | undefined }, cleanups: Cleanups,
): LocalRuntime {
  const queues = [...names.queueInfo.values()];
  const tables = [...names.tableInfo.values()];
  const findDef = (name: string): FunctionDef => {
    const def = model.functions.find((f) => f.key === name || f.logicalId === name || f.functionName === name);
    if (!def) throw new LocalRuntimeError(`no function "${name}"; known: ${model.functions.map((f) => f.key).join(', ')}`);
    return def;
  };
  const findFunction = (name: string): LocalFunction => mustGet(localFunctions, findDef(name).logicalId);
  let stopped: Promise<void> | undefined;
  return {
    url,
    stage,
    region: model.region,
    dynamodbEndpoint: backends.dynamo.url,
    sqsEndpoint: backends.sqs.url,
    model,
    functions: functionInfos,
    queues,
    tables,
    issuer,
    schedules: () => schedules.list(),
    queue: (name) => queues.find((q) => q.logicalId === name || q.name === name) ?? fail(`no queue "${name}"; known: ${queues.map((q) => q.logicalId).join(', ')}`),
    table: (name) => tables.find((t) => t.logicalId === name || t.name === name) ?? fail(`no table "${name}"; known: ${tables.map((t) => t.logicalId).join(', ')}`),
    invoke: async (name, event) => findFunction(name).invoke(event, 'invoke'),
    invokeAsync: (name, event) => {
      const def = findDef(name); // fails now, naming the known functions, when there is no such function
      invokeAsync(def.logicalId, () => event, `async ${def.key}`, 'invoke');
    },
    fireSchedule: (logicalId) => schedules.fire(logicalId),
    stop: () => (stopped ??= cleanups.run()),
  };
}

function fail(message: string): never {
  throw new LocalRuntimeError(message);
}

function mustGet<K, V>(map: Map<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new LocalRuntimeError(`internal: ${String(key)} is not known`);
  return value;
}
