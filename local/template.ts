/**
 * Reads the CloudFormation template that `osls package` writes and turns the parts the local runtime
 * drives into a small typed model: functions, queues, tables, HTTP API routes, SQS event-source
 * mappings and schedules. It also resolves the intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * ...) that environment variables and properties use, against the local resources.
 *
 * Hand-written on purpose: no maintained npm library evaluates CloudFormation intrinsics against
 * something other than a real deployed stack, and we only need the handful of cases listed here. Any
 * construct outside that list is a clear LocalRuntimeError naming the template path, never a guess.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { LocalRuntimeError } from './errors';

export const LOCAL_ACCOUNT_ID = '000000000000';

const Resource = z.looseObject({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional(), Condition: z.string().optional() });
const Template = z.looseObject({ Resources: z.record(z.string(), Resource), Conditions: z.record(z.string(), z.unknown()).optional() });
type Resource = z.infer<typeof Resource>;
export type CfnTemplate = z.infer<typeof Template>;

export interface FunctionDef {
  logicalId: string;
  /** The key under `functions:` in serverless.yml (e.g. `start-run`), when known. */
  key: string;
  functionName: string;
  /** Lambda handler string, e.g. `functions/start-run.handler`. */
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
  runtime: string;
  /** Environment.Variables as written in the template (may hold intrinsics). */
  environment: Record<string, unknown>;
  /** Async invocations (schedules) retried this many times on error (EventInvokeConfig, default 2). */
  maximumRetryAttempts: number;
  /** Async invocations older than this are dropped (EventInvokeConfig MaximumEventAgeInSeconds; default 6 h). */
  maximumEventAgeSeconds: number;
  /** Logical id of the SQS queue an async invocation that failed every attempt goes to (OnFailure destination). */
  onFailureQueue: string | undefined;
  /** ReservedConcurrentExecutions: at most this many invocations at once (undefined = no limit). */
  reservedConcurrency: number | undefined;
}

export interface QueueDef {
  logicalId: string;
  name: string;
  fifo: boolean;
  properties: Record<string, unknown>;
  /** Logical id of the dead-letter queue named by RedrivePolicy, when it is one of ours. */
  deadLetterLogicalId: string | undefined;
}

export interface TableDef {
  logicalId: string;
  name: string;
  properties: Record<string, unknown>;
}

export interface RouteDef {
  logicalId: string;
  routeKey: string;
  /** Upper-case method, or `ANY`; `$default` routes have method `ANY` and path `$default`. */
  method: string;
  path: string;
  functionLogicalId: string;
  payloadVersion: string;
  /** The route's JWT authorizer (AuthorizationType JWT), enforced by the local HTTP API. */
  jwtAuthorizer?: JwtAuthorizerDef;
}

export interface JwtAuthorizerDef {
  logicalId: string;
  issuer: string;
  audience: string[];
  /** e.g. `$request.header.Authorization`. */
  identitySource: string[];
}

export interface EventSourceMappingDef {
  logicalId: string;
  functionLogicalId: string;
  queueLogicalId: string;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
  maximumConcurrency: number | undefined;
}

export interface ScheduleDef {
  logicalId: string;
  kind: 'events-rule' | 'scheduler';
  expression: string;
  timezone: string | undefined;
  enabled: boolean;
  functionLogicalId: string;
  /** The target's Input (a JSON string), when given. */
  input: string | undefined;
}

export interface ServiceModel {
  serviceName: string;
  stage: string;
  region: string;
  stackName: string;
  functions: FunctionDef[];
  queues: QueueDef[];
  tables: TableDef[];
  routes: RouteDef[];
  eventSourceMappings: EventSourceMappingDef[];
  schedules: ScheduleDef[];
  /** Logical ids of the AWS::ApiGatewayV2::Api resources (Ref = API id, GetAtt ApiEndpoint = local URL). */
  httpApis: string[];
  /** Type of every resource, for error messages about what is not emulated. */
  resourceTypes: Record<string, string>;
  /** Things the template declares that the local runtime does not drive (printed at start). */
  warnings: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The logical id a Ref / Fn::GetAtt / "Id.Attr" string points at, or undefined. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (isObject(value)) {
    if (typeof value.Ref === 'string') return value.Ref;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string') return getAtt.split('.')[0];
    // Fn::Join ['/', ['integrations', { Ref: X }]] (HTTP API route targets) and similar.
    const join = value['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      for (const part of join[1]) {
        const id = referencedLogicalId(part);
        if (id) return id;
      }
    }
  }
  return undefined;
}

