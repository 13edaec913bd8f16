import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Config } from '../../lib/config';
import { QUEUE_CONSUMERS, QUEUE_LOGICAL_IDS } from '../../lib/wiring/topology';
import { deployedPlans, parsePlanFile, scheduleEventOf, stageConditionName } from '../../lib/plans/plans';
import { planScheduleLogicalId, syncPlans } from '../../lib/plans/sync';
import { QUEUE_NAMES } from '../../lib/ports';
import { RUNS_TABLE_SCHEMA, TTL_ATTRIBUTE } from '../../lib/store/dynamodb/table';
import { resolveRateLimitSettings } from '../../lib/cbr/rate-limit';

const root = join(import.meta.dirname, '../..');
const text = readFileSync(join(root, 'serverless.yml'), 'utf8');
const plansText = readFileSync(join(root, 'plans/plans.yml'), 'utf8');
type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form YAML document
const sls = parse(text) as Yaml;
const fns = sls.functions as Record<string, { handler: string; events: Yaml[]; timeout?: number }>;
const resources = sls.resources.Resources as Record<string, Yaml>;
/** `${self:custom.x}` -> the custom value (the only variable form these settings use). */
const custom = (v: unknown): unknown => (typeof v === 'string' && /^\$\{self:custom\.(\w+)\}$/.test(v) ? sls.custom[v.slice(14, -1)] : v);
/** Functions that call CBR: their handler imports the CBR wiring (directly, or the retention wiring built on it). */
const cbrCalling = Object.keys(fns).filter((name) => /wiring\/runtime-(cbr|retention)'/.test(readFileSync(join(root, `functions/${name}.ts`), 'utf8')));

describe('serverless.yml agrees with the code', () => {
  it('plan schedules, stage conditions and their attachment are exactly what plans/plans.yml generates (no drift)', () => {
    expect(syncPlans(text, plansText)).toBe(text);
    const plans = deployedPlans(parsePlanFile(parse(plansText)).plans);
    const schedules = fns['start-run']!.events.filter((e) => e.schedule).map((e) => e);
    expect(schedules).toEqual(plans.map((p) => JSON.parse(JSON.stringify(scheduleEventOf(p, sls.service)))));
    for (const s of schedules) expect(s.schedule).toMatchObject({ method: 'scheduler', timezone: expect.any(String) });
    plans.forEach((p, i) => expect(sls.resources.extensions[planScheduleLogicalId(i + 1)]).toEqual({ Condition: stageConditionName(p) }));
  });

  it('the sample plans are deployed to no stage; a plan with stages gets a schedule only where its condition holds', () => {
    expect(parsePlanFile(parse(plansText)).plans.map((p) => p.stages)).toEqual([[], [], []]);
    expect(deployedPlans(parsePlanFile(parse(plansText)).plans)).toEqual([]);
    const prodOnly = plansText.replace('# stages: [prod]', 'stages: [prod, staging]');
    const synced = parse(syncPlans(text, prodOnly)) as Yaml;
    expect(synced.functions['start-run'].events.filter((e: Yaml) => e.schedule).map((e: Yaml) => e.schedule.input.plan)).toEqual(['nightly-web-servers']);
    expect(synced.resources.Conditions).toEqual({
      PlanNightlyWebServersStages: { 'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'AWS::StackName' }, 'cbr-flow-prod'] }, { 'Fn::Equals': [{ Ref: 'AWS::StackName' }, 'cbr-flow-staging'] }] },
    });
    expect(synced.resources.extensions.StartDashrunSchedulerSchedule1).toEqual({ Condition: 'PlanNightlyWebServersStages' });
    expect(synced.resources.extensions.HttpApiStage).toEqual(sls.resources.extensions.HttpApiStage);
    // The coverage function learns the deployed plan's resources, RPO (derived: 24 h + 240 min window) and shares.
    expect(sls.functions.coverage.environment.COVERAGE_PLANS).toBeUndefined();
    expect(JSON.parse(synced.functions.coverage.environment.COVERAGE_PLANS)).toEqual([{
      name: 'nightly-web-servers', projectId: '0605767b5780d5762fc5c0118072a564', region: 'ap-southeast-1',
      resourceIds: ['e8cc6bfd-d324-4b88-9109-9fb0ba70676f', '97595625-198e-4e4d-879b-9d53f68ba551'], rpoHours: 28,
      shareWith: ['1a2b3c4d5e6f708192a3b4c5d6e7f801'], stages: ['prod', 'staging'],
      cron: '0 2 * * *', timezone: 'Asia/Shanghai', enabled: true,
    }]);
  });

  it("a deployed plan's drill: refused at sync unless its target is a declared drill target of the stage; then a schedule on the restores function in the plan's stages only", () => {
    // The sample drill (plan prod-web-by-tag) restores onto ecs-app-01, declared on the local stage only.
    const drillProd = plansText.replace(/(name: prod-web-by-tag[\s\S]*?)# stages: \[prod\]/, '$1stages: [prod]');
    expect(drillProd).not.toBe(plansText);
    expect(() => syncPlans(text, drillProd)).toThrow(expect.objectContaining({ field: 'plans.yml.plans[2].drills[0].target' }));
    const declared = text.replace("    drillTargets: ''\n", "    drillTargets: 7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d\n");
    expect(declared).not.toBe(text);
    const synced = parse(syncPlans(declared, drillProd)) as Yaml;
    expect(synced.functions.restores.events.filter((e: Yaml) => e.schedule).map((e: Yaml) => e.schedule.input)).toEqual([
      expect.objectContaining({ source: 'cbr-flow.drill', plan: 'prod-web-by-tag', drill: 'web-1-weekly', target: '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d', scheduledTime: '<aws.scheduler.scheduled-time>' }),
    ]);
    expect(synced.resources.extensions.RestoresSchedulerSchedule1).toEqual({ Condition: 'PlanProdWebByTagStages' });
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
    // The one exception: GET /, the dashboard's static shell (no data; a browser navigating cannot send a
    // bearer token). Its data come from GET /dashboard/data and GET /coverage, behind the authorizer.
    expect(gets.filter((r) => r.authorizer === undefined)).toEqual([{ method: 'GET', path: '/' }]);
    for (const r of gets.filter((g) => g.path !== '/')) expect(r.authorizer, `GET ${r.path}`).toEqual({ name: 'runsReader' });
    // POST /runs is authenticated by its Standard Webhooks signature in the function instead; the run
    // actions (cancel, retry) and the freshness gate are writes behind the same JWT authorizer.
    expect(routes.filter((r) => r.method !== 'GET' && r.authorizer === undefined).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /runs']);
    const actions = routes.filter((r) => r.method === 'POST' && r.path !== '/runs');
    expect(actions.map((r) => r.path).sort()).toEqual(['/gates/fresh-backup', '/holds', '/restores', '/runs/{id}/cancel', '/runs/{id}/retry']);
    for (const r of actions) expect(r.authorizer, `POST ${r.path}`).toEqual({ name: 'runsReader' });
    // The operator's vault clean-up and a hold's release are writes behind the same authorizer.
    expect(routes.filter((r) => r.method === 'DELETE')).toEqual([
      { method: 'DELETE', path: '/vaults/{vaultId}', authorizer: { name: 'runsReader' } },
      { method: 'DELETE', path: '/holds/{id}', authorizer: { name: 'runsReader' } },
    ]);
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

  it('the runs table and every DLQ survive stack removal and replacement; the table is deletion-protected with PITR', () => {
    const table = resources.RunsTable!;
    expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(table.Properties).toMatchObject({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    for (const queue of QUEUE_NAMES) {
      const dlq = resources[QUEUE_LOGICAL_IDS[queue].replace('Queue', 'DLQ')]!;
      expect(dlq, queue).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    // Every dead-letter target serverless.yml names: redrive targets, the schedule targets' DLQ, OnFailure destinations.
    const dlqs = new Set<string>([
      ...Object.values(resources).flatMap((r) => (r.Properties?.RedrivePolicy ? [r.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string] : [])),
      sls.custom.scheduleDlq.arn['Fn::GetAtt'][0] as string,
      ...Object.values(fns).flatMap((fn) => ((fn as Yaml).destinations?.onFailure ? [(fn as Yaml).destinations.onFailure.arn['Fn::GetAtt'][0] as string] : [])),
    ]);
    expect([...dlqs]).toContain('ScheduleDLQ');
    for (const id of dlqs) {
      expect(resources[id], id).toMatchObject({ Type: 'AWS::SQS::Queue', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { MessageRetentionPeriod: 1209600 } });
    }
  });

  it('no silently lost schedule: plan schedules and the checker retry, then dead-letter to the schedules DLQ, which plan-firing-failed drains', () => {
    expect(sls.plugins).toContain('./scripts/serverless-schedule-dlq.cjs');
    expect(sls.custom.scheduleDlq).toEqual({ arn: { 'Fn::GetAtt': ['ScheduleDLQ', 'Arn'] }, maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 });
    // The functions schedules invoke asynchronously: Lambda's retries, then the invocation record to the DLQ.
    for (const name of ['start-run', 'check-status']) {
      expect((fns[name] as Yaml).destinations, name).toEqual({ onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['ScheduleDLQ', 'Arn'] } } });
      expect((fns[name] as Yaml).maximumRetryAttempts, name).toBeGreaterThanOrEqual(1);
    }
    const consumers = Object.entries(fns).filter(([, fn]) => fn.events.some((e) => e.sqs?.arn?.['Fn::GetAtt']?.[0] === 'ScheduleDLQ'));
    expect(consumers.map(([n]) => n)).toEqual(['plan-firing-failed']);
    expect(consumers[0]![1].events[0]!.sqs).toMatchObject({ batchSize: 10, functionResponseType: 'ReportBatchItemFailures' });
    // The checker rule dead-letters with the queue's permission, for that rule only.
    const statement = resources.ScheduleDLQPolicy!.Properties.PolicyDocument.Statement[0];
    expect(statement).toMatchObject({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['CheckDashstatusEventsRuleSchedule1', 'Arn'] } } } });
  });

  it('reserved concurrency only on the operator APIs and the retention sweep; maximumConcurrency on every SQS mapping fits the per-project CBR rate with per-container buckets', () => {
    // The operator's CBR APIs (vaults, retention, restores) are HTTP-triggered: their containers are bounded by reserved concurrency.
    const operator = Object.keys(fns).filter((name) => /\boperator\w*Deps\b|\brestoreDeps\b/.test(readFileSync(join(root, `functions/${name}.ts`), 'utf8'))).sort();
    expect(operator).toEqual(['restores', 'retention', 'vaults']);
    // The retention sweep: one container (reserved concurrency 1; its lease keeps one sweep at a time).
    const sweep = 'retention-sweep';
    for (const [name, fn] of Object.entries(fns)) expect((fn as Yaml).reservedConcurrency, name).toBe(operator.includes(name) ? '${self:custom.operatorConcurrency}' : name === sweep ? 1 : undefined);
    expect(sls.custom.operatorConcurrency).toBe(1);
    expect(cbrCalling.sort()).toEqual(['add-resources', 'check-status', 'coverage', 'create-vault', 'restores', 'retention', 'retention-sweep', 'share-backup', 'start-checkpoint', 'vaults']);
    const R = Number(sls.custom.cbrProjectRps);
    const r = Number(custom(sls.provider.environment.CBR_RATE_LIMIT_RPS));
    const burst = Number(custom(sls.provider.environment.CBR_RATE_LIMIT_BURST));
    expect(r).toBe(sls.custom.cbrContainerRps);
    // The values the client's token bucket gets are ones it accepts (lib/cbr/rate-limit.ts).
    expect(resolveRateLimitSettings({ ratePerSecond: r, burst })).toMatchObject({ ratePerSecond: r, burst });
    const stepMappings = cbrCalling.filter((n) => n !== 'check-status' && n !== 'coverage' && n !== sweep && !operator.includes(n));
    const derived = Math.floor(R / r / (stepMappings.length + 1));
    expect(derived, 'cbrProjectRps too low for the SQS minimum of 2 per mapping: raise it or lower cbrContainerRps').toBeGreaterThanOrEqual(2);
    expect(sls.custom.cbrStepConcurrency).toBe(derived);
    let containers = 1 + operator.length * Number(sls.custom.operatorConcurrency); // the checker (one sweep at a time: sweep lease) + the operator API
    for (const [name, fn] of Object.entries(fns)) {
      for (const e of fn.events.filter((e) => e.sqs)) {
        const mc = Number(custom(e.sqs.maximumConcurrency));
        expect(mc, `${name} maximumConcurrency`).toBeGreaterThanOrEqual(2);
        expect(mc, `${name} maximumConcurrency`).toBeLessThanOrEqual(1000);
        if (cbrCalling.includes(name)) {
          expect(mc, name).toBe(derived);
          containers += mc;
        }
      }
    }
    expect(containers).toBe(1 + 4 * derived + operator.length);
    // The operator APIs (vaults, retention; restores at its own rate), the coverage function and the retention
    // sweep call CBR at their own, lower per-container rates (reservedConcurrency 1 each; coverage: one hourly
    // sweep, GET /coverage is rare; the retention sweep: one container).
    const rpsOf = (name: string) => Number(custom((fns[name] as Yaml).environment.CBR_RATE_LIMIT_RPS));
    const coverageRps = rpsOf('coverage');
    expect(coverageRps).toBe(sls.custom.coverageRps);
    const operatorRps = Number(sls.custom.operatorRps);
    for (const name of operator.filter((n) => n !== 'restores')) expect(rpsOf(name), name).toBe(operatorRps);
    const restoreRps = rpsOf('restores');
    expect(restoreRps).toBe(sls.custom.restoreRps);
    const restoreBurst = Number(custom((fns.restores as Yaml).environment.CBR_RATE_LIMIT_BURST));
    expect(resolveRateLimitSettings({ ratePerSecond: restoreRps, burst: restoreBurst })).toMatchObject({ ratePerSecond: restoreRps, burst: restoreBurst });
    // One restore's 4 calls (ShowBackup, ShowProtectable, ListProtectable, RestoreBackup) fit the burst.
    expect(restoreBurst).toBeGreaterThanOrEqual(4);
    const sweepRps = rpsOf(sweep);
    expect(sweepRps).toBe(sls.custom.retentionSweepRps);
    expect(sweepRps).toBeGreaterThanOrEqual(1);
    const oc = Number(sls.custom.operatorConcurrency);
    const total = (containers - operator.length * oc) * r + (operator.length - 1) * oc * operatorRps + oc * restoreRps + coverageRps + sweepRps;
    // Today (1 + 4 x 2) x 10 + 2 x 1 x 2 + 1 x 2 + 2 + 2 = 100 (the formula in serverless.yml's custom section).
    expect(total).toBeLessThanOrEqual(R);
    expect(total).toBe(100);
    expect(Number(sls.provider.environment.CHECK_LEASE_SECONDS)).toBeGreaterThan(fns['check-status']!.timeout!);
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

  it('HTTP API throttled and access-logged; explicit region; no version pile-up', () => {
    expect(sls.provider.region).toMatch(/^\$\{opt:region, '[a-z]{2}-[a-z]+-\d'\}$/);
    expect(sls.provider.versionFunctions).toBe(false);
    const format = JSON.parse(sls.provider.logs.httpApi.format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status', ip: '$context.identity.sourceIp' });
    const route = sls.resources.extensions.HttpApiStage.Properties.DefaultRouteSettings;
    expect(route).toEqual({ ThrottlingRateLimit: '${self:custom.httpApiThrottle.rateLimit}', ThrottlingBurstLimit: '${self:custom.httpApiThrottle.burstLimit}' });
    expect(sls.custom.httpApiThrottle.rateLimit).toBeGreaterThan(0);
    expect(sls.custom.httpApiThrottle.burstLimit).toBeGreaterThanOrEqual(sls.custom.httpApiThrottle.rateLimit);
  });

  it('runtime, architecture and bundle format (IAM: test/contract/iam.test.ts)', () => {
    expect(sls.provider).toMatchObject({ runtime: 'nodejs22.x', architecture: 'arm64' });
    expect(sls.custom.esbuild).toMatchObject({ format: 'cjs', outputFileExtension: '.cjs', exclude: ['@aws-sdk/*'] });
  });
});
