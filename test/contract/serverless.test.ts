import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Config } from '../../lib/config';
import { QUEUE_CONSUMERS, QUEUE_LOGICAL_IDS } from '../../lib/wiring/topology';
import { parsePlanFile, scheduleEventOf } from '../../lib/plans/plans';
import { renderSchedules, spliceSchedules } from '../../lib/plans/sync';
import { QUEUE_NAMES } from '../../lib/ports';
import { RUNS_TABLE_SCHEMA, TTL_ATTRIBUTE } from '../../lib/store/dynamodb/table';

const root = join(import.meta.dirname, '../..');
const text = readFileSync(join(root, 'serverless.yml'), 'utf8');
const plansText = readFileSync(join(root, 'plans/plans.yml'), 'utf8');
type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form YAML document
const sls = parse(text) as Yaml;
const fns = sls.functions as Record<string, { handler: string; events: Yaml[] }>;
const resources = sls.resources.Resources as Record<string, Yaml>;

describe('serverless.yml agrees with the code', () => {
  it('plan schedules are exactly what plans/plans.yml generates (no drift)', () => {
    expect(spliceSchedules(text, renderSchedules(plansText))).toBe(text);
    const { plans } = parsePlanFile(parse(plansText));
    const schedules = fns['start-run']!.events.filter((e) => e.schedule).map((e) => e);
    expect(schedules).toEqual(plans.map((p) => JSON.parse(JSON.stringify(scheduleEventOf(p, sls.service)))));
    for (const s of schedules) expect(s.schedule).toMatchObject({ method: 'scheduler', timezone: expect.any(String) });
  });

  it('every function has a handler file and the events of the topology', () => {
    for (const [name, fn] of Object.entries(fns)) {
      expect(fn.handler).toBe(`functions/${name}.handler`);
      expect(existsSync(join(root, `functions/${name}.ts`)), name).toBe(true);
    }
    expect(fns['start-run']!.events).toEqual(expect.arrayContaining([{ httpApi: { method: 'POST', path: '/runs' } }]));
    expect(fns['get-run']!.events).toEqual([
      { httpApi: { method: 'GET', path: '/runs/{id}', authorizer: { name: 'runsReader' } } },
      { httpApi: { method: 'GET', path: '/runs', authorizer: { name: 'runsReader' } } },
    ]);
    expect(fns['check-status']!.events).toEqual([{ schedule: expect.objectContaining({ rate: 'rate(1 minute)' }) }]);
    for (const queue of QUEUE_NAMES) {
      const consumers = Object.entries(fns).filter(([, fn]) => fn.events.some((e) => e.sqs?.arn?.['Fn::GetAtt']?.[0] === QUEUE_LOGICAL_IDS[queue]));
      expect(consumers.map(([n]) => n), queue).toEqual(QUEUE_CONSUMERS[queue] ? [QUEUE_CONSUMERS[queue]] : []);
      for (const [, fn] of consumers) {
        const sqs = fn.events.find((e) => e.sqs)!.sqs;
        expect(sqs).toMatchObject({ batchSize: 10, functionResponseType: 'ReportBatchItemFailures' });
      }
    }
  });

  it('every GET route is behind the JWT authorizer, whose issuer and audience are configuration', () => {
    const routes = Object.values(fns).flatMap((fn) => fn.events.filter((e) => e.httpApi).map((e) => e.httpApi as Yaml));
    const gets = routes.filter((r) => r.method === 'GET');
    expect(gets.length).toBeGreaterThanOrEqual(2);
    for (const r of gets) expect(r.authorizer, `GET ${r.path}`).toEqual({ name: 'runsReader' });
    // POST /runs is authenticated by its Standard Webhooks signature in the function instead.
    expect(routes.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual(['POST /runs']);
    expect(sls.provider.httpApi.authorizers.runsReader).toEqual({
      type: 'jwt', identitySource: '$request.header.Authorization', issuerUrl: '${param:jwtIssuerUrl}', audience: ['${param:jwtAudience}'],
    });
    expect(sls.params.default.jwtIssuerUrl).toMatch(/^\$\{env:CBR_FLOW_JWT_ISSUER, 'https:\/\/[^']+\.invalid\//);
    expect(sls.params.local.jwtIssuerUrl).toMatch(/^https:\/\//);
  });

  it('every queue has a DLQ with the redrive count the handlers use', () => {
    expect(sls.provider.environment.MAX_RECEIVE_COUNT).toBe('${self:custom.maxReceiveCount}');
    for (const queue of QUEUE_NAMES) {
      const id = QUEUE_LOGICAL_IDS[queue];
      const q = resources[id]!;
      expect(q.Type).toBe('AWS::SQS::Queue');
      expect(q.Properties.QueueName).toBe(`\${self:service}-\${sls:stage}-${queue}`);
      expect(q.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [id.replace('Queue', 'DLQ'), 'Arn'] }, maxReceiveCount: '${self:custom.maxReceiveCount}' });
      expect(resources[id.replace('Queue', 'DLQ')]!.Type).toBe('AWS::SQS::Queue');
      expect(sls.params.local[`${queue}QueueUrl`]).toBe(`http://127.0.0.1:9324/000000000000/cbr-flow-local-${queue}`);
      expect(sls.params.default[`${queue}QueueUrl`]).toEqual({ Ref: id });
    }
  });

  it('the table matches the store adapter (keys, both GSIs, TTL attribute)', () => {
    const t = resources.RunsTable!.Properties;
    expect(t.TableName).toBe('${self:service}-${sls:stage}-runs');
    expect(sls.provider.environment.TABLE_NAME).toBe(t.TableName);
    expect({ BillingMode: t.BillingMode, AttributeDefinitions: t.AttributeDefinitions, KeySchema: t.KeySchema, GlobalSecondaryIndexes: t.GlobalSecondaryIndexes }).toEqual(RUNS_TABLE_SCHEMA);
    expect(t.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
  });

  it('environment variables are exactly ones the config schema reads; no CloudFormation intrinsics in the local stage', () => {
    const known = Object.keys(Config.shape);
    for (const key of Object.keys(sls.provider.environment)) {
      if (key === 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') continue;
      expect(known, key).toContain(key);
    }
    for (const [key, value] of Object.entries(sls.params.local)) expect(typeof value, key).toBe('string');
    expect(sls.provider.environment.CBR_CREDENTIALS_JSON).toBeUndefined();
  });

  it('IAM is least privilege: no wildcard actions, every resource scoped', () => {
    const statements = sls.provider.iam.role.statements as Yaml[];
    for (const s of statements) {
      for (const a of s.Action as string[]) expect(a).toMatch(/^[a-z0-9]+:[A-Za-z]+$/);
      expect(s.Resource).not.toContain('*');
    }
    expect(sls.provider).toMatchObject({ runtime: 'nodejs22.x', architecture: 'arm64' });
    expect(sls.custom.esbuild).toMatchObject({ format: 'cjs', outputFileExtension: '.cjs', exclude: ['@aws-sdk/*'] });
  });
});