function num(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : fallback;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

interface ServerlessState {
  service?: { service?: unknown; provider?: { region?: unknown }; functions?: Record<string, { name?: unknown }> };
}

/** Paths of the files `osls package` writes that the runtime reads. */
export function packagePaths(serviceDir: string): { dir: string; template: string; state: string } {
  const dir = join(serviceDir, '.serverless');
  return { dir, template: join(dir, 'cloudformation-template-update-stack.json'), state: join(dir, 'serverless-state.json') };
}

/** The stage a packaged template was built for, read from the functions' S3 keys (`serverless/<svc>/<stage>/...`). */
export function packagedStage(template: CfnTemplate): string | undefined {
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const code = resource.Properties?.Code;
    const key = isObject(code) ? str(code.S3Key) : undefined;
    const stage = key?.split('/')[2];
    if (stage) return stage;
  }
  return undefined;
}

export function readTemplate(serviceDir: string): { template: CfnTemplate; state: ServerlessState } {
  const paths = packagePaths(serviceDir);
  if (!existsSync(paths.template)) {
    throw new LocalRuntimeError(`no packaged template at ${paths.template}; run \`osls package\` first`);
  }
  const parsed = Template.safeParse(JSON.parse(readFileSync(paths.template, 'utf8')));
  if (!parsed.success) throw new LocalRuntimeError(`not a CloudFormation template: ${z.prettifyError(parsed.error)}`, { where: paths.template });
  const state = existsSync(paths.state) ? (JSON.parse(readFileSync(paths.state, 'utf8')) as ServerlessState) : {};
  return { template: parsed.data, state };
}

/** Builds the model of everything the local runtime drives from a packaged template. */
/**
 * Evaluates the template's Conditions (Fn::Equals / Fn::Or / Fn::And / Fn::Not / Condition over literal
 * values and pseudo parameters such as AWS::StackName) and returns the resources CloudFormation would
 * create: those without a Condition or whose Condition is true.
 */
export function createdResources(template: CfnTemplate, pseudo: LocalResolver): Record<string, Resource> {
  const conditions = template.Conditions ?? {};
  const memo = new Map<string, boolean>();
  const evaluate = (value: unknown, where: string): boolean => {
    if (!isObject(value)) throw new LocalRuntimeError('a condition must be an intrinsic function', { where });
    const [[fn, arg] = []] = Object.entries(value);
    const list = (n?: number): unknown[] => {
      if (!Array.isArray(arg) || (n !== undefined && arg.length !== n)) throw new LocalRuntimeError(`${fn} takes ${n ?? 'a list of'} arguments`, { where });
      return arg;
    };
    switch (fn) {
      case 'Fn::Equals': {
        const [a, b] = list(2).map((v, i) => resolveIntrinsics(v, pseudo, `${where}.Fn::Equals[${i}]`));
        if (typeof a !== 'string' || typeof b !== 'string') throw new LocalRuntimeError('Fn::Equals is evaluated locally on strings and pseudo parameters only', { where });
        return a === b;
      }
      case 'Fn::Or': return list().some((c, i) => evaluate(c, `${where}.Fn::Or[${i}]`));
      case 'Fn::And': return list().every((c, i) => evaluate(c, `${where}.Fn::And[${i}]`));
      case 'Fn::Not': return !evaluate(list(1)[0], `${where}.Fn::Not[0]`);
      case 'Condition': return named(String(arg), where);
      default: throw new LocalRuntimeError(`${fn} is not evaluated in conditions locally`, { where });
    }
  };
  const named = (name: string, where: string): boolean => {
    if (!(name in conditions)) throw new LocalRuntimeError(`unknown condition '${name}'`, { where });
    if (!memo.has(name)) memo.set(name, evaluate(conditions[name], `Conditions.${name}`));
    return memo.get(name)!;
  };
  return Object.fromEntries(
    Object.entries(template.Resources).filter(([id, r]) => r.Condition === undefined || named(r.Condition, `Resources.${id}.Condition`)),
  );
}

