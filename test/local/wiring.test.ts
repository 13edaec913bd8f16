/**
 * The pure parts of the local runtime: CloudFormation intrinsics, schedule expressions, API Gateway
 * route priority and the ReportBatchItemFailures rules. No servers, no packaging.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntimeError } from '../../local/errors';
import { buildHttpEvent, matchRoute, toHttpResponse } from '../../local/http-api';
import { parseScheduleExpression } from '../../local/schedule';
import { interpretBatchResponse } from '../../local/sqs-driver';
import { buildServiceModel, createdResources, resolveIntrinsics, type LocalResolver } from '../../local/template';
import type { RouteDef } from '../../local/template';

const resolver: LocalResolver = {
  region: 'eu-west-1',
  accountId: '000000000000',
  stackName: 'svc-local',
  ref: (id) => ({ Queue: 'http://127.0.0.1:1/000000000000/q', Table: 'tbl' } as Record<string, string>)[id],
  getAtt: (id, attr) => (id === 'Queue' && attr === 'Arn' ? 'arn:aws:sqs:eu-west-1:000000000000:q' : undefined),
};

describe('CloudFormation intrinsics', () => {
  it('resolves Sub (with ${!Literal}, GetAtt and its own variables), Join, Select, Split and NoValue', () => {
    expect(resolveIntrinsics({ 'Fn::Sub': '${AWS::StackName}/${Queue.Arn}/${!Keep}/${Table}' }, resolver, 'x')).toBe('svc-local/arn:aws:sqs:eu-west-1:000000000000:q/${Keep}/tbl');
    expect(resolveIntrinsics({ 'Fn::Sub': ['${A}-${AWS::Region}', { A: { Ref: 'Table' } }] }, resolver, 'x')).toBe('tbl-eu-west-1');
    expect(resolveIntrinsics({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, resolver, 'x')).toBe('b');
    expect(resolveIntrinsics({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x']] }, resolver, 'x')).toBe('arn:aws:x');
    expect(resolveIntrinsics({ A: { Ref: 'AWS::NoValue' }, B: 1 }, resolver, 'x')).toEqual({ B: 1 });
  });

  it('names the template path of what it cannot resolve', () => {
    expect(() => resolveIntrinsics({ V: { 'Fn::ImportValue': 'other-stack-x' } }, resolver, 'Fn.Environment')).toThrow(/Fn\.Environment\.V\.Fn::ImportValue: Fn::ImportValue is not supported/);
    expect(() => resolveIntrinsics({ Ref: 'Bucket' }, resolver, 'Env.B')).toThrow(/Env\.B\.Ref: cannot resolve Ref Bucket locally/);
    expect(() => resolveIntrinsics({ 'Fn::GetAtt': ['Table', 'StreamArn'] }, resolver, 'E')).toThrow(LocalRuntimeError);
  });

  it('refuses SQS filter criteria instead of silently ignoring them', () => {
    const template = {
      Resources: {
        Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'q' } },
        FnLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'functions/fn.handler', FunctionName: 'svc-local-fn', Code: { S3Key: 'serverless/svc/local/1/svc.zip' } } },
        M: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { EventSourceArn: { 'Fn::GetAtt': ['Q', 'Arn'] }, FunctionName: { 'Fn::GetAtt': ['FnLambdaFunction', 'Arn'] }, FilterCriteria: { Filters: [] } } },
      },
    };
    expect(() => buildServiceModel(template, {}, 'local')).toThrow(/M\.Properties\.FilterCriteria: FilterCriteria is not supported/);
    delete (template.Resources.M.Properties as Record<string, unknown>).FilterCriteria;
    const model = buildServiceModel(template, {}, 'local');
    expect(model.stage).toBe('local');
    expect(model.functions[0]).toMatchObject({ key: 'fn', timeoutSeconds: 3, maximumRetryAttempts: 2 });
    expect(model.eventSourceMappings[0]).toMatchObject({ queueLogicalId: 'Q', batchSize: 10, maximumBatchingWindowInSeconds: 0, reportBatchItemFailures: false, enabled: true });
  });

  it('creates only the resources whose Condition holds for the packaged stage, as CloudFormation does', () => {
    const template = {
      Conditions: {
        InProd: { 'Fn::Equals': [{ Ref: 'AWS::StackName' }, 'svc-prod'] },
        InLocalOrProd: { 'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'AWS::StackName' }, 'svc-local'] }, { Condition: 'InProd' }] },
        NotProd: { 'Fn::Not': [{ Condition: 'InProd' }] },
      },
      Resources: {
        A: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'a' } },
        B: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'b' }, Condition: 'InProd' },
        C: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'c' }, Condition: 'InLocalOrProd' },
        D: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'd' }, Condition: 'NotProd' },
      },
    };
    const pseudo: LocalResolver = { ...resolver, stackName: 'svc-local' };
    expect(Object.keys(createdResources(template, pseudo))).toEqual(['A', 'C', 'D']);
    expect(buildServiceModel(template, { service: { service: 'svc' } }, 'local').queues.map((q) => q.logicalId)).toEqual(['A', 'C', 'D']);
    expect(Object.keys(createdResources(template, { ...resolver, stackName: 'svc-prod' }))).toEqual(['A', 'B', 'C']);
    expect(() => createdResources({ ...template, Resources: { X: { Type: 'AWS::SQS::Queue', Condition: 'Nope' } } }, pseudo)).toThrow(/Resources\.X\.Condition: unknown condition 'Nope'/);
    expect(() => createdResources({ Conditions: { R: { 'Fn::Equals': [{ 'Fn::GetAZs': '' }, 'prod'] } }, Resources: { X: { Type: 'AWS::SQS::Queue', Condition: 'R' } } }, pseudo)).toThrow(/Conditions\.R\.Fn::Equals\[0\]/);
  });
});

describe('schedule expressions', () => {
  it('accepts rate() the way AWS does', () => {
    expect(parseScheduleExpression('rate(1 minute)', undefined, 's')).toEqual({ kind: 'rate', everyMs: 60_000 });
    expect(parseScheduleExpression('rate(2 hours)', undefined, 's')).toEqual({ kind: 'rate', everyMs: 7_200_000 });
    expect(() => parseScheduleExpression('rate(1 minutes)', undefined, 'Rule1')).toThrow(/Rule1: rate\(1 minutes\): use "1 minute"/);
    expect(() => parseScheduleExpression('rate(5 minute)', undefined, 's')).toThrow(/use "1 minute" or "N minutes"/);
    expect(() => parseScheduleExpression('every minute', undefined, 's')).toThrow(/not a schedule expression/);
  });

  it('translates AWS cron (day-of-week 1-7 = SUN-SAT, ?, year) with a time zone', () => {
    const after = new Date('2026-11-20T00:00:00Z'); // a Friday
    const weekdays = parseScheduleExpression('cron(0 10 ? * 2-6 *)', undefined, 's');
    if (weekdays.kind === 'rate') throw new Error('expected cron');
    const next = weekdays.next(after)!;
    expect(next.toISOString()).toBe('2026-11-20T10:00:00.000Z'); // 2-6 = MON-FRI, so Friday itself
    expect(weekdays.next(next)!.toISOString()).toBe('2026-11-23T10:00:00.000Z'); // then Monday
    const shanghai = parseScheduleExpression('cron(30 2 * * ? *)', 'Asia/Shanghai', 's');
    if (shanghai.kind === 'rate') throw new Error('expected cron');
    expect(shanghai.next(after)!.toISOString()).toBe('2026-11-20T18:30:00.000Z');
    const onlyIn2030 = parseScheduleExpression('cron(0 0 1 1 ? 2030)', undefined, 's');
    if (onlyIn2030.kind === 'rate') throw new Error('expected cron');
    expect(onlyIn2030.next(after)!.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(() => parseScheduleExpression('cron(0 10 * * 2 *)', undefined, 'R')).toThrow(/one of day-of-month and day-of-week must be "\?"/);
    expect(() => parseScheduleExpression('cron(0 10 * *)', undefined, 'R')).toThrow(/needs 6 fields/);
  });

  it('fires a one-time at() once, in its time zone', () => {
    const at = parseScheduleExpression('at(2026-12-01T08:00:00)', 'Asia/Shanghai', 's');
    if (at.kind === 'rate') throw new Error('expected at');
    expect(at.next(new Date('2026-11-22T00:00:00Z'))!.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(at.next(new Date('2026-12-02T00:00:00Z'))).toBeUndefined();
  });
});

describe('HTTP API routing and payload 2.0', () => {
  const route = (routeKey: string, fn = routeKey): RouteDef => {
    const [method, path] = routeKey === '$default' ? ['ANY', '$default'] : routeKey.split(' ') as [string, string];
    return { logicalId: routeKey, routeKey, method, path, functionLogicalId: fn, payloadVersion: '2.0' };
  };
  const routes = [route('GET /runs/{id}'), route('GET /runs/latest'), route('ANY /runs/{id}'), route('GET /files/{proxy+}'), route('$default')];

  it('prefers the method over ANY, literal segments over variables, and falls back to $default', () => {
    expect(matchRoute(routes, 'GET', '/runs/latest')?.route.routeKey).toBe('GET /runs/latest');
    expect(matchRoute(routes, 'GET', '/runs/abc')).toMatchObject({ route: { routeKey: 'GET /runs/{id}' }, params: { id: 'abc' } });
    expect(matchRoute(routes, 'DELETE', '/runs/abc')?.route.routeKey).toBe('ANY /runs/{id}');
    expect(matchRoute(routes, 'GET', '/files/a/b/c')).toMatchObject({ params: { proxy: 'a/b/c' } });
    expect(matchRoute(routes, 'POST', '/other')?.route.routeKey).toBe('$default');
    expect(matchRoute(routes.slice(0, 4), 'POST', '/other')).toBeUndefined();
  });

  it('maps results the way API Gateway does for payload 2.0', () => {
    expect(toHttpResponse({ ok: true })).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(toHttpResponse({ ok: true }).body.toString()).toBe('{"ok":true}');
    const r = toHttpResponse({ statusCode: 201, headers: { 'X-A': 'b' }, body: Buffer.from('hi').toString('base64'), isBase64Encoded: true, cookies: ['k=v'] });
    expect(r).toMatchObject({ statusCode: 201, headers: { 'x-a': 'b' }, cookies: ['k=v'] });
    expect(r.body.toString()).toBe('hi');
  });

  it('omits pathParameters, queryStringParameters, cookies and body when the request has none', () => {
    const event = buildHttpEvent(
      { method: 'GET', url: '/runs', headers: { host: 'x', 'user-agent': 'ua' }, body: Buffer.alloc(0), sourceIp: '127.0.0.1' },
      { route: route('GET /runs'), params: {} },
      { apiId: 'local', accountId: '000000000000', host: '127.0.0.1:3000' },
    );
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('cookies');
    expect(event).not.toHaveProperty('body');
    expect(event).toMatchObject({ version: '2.0', rawQueryString: '', isBase64Encoded: false, requestContext: { http: { method: 'GET', userAgent: 'ua' }, stage: '$default' } });
  });
});

describe('ReportBatchItemFailures', () => {
  const ids = new Set(['m1', 'm2']);
  it('treats empty and null responses as success and lists only the named failures', () => {
    expect(interpretBatchResponse(undefined, ids)).toEqual({ kind: 'all-succeeded' });
    expect(interpretBatchResponse({ batchItemFailures: [] }, ids)).toEqual({ kind: 'all-succeeded' });
    expect(interpretBatchResponse({ batchItemFailures: null }, ids)).toEqual({ kind: 'all-succeeded' });
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual({ kind: 'partial', failed: new Set(['m2']) });
  });

  it('fails the whole batch for an empty, null or unknown itemIdentifier, as AWS documents', () => {
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: '' }] }, ids).kind).toBe('all-failed');
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: null }] }, ids).kind).toBe('all-failed');
    expect(interpretBatchResponse({ batchItemFailures: [{ id: 'm1' }] }, ids).kind).toBe('all-failed');
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm9' }] }, ids).kind).toBe('all-failed');
  });
});