export function buildServiceModel(template: CfnTemplate, state: ServerlessState, fallbackStage: string): ServiceModel {
  const warnings: string[] = [];
  const stage = packagedStage(template) ?? fallbackStage;
  const firstKey = Object.values(template.Resources)
    .map((r) => (isObject(r.Properties?.Code) ? str((r.Properties.Code as Json).S3Key) : undefined))
    .find(Boolean);
  const serviceName = str(state.service?.service) ?? firstKey?.split('/')[1] ?? 'service';
  const region = str(state.service?.provider?.region) ?? 'us-east-1';
  const stackName = `${serviceName}-${stage}`;
  // Names may be written with intrinsics (!Sub '${AWS::StackName}-work'); only pseudo parameters are known yet.
  const pseudoOnly: LocalResolver = { region, accountId: LOCAL_ACCOUNT_ID, stackName, ref: () => undefined, getAtt: () => undefined };
  const resources = createdResources(template, pseudoOnly);
  const nameOf = (value: unknown, where: string): string | undefined =>
    value === undefined ? undefined : String(resolveIntrinsics(value, pseudoOnly, where));
  const stateFunctions = state.service?.functions ?? {};

  const byType = (type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, r]) => r.Type === type);
  const props = (r: Resource): Json => r.Properties ?? {};

  const retryConfig = new Map<string, { retries: number; maxAgeSeconds: number; onFailureQueue: string | undefined }>();
  for (const [id, r] of byType('AWS::Lambda::EventInvokeConfig')) {
    const target = referencedLogicalId(props(r).FunctionName);
    if (!target) { warnings.push(`${id}: EventInvokeConfig for a function outside the template is ignored`); continue; }
    const destinations = isObject(props(r).DestinationConfig) ? (props(r).DestinationConfig as Json) : {};
    const onFailure = isObject(destinations.OnFailure) ? (destinations.OnFailure as Json).Destination : undefined;
    const onFailureQueue = onFailure === undefined ? undefined : referencedLogicalId(onFailure);
    const isQueue = onFailureQueue !== undefined && resources[onFailureQueue]?.Type === 'AWS::SQS::Queue';
    if (onFailure !== undefined && !isQueue) warnings.push(`${id}: only an SQS queue of this template is driven locally as an OnFailure destination`);
    if (isObject(destinations.OnSuccess)) warnings.push(`${id}: OnSuccess destinations are not driven locally`);
    retryConfig.set(target, { retries: num(props(r).MaximumRetryAttempts, 2), maxAgeSeconds: num(props(r).MaximumEventAgeInSeconds, 21_600), onFailureQueue: isQueue ? onFailureQueue : undefined });
  }

  const functions: FunctionDef[] = byType('AWS::Lambda::Function').map(([logicalId, r]) => {
    const p = props(r);
    const handler = str(p.Handler);
    if (!handler) throw new LocalRuntimeError('a function without a Handler cannot run locally', { where: `${logicalId}.Properties.Handler` });
    const functionName = nameOf(p.FunctionName, `${logicalId}.Properties.FunctionName`) ?? `${stackName}-${logicalId}`;
    const stateKey = Object.entries(stateFunctions).find(([, f]) => f.name === functionName)?.[0];
    const prefix = `${serviceName}-${stage}-`;
    const key = stateKey ?? (functionName.startsWith(prefix) ? functionName.slice(prefix.length) : logicalId);
    const env = isObject(p.Environment) && isObject(p.Environment.Variables) ? p.Environment.Variables : {};
    return {
      logicalId,
      key,
      functionName,
      handler,
      timeoutSeconds: num(p.Timeout, 3),
      memoryMb: num(p.MemorySize, 128),
      runtime: str(p.Runtime) ?? 'nodejs22.x',
      environment: env,
      maximumRetryAttempts: retryConfig.get(logicalId)?.retries ?? 2,
      maximumEventAgeSeconds: retryConfig.get(logicalId)?.maxAgeSeconds ?? 21_600,
      onFailureQueue: retryConfig.get(logicalId)?.onFailureQueue,
      reservedConcurrency: p.ReservedConcurrentExecutions === undefined ? undefined : num(p.ReservedConcurrentExecutions, 0),
    };
  });
  const functionIds = new Set(functions.map((f) => f.logicalId));
  const targetFunction = (value: unknown, where: string): string => {
    const id = referencedLogicalId(value);
    if (!id || !functionIds.has(id)) throw new LocalRuntimeError(`target ${JSON.stringify(value)} is not a function of this template`, { where });
    return id;
  };

  const queues: QueueDef[] = byType('AWS::SQS::Queue').map(([logicalId, r]) => {
    const p = props(r);
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const name = nameOf(p.QueueName, `${logicalId}.Properties.QueueName`) ?? `${stackName}-${logicalId}${fifo ? '.fifo' : ''}`;
    let redrive = p.RedrivePolicy;
    if (typeof redrive === 'string') redrive = JSON.parse(redrive) as unknown;
    const deadLetterLogicalId = isObject(redrive) ? referencedLogicalId(redrive.deadLetterTargetArn) : undefined;
    return { logicalId, name, fifo, properties: p, deadLetterLogicalId };
  });

  const tables: TableDef[] = byType('AWS::DynamoDB::Table').map(([logicalId, r]) => ({
    logicalId,
    name: nameOf(props(r).TableName, `${logicalId}.Properties.TableName`) ?? `${stackName}-${logicalId}`,
    properties: props(r),
  }));

  const integrations = new Map(byType('AWS::ApiGatewayV2::Integration').map(([id, r]) => [id, props(r)] as const));
  const authorizers = new Map(byType('AWS::ApiGatewayV2::Authorizer').map(([id, r]) => [id, props(r)] as const));
  const jwtAuthorizerOf = (logicalId: string, p: Record<string, unknown>): JwtAuthorizerDef | undefined => {
    if (!p.AuthorizationType || p.AuthorizationType === 'NONE') return undefined;
    const authorizerId = referencedLogicalId(p.AuthorizerId);
    const a = authorizerId ? authorizers.get(authorizerId) : undefined;
    const jwt = a?.JwtConfiguration as { Issuer?: unknown; Audience?: unknown } | undefined;
    if (p.AuthorizationType !== 'JWT' || !a || str(a.AuthorizerType) !== 'JWT' || typeof jwt?.Issuer !== 'string' || !Array.isArray(jwt.Audience)) {
      // Never serve a protected route unprotected: refuse to start instead.
      throw new LocalRuntimeError(`authorizer ${String(p.AuthorizationType)} is not supported locally (only JWT authorizers with a literal Issuer and Audience)`, { where: `${logicalId}.Properties.AuthorizerId` });
    }
    return {
      logicalId: authorizerId!,
      issuer: jwt.Issuer,
      audience: jwt.Audience.map(String),
      identitySource: Array.isArray(a.IdentitySource) ? a.IdentitySource.map(String) : ['$request.header.Authorization'],
    };
  };
  const routes: RouteDef[] = byType('AWS::ApiGatewayV2::Route').map(([logicalId, r]) => {
    const p = props(r);
    const routeKey = str(p.RouteKey);
    if (!routeKey) throw new LocalRuntimeError('route without RouteKey', { where: `${logicalId}.Properties.RouteKey` });
    const integrationId = referencedLogicalId(p.Target);
    const integration = integrationId ? integrations.get(integrationId) : undefined;
    if (!integration) throw new LocalRuntimeError('route target is not an integration of this template', { where: `${logicalId}.Properties.Target` });
    if (str(integration.IntegrationType) !== 'AWS_PROXY') {
      throw new LocalRuntimeError(`integration type ${String(integration.IntegrationType)} is not supported locally (only Lambda proxy)`, { where: `${integrationId}` });
    }
    const jwtAuthorizer = jwtAuthorizerOf(logicalId, p);
    const [method, ...rest] = routeKey === '$default' ? ['ANY', '$default'] : routeKey.split(' ');
    return {
      logicalId,
      routeKey,
      method: (method ?? 'ANY').toUpperCase(),
      path: rest.join(' ') || '/',
      functionLogicalId: targetFunction(integration.IntegrationUri, `${integrationId}.Properties.IntegrationUri`),
      payloadVersion: str(integration.PayloadFormatVersion) ?? '2.0',
      ...(jwtAuthorizer ? { jwtAuthorizer } : {}),
    };
  });

  const queueIds = new Set(queues.map((q) => q.logicalId));
  const eventSourceMappings: EventSourceMappingDef[] = [];
  for (const [logicalId, r] of byType('AWS::Lambda::EventSourceMapping')) {
    const p = props(r);
    const queueLogicalId = referencedLogicalId(p.EventSourceArn);
    if (!queueLogicalId || !queueIds.has(queueLogicalId)) {
      warnings.push(`${logicalId}: event source ${JSON.stringify(p.EventSourceArn)} is not an SQS queue of this template; not driven locally`);
      continue;
    }
    if (p.FilterCriteria !== undefined) {
      throw new LocalRuntimeError('FilterCriteria is not supported by the local runtime', { where: `${logicalId}.Properties.FilterCriteria` });
    }
    const types = Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes : [];
    const scaling = isObject(p.ScalingConfig) ? p.ScalingConfig : {};
    eventSourceMappings.push({
      logicalId,
      functionLogicalId: targetFunction(p.FunctionName, `${logicalId}.Properties.FunctionName`),
      queueLogicalId,
      batchSize: num(p.BatchSize, 10),
      maximumBatchingWindowInSeconds: num(p.MaximumBatchingWindowInSeconds, 0),
      reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
      enabled: p.Enabled !== false && p.Enabled !== 'false',
      maximumConcurrency: scaling.MaximumConcurrency === undefined ? undefined : num(scaling.MaximumConcurrency, 2),
    });
  }

  const schedules: ScheduleDef[] = [];
  for (const [logicalId, r] of byType('AWS::Events::Rule')) {
    const p = props(r);
    const expression = str(p.ScheduleExpression);
    if (!expression) { warnings.push(`${logicalId}: event-pattern rules are not driven locally`); continue; }
    const targets = Array.isArray(p.Targets) ? p.Targets.filter(isObject) : [];
    targets.forEach((target, i) => {
      const where = `${logicalId}.Properties.Targets[${i}]`;
      if (target.InputPath !== undefined || target.InputTransformer !== undefined) {
        throw new LocalRuntimeError('InputPath/InputTransformer are not supported locally; use Input', { where });
      }
      schedules.push({
        logicalId: targets.length > 1 ? `${logicalId}#${i}` : logicalId,
        kind: 'events-rule',
        expression,
        timezone: undefined,
        enabled: (str(p.State) ?? 'ENABLED') === 'ENABLED',
        functionLogicalId: targetFunction(target.Arn, `${where}.Arn`),
        input: str(target.Input),
      });
    });
  }
  for (const [logicalId, r] of byType('AWS::Scheduler::Schedule')) {
    const p = props(r);
    const target = isObject(p.Target) ? p.Target : {};
    schedules.push({
      logicalId,
      kind: 'scheduler',
      expression: str(p.ScheduleExpression) ?? '',
      timezone: str(p.ScheduleExpressionTimezone),
      enabled: (str(p.State) ?? 'ENABLED') === 'ENABLED',
      functionLogicalId: targetFunction(target.Arn, `${logicalId}.Properties.Target.Arn`),
      input: str(target.Input),
    });
  }

  for (const [id, r] of byType('AWS::DynamoDB::Table')) {
    if (props(r).StreamSpecification !== undefined) warnings.push(`${id}: DynamoDB streams are not emulated locally`);
  }
  const httpApis = byType('AWS::ApiGatewayV2::Api').map(([id]) => id);
  const resourceTypes = Object.fromEntries(Object.entries(resources).map(([id, r]) => [id, r.Type]));
  return { serviceName, stage, region, stackName, functions, queues, tables, routes, eventSourceMappings, schedules, httpApis, resourceTypes, warnings };
}

/** What a Ref or Fn::GetAtt of a local resource resolves to. */
export interface LocalResolver {
  region: string;
  accountId: string;
  stackName: string;
  /** Ref of a logical id, or undefined when it is not a resource the runtime knows. */
  ref(logicalId: string): string | undefined;
  /** Fn::GetAtt, or undefined when unknown. */
  getAtt(logicalId: string, attribute: string): string | undefined;
}

function pseudo(name: string, ctx: LocalResolver): string | undefined {
  switch (name) {
    case 'AWS::Region': return ctx.region;
    case 'AWS::AccountId': return ctx.accountId;
    case 'AWS::Partition': return 'aws';
    case 'AWS::URLSuffix': return 'amazonaws.com';
    case 'AWS::StackName': return ctx.stackName;
    case 'AWS::StackId': return `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/local`;
    default: return undefined;
  }
}

function resolveRef(name: string, ctx: LocalResolver, where: string): string {
  const value = pseudo(name, ctx) ?? ctx.ref(name);
  if (value === undefined) throw new LocalRuntimeError(`cannot resolve Ref ${name} locally`, { where });
  return value;
}

function resolveGetAtt(id: string, attribute: string, ctx: LocalResolver, where: string): string {
  const value = ctx.getAtt(id, attribute);
  if (value === undefined) throw new LocalRuntimeError(`cannot resolve Fn::GetAtt ${id}.${attribute} locally`, { where });
  return value;
}

/** Sentinel for AWS::NoValue: the property is removed. */
export const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves the intrinsics in `value` against the local resources. Supported: Ref (resources and
 * pseudo parameters, AWS::NoValue), Fn::GetAtt, Fn::Join, Fn::Sub (both forms), Fn::Select, Fn::Split,
 * Fn::Base64. Anything else (Fn::ImportValue, Fn::If, ...) throws with the template path.
 */
export function resolveIntrinsics(value: unknown, ctx: LocalResolver, where: string): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => resolveIntrinsics(v, ctx, `${where}[${i}]`)).filter((v) => v !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  const key = keys[0];
  if (keys.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
    const arg = value[key];
    const at = `${where}.${key}`;
    switch (key) {
      case 'Ref':
        if (arg === 'AWS::NoValue') return NO_VALUE;
        return resolveRef(String(arg), ctx, at);
      case 'Fn::GetAtt': {
        const [id, ...attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return resolveGetAtt(id ?? '', attr.join('.'), ctx, at);
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2) throw new LocalRuntimeError('Fn::Join needs [delimiter, [values]]', { where: at });
        const parts = resolveIntrinsics(arg[1], ctx, `${at}[1]`);
        if (!Array.isArray(parts)) throw new LocalRuntimeError('Fn::Join values must be a list', { where: at });
        return parts.map((p) => String(p)).join(String(arg[0]));
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? [String(arg[0]), isObject(arg[1]) ? arg[1] : {}] : [String(arg), {}];
        const localVars = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolveIntrinsics(v, ctx, `${at}[1].${k}`)]));
        return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
          if (bang) return `\${${name}}`;
          if (name in localVars) return String(localVars[name]);
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::')) return resolveGetAtt(name.slice(0, dot), name.slice(dot + 1), ctx, at);
          return resolveRef(name, ctx, at);
        });
      }
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) throw new LocalRuntimeError('Fn::Select needs [index, list]', { where: at });
        const list = resolveIntrinsics(arg[1], ctx, `${at}[1]`);
        const index = Number(resolveIntrinsics(arg[0], ctx, `${at}[0]`));
        if (!Array.isArray(list) || !(index in list)) throw new LocalRuntimeError(`index ${index} out of range`, { where: at });
        return list[index];
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2) throw new LocalRuntimeError('Fn::Split needs [delimiter, string]', { where: at });
        return String(resolveIntrinsics(arg[1], ctx, `${at}[1]`)).split(String(arg[0]));
      }
      case 'Fn::Base64':
        return Buffer.from(String(resolveIntrinsics(arg, ctx, at)), 'utf8').toString('base64');
      default:
        throw new LocalRuntimeError(`${key} is not supported by the local runtime`, { where: at });
    }
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    const resolved = resolveIntrinsics(v, ctx, `${where}.${k}`);
    if (resolved !== NO_VALUE) out[k] = resolved;
  }
  return out;
}
