/**
 * The real service: `serverless.yml` packages offline (no AWS credentials, no network) into a
 * template with everything the handlers need, and the local stack built from the `local` package
 * runs a whole backup through the HTTP API, driven by the `cbr-flow` CLI.
 *
 * This is the only test that packages the project itself (osls clears .serverless/ on every run, so
 * two concurrent packagers of one directory would trip over each other).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { main, type Io } from '../../local/cli';
import { offlineEnv, packageService } from '../../local/package';
import { PROJECT_ROOT, startLocalStack, type LocalStack } from '../../local/stack';
import { demoRunRequest } from '../../local/start';
import { readTemplate, type CfnTemplate } from '../../local/template';
import { serviceCopy } from '../helpers/service-copy';

type Resource = { Type: string; Properties?: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON

let deployTemplate: CfnTemplate;
let deployService: ReturnType<typeof serviceCopy> | undefined;
let packageMs = 0;
let stack: LocalStack;
let dataDir: string;
const logs: string[] = [];

function ofType(template: CfnTemplate, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type) as Array<[string, Resource]>;
}

async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => stdin };
  // The stack's key (in its own data folder), handed to the CLI the way a user would: CBR_FLOW_WEBHOOK_KEY.
  // Reads: a token of its issuer (in the stack's data folder), handed over as CBR_FLOW_TOKEN.
  const token = await stack.runtime.issuer!.mint({ sub: 'service-test', projects: '*' });
  const code = await main([...args, '--endpoint', stack.runtime.url], { CBR_FLOW_WEBHOOK_KEY: stack.webhooks.keys[0]!, CBR_FLOW_TOKEN: token }, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  // The dev package of a copy with a sample plan deployed to dev (the samples are deployed to no stage).
  deployService = serviceCopy('cbr-flow-service-dev-', 'dev');
  ({ ms: packageMs } = await packageService(deployService.dir, 'dev'));
  deployTemplate = readTemplate(deployService.dir).template;
  dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-service-'));
  stack = await startLocalStack({
    dataDir,
    httpPort: 0,
    rateScale: 0.02, // the checker every 1.2 s
    package: 'always',
    log: (line) => logs.push(line),
    emulator: { timing: { checkpointMs: [400, 800] } },
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  deployService?.remove();
});

describe('serverless.yml packaged offline for a deployable stage', () => {
  it('packages without AWS credentials', () => {
    console.log(`osls package --stage dev: ${packageMs} ms`);
    const env = offlineEnv({ AWS_ACCESS_KEY_ID: 'AKIA...', AWS_SECRET_ACCESS_KEY: 's', AWS_PROFILE: 'prod', PATH: '/bin' });
    expect(env).not.toHaveProperty('AWS_ACCESS_KEY_ID');
    expect(env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
    expect(env).not.toHaveProperty('AWS_PROFILE');
    expect(env.AWS_SHARED_CREDENTIALS_FILE).toBe('/dev/null');
    expect(Object.keys(deployTemplate.Resources).length).toBeGreaterThan(20);
  });

  it('declares every step queue with a DLQ redrive, the runs table with its GSIs and TTL, the routes and the schedules', () => {
    const queues = Object.fromEntries(ofType(deployTemplate, 'AWS::SQS::Queue'));
    const redriven = Object.entries(queues).filter(([, q]) => q.Properties?.RedrivePolicy);
    expect(redriven.length).toBeGreaterThanOrEqual(5);
    for (const [id, q] of redriven) {
      const dlq = q.Properties!.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string;
      expect(queues[dlq], `${id} -> ${dlq}`).toBeDefined();
      expect(Number(q.Properties!.RedrivePolicy.maxReceiveCount)).toBeGreaterThan(1);
    }
    const [[, table]] = ofType(deployTemplate, 'AWS::DynamoDB::Table') as [[string, Resource]];
    expect(table.Properties!.GlobalSecondaryIndexes.length).toBeGreaterThanOrEqual(1);
    expect(table.Properties!.TimeToLiveSpecification).toMatchObject({ Enabled: true });
    expect(ofType(deployTemplate, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!.RouteKey).sort())
      .toEqual(['DELETE /holds/{id}', 'DELETE /vaults/{vaultId}', 'GET /', 'GET /coverage', 'GET /dashboard/data', 'GET /holds', 'GET /restores/{id}', 'GET /retention/ledger', 'GET /retention/preview', 'GET /runs', 'GET /runs/{id}', 'GET /vaults', 'GET /vaults/orphaned', 'POST /gates/fresh-backup', 'POST /holds', 'POST /restores', 'POST /runs', 'POST /runs/{id}/cancel', 'POST /runs/{id}/retry']);
    const rules = ofType(deployTemplate, 'AWS::Events::Rule').map(([, r]) => r.Properties!.ScheduleExpression);
    expect(rules).toContain('rate(1 minute)');
    expect(rules).toContain('rate(1 hour)'); // coverage, retention-sweep
    for (const [, s] of ofType(deployTemplate, 'AWS::Scheduler::Schedule')) expect(s.Properties!.ScheduleExpressionTimezone).toEqual(expect.any(String));
    const mappings = ofType(deployTemplate, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThanOrEqual(5);
    for (const [id, m] of mappings) expect(m.Properties!.FunctionResponseTypes, id).toEqual(['ReportBatchItemFailures']);
  });

  it('runs every function on nodejs22.x/arm64 with least-privilege IAM (no wildcard actions)', () => {
    for (const [id, f] of ofType(deployTemplate, 'AWS::Lambda::Function')) {
      expect(f.Properties, id).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    }
    // One role per function (plus the Scheduler's); each function runs with its own (test/contract/iam.test.ts checks their contents).
    const roles = ofType(deployTemplate, 'AWS::IAM::Role') as Array<[string, Resource]>;
    expect(roles.map(([id]) => id)).not.toContain('IamRoleLambdaExecution');
    for (const [id, f] of ofType(deployTemplate, 'AWS::Lambda::Function')) expect(roles.map(([r]) => r), id).toContain((f.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);
    const statements = roles.flatMap(([, role]) => role.Properties!.Policies.flatMap((p: any) => p.PolicyDocument.Statement)) as Array<{ Action: string[]; Resource: unknown }>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const actions = statements.flatMap((s) => s.Action);
    for (const a of actions) expect(a).not.toMatch(/\*/);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']));
    for (const s of statements) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    // Webhook keys: read from Secrets Manager, scoped to this stage's secret; auth on; never a key in the environment.
    const keys = statements.find((s) => JSON.stringify(s.Resource).includes('webhook-keys') && s.Action.includes('secretsmanager:GetSecretValue'))!;
    expect(keys.Action).toEqual(['secretsmanager:GetSecretValue']);
    expect(JSON.stringify(keys.Resource)).toContain(':secret:cbr-flow/dev/webhook-keys-*');
    for (const [id, f] of ofType(deployTemplate, 'AWS::Lambda::Function')) {
      const env = f.Properties!.Environment.Variables as Record<string, unknown>;
      expect(env, id).toMatchObject({ STAGE: 'dev', WEBHOOK_AUTH: 'on', WEBHOOK_KEYS_SECRET: 'cbr-flow/dev/webhook-keys', NOTIFY_ALLOW_LOOPBACK: 'false' });
      expect(env.WEBHOOK_KEYS_JSON, id).toBeUndefined();
    }
    const notify = ofType(deployTemplate, 'AWS::Lambda::EventSourceMapping').find(([, m]) => JSON.stringify(m.Properties!.EventSourceArn).includes('EventsQueue'));
    expect(JSON.stringify(notify?.[1].Properties!.FunctionName)).toContain('NotifyDashrunDashfinished');
  });
});

describe('the local stack of the real service', () => {
  it('wires every function of serverless.yml and points the handlers at the local stand-ins', () => {
    const keys = stack.runtime.functions.map((f) => f.key).sort();
    expect(keys).toEqual(['add-resources', 'check-status', 'coverage', 'create-vault', 'get-run', 'notify-run-finished', 'plan-firing-failed', 'restores', 'retention', 'retention-sweep', 'run-actions', 'share-backup', 'start-checkpoint', 'start-run', 'vaults']);
    for (const f of stack.runtime.functions) {
      expect(f.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(stack.runtime.dynamodbEndpoint);
      expect(f.env.AWS_ENDPOINT_URL_SQS).toBe(stack.runtime.sqsEndpoint);
      expect(f.env.CBR_ENDPOINT).toBe(stack.cbrEndpoint);
      expect(f.env.INTAKE_QUEUE_URL).toBe(stack.runtime.queue('IntakeQueue').url);
    }
  });

  it('runs a whole backup started and watched through the CLI until COMPLETED', async () => {
    const started = Date.now();
    const r = await cli(['run', '--file', '-', '--watch', '--interval', '0.2', '--timeout', '60'], JSON.stringify(demoRunRequest()));
    console.log(`demo run through the CLI: ${Date.now() - started} ms\n${r.out}`);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const runId = /run ([0-9a-f-]{36}) accepted/.exec(r.out)?.[1];
    expect(runId).toBeDefined();
    for (const step of ['create-vault', 'add-resources', 'start-checkpoint', 'check-status', 'share-backup']) expect(r.out).toContain(step);
    expect(r.out).toMatch(new RegExp(`run ${runId} COMPLETED`));

    const status = await cli(['status', runId!]);
    expect(status).toMatchObject({ code: 0, out: expect.stringContaining('state    COMPLETED') });
    const list = await cli(['list']);
    expect(list.out).toMatch(new RegExp(`${runId}\\s+COMPLETED`));

    const snapshot = stack.emulator!.state.snapshot();
    expect(snapshot.vaults.filter((v) => v.name === 'cbr-flow-demo')).toHaveLength(1);
    expect(snapshot.checkpoints).toHaveLength(1);
    expect(snapshot.members.filter((m) => m.dest_project_id === DEMO.peerProjectId && m.status === 'pending')).toHaveLength(2);
  }, 60_000);

  it('after the demo run, `cbr-flow coverage` lists every emulated server of both demo projects with its status (GET /coverage of the packaged function)', async () => {
    const r = await cli(['coverage']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const status = (id: string) => r.out.split('\n').find((l) => l.includes(id))?.split(/\s+/)[0];
    expect(status(DEMO.servers[0].id)).toBe('protected');
    expect(status(DEMO.servers[1].id)).toBe('protected');
    expect(status(DEMO.servers[2].id)).toBe('unprotected');
    expect(status(DEMO.servers[3].id)).toBe('unprotected');
    expect(status(DEMO.deletedServers[0].id)).toBe('deleted');
    expect(status(DEMO.other.servers[0].id)).toBe('unprotected');
    expect(r.out).toContain(`project ${DEMO.other.projectId} (${DEMO.other.region})`);
  });

  it('after the demo run, `cbr-flow ensure-fresh` answers fresh at once through the packaged coverage function (POST /gates/fresh-backup) and starts no run', async () => {
    const before = await stack.runStore!.listRecent(100);
    const r = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', DEMO.servers[0].id, '--server', DEMO.servers[1].id, '--max-age', '30m']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^fresh  ${DEMO.servers[0].id}  backup \\S+ \\d+m old`, 'm'));
    expect(r.out).toContain('fresh: every resource has an available backup younger than 30m');
    expect(await stack.runStore!.listRecent(100)).toHaveLength(before.length);
    // A server never backed up, without a vault to back it up into: refused naming the flag, nothing started.
    const stale = await cli(['ensure-fresh', '--project', DEMO.projectId, '--server', DEMO.servers[3].id, '--max-age', '30m']);
    expect(stale.code).toBe(2);
    expect(stale.err).toMatch(/--vault.*required when a backup is stale/);
    expect(await stack.runStore!.listRecent(100)).toHaveLength(before.length);
  });

  it('answers a signed but bad webhook body with a field-level 400 from the real start-run handler', async () => {
    const body = JSON.stringify({ ...demoRunRequest(), completionWindowMinutes: 1 });
    const res = await fetch(`${stack.runtime.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...stack.webhooks.sign(body) }, body });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('completionWindowMinutes');
  });

  it('refuses an unsigned POST /runs with 401 and the reason (auth is on in the local stage too); the CLI says how to sign', async () => {
    expect(stack.webhooks.auth).toBe('on');
    const body = JSON.stringify(demoRunRequest());
    const res = await fetch(`${stack.runtime.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ reason: 'missing_webhook_id', message: expect.stringContaining('webhook-id') });
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['run', '--file', '-', '--no-auth', '--endpoint', stack.runtime.url], {}, { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => body });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/HTTP 401, missing_webhook_id.*CBR_FLOW_WEBHOOK_KEY/);
  });
});

describe('reads through the local HTTP API: JWT authorizer and per-caller scope, as deployed', () => {
  const OTHER_PROJECT = 'ab'.repeat(16);
  const get = (path: string, token?: string) => fetch(`${stack.runtime.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  let runId: string;
  const SECRETS = ['alice', 'pa55word', 's3cretpath', 'qs3cret'];

  beforeAll(async () => {
    // A run whose notifyUrl carries credentials in its userinfo, path and query (loopback: allowed locally, refused connection).
    const body = JSON.stringify({ ...demoRunRequest(), notifyUrl: 'http://alice:pa55word@127.0.0.1:9/hook/s3cretpath?token=qs3cret' });
    const res = await fetch(`${stack.runtime.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...stack.webhooks.sign(body) }, body });
    expect(res.status).toBe(202);
    ({ runId } = (await res.json()) as { runId: string });
  });

  it('cancel and retry through the CLI on the local stack: the routes come from the template, behind the JWT authorizer', async () => {
    // The demo request again (its vault and servers exist by now: a retry that runs completes).
    const r = await cli(['run', '--file', '-'], JSON.stringify(demoRunRequest()));
    const runId = /run ([0-9a-f-]{36}) accepted/.exec(r.out)?.[1];
    expect(runId).toBeDefined();
    expect(await cli(['cancel', runId!])).toMatchObject({ code: 0, out: `run ${runId} FAILED: cancelled by service-test` });
    expect(await cli(['cancel', runId!])).toMatchObject({ code: 0, out: expect.stringContaining('was already cancelled') });
    const retried = await cli(['retry', runId!, '--watch', '--interval', '0.2', '--timeout', '60']);
    expect(retried.code, retried.out).toBe(0);
    expect(retried.out).toMatch(new RegExp(`^run \\S+ retries run ${runId}`));
    expect(retried.out).toMatch(/run \S+ COMPLETED in \d+\.\ds$/);
    const unauth = await fetch(`${stack.runtime.url}/runs/${runId}/cancel`, { method: 'POST' });
    expect(unauth.status).toBe(401);
  }, 90_000);

  it('every GET route of the packaged templates (dev and local) but the dashboard\'s static page has the JWT authorizer; the local one is enforced', () => {
    for (const template of [deployTemplate, readTemplate(PROJECT_ROOT).template]) {
      const authorizers = Object.fromEntries(ofType(template, 'AWS::ApiGatewayV2::Authorizer'));
      // The dashboard's page (GET /): static, no data, no authorizer (a browser cannot send a token when it navigates).
      const routes = ofType(template, 'AWS::ApiGatewayV2::Route');
      const page = routes.filter(([, r]) => r.Properties!.RouteKey === 'GET /');
      expect(page).toHaveLength(1);
      expect(page[0]![1].Properties!.AuthorizerId).toBeUndefined();
      // Every read, and the operator's vault clean-up (DELETE), behind the authorizer.
      const gets = routes.filter(([, r]) => /^(GET|DELETE) /.test(String(r.Properties!.RouteKey)) && r.Properties!.RouteKey !== 'GET /');
      expect(gets.map(([, r]) => r.Properties!.RouteKey).sort()).toEqual(['DELETE /holds/{id}', 'DELETE /vaults/{vaultId}', 'GET /coverage', 'GET /dashboard/data', 'GET /holds', 'GET /restores/{id}', 'GET /retention/ledger', 'GET /retention/preview', 'GET /runs', 'GET /runs/{id}', 'GET /vaults', 'GET /vaults/orphaned']);
      for (const [id, r] of gets) {
        expect(r.Properties, id).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: expect.any(String) } });
        expect(authorizers[r.Properties!.AuthorizerId.Ref]!.Properties).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
      }
    }
    expect(stack.runtime.model.routes.filter((r) => (r.method === 'GET' || r.method === 'DELETE') && !r.jwtAuthorizer).map((r) => r.routeKey)).toEqual(['GET /']);
  });

  it('no token, a token of another key, an expired token or a wrong audience -> 401 before the function runs', async () => {
    const { SignJWT, generateKeyPair } = await import('jose');
    const issuer = stack.runtime.issuer!;
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ cbr_projects: '*' }).setProtectedHeader({ alg: 'ES256', kid: 'local' }).setIssuer(issuer.issuer).setAudience(issuer.audience).setExpirationTime('1h').sign(privateKey);
    const expired = await issuer.mint({ sub: 'late', projects: '*' }, -60);
    for (const token of [undefined, forged, expired, 'not-a-jwt']) {
      for (const path of ['/runs', `/runs/${runId}`]) {
        const res = await get(path, token);
        expect(res.status, `${path} with ${token?.slice(0, 12)}`).toBe(401);
        expect(await res.json()).toEqual({ message: 'Unauthorized' });
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      }
    }
  });

  it("another project's run is 404 and absent from the list; the caller's own project sees it", async () => {
    const issuer = stack.runtime.issuer!;
    const outsider = await issuer.mint({ sub: 'outsider', projects: [OTHER_PROJECT] });
    const owner = await issuer.mint({ sub: 'owner', projects: [String(demoRunRequest().projectId)] });
    const hidden = await get(`/runs/${runId}`, outsider);
    expect(hidden.status).toBe(404);
    expect(((await (await get('/runs?limit=100', outsider)).json()) as { runs: unknown[] }).runs).toEqual([]);
    expect((await get(`/runs/${runId}`, owner)).status).toBe(200);
    const listed = (await (await get('/runs?limit=100', owner)).json()) as { runs: Array<{ runId: string }> };
    expect(listed.runs.map((r) => r.runId)).toContain(runId);
  });

  it("the notifyUrl's userinfo, path and query appear in no read answer and no log line, also after a failed notification", async () => {
    const token = await stack.runtime.issuer!.mint({ sub: 'reader', projects: '*' });
    let text = '';
    for (let i = 0; i < 60; i++) {
      text = await (await get(`/runs/${runId}`, token)).text();
      if (JSON.parse(text).notification) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(JSON.parse(text).request.notifyUrl).toBe('http://127.0.0.1:9/[REDACTED]');
    const listed = await (await get('/runs?limit=100', token)).text();
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(listed).not.toContain(secret);
      expect(logs.filter((l) => l.includes(secret))).toEqual([]);
    }
  }, 30_000);
});

describe('no silently lost schedule (schedules DLQ -> plan-firing-failed), through the local runtime', () => {
  const until = async <T>(probe: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('the packaged template: retry policy + DLQ on every plan schedule and the checker rule, OnFailure destinations, the alarms', () => {
    const dlq = { 'Fn::GetAtt': ['ScheduleDLQ', 'Arn'] };
    const schedules = ofType(deployTemplate, 'AWS::Scheduler::Schedule');
    expect(schedules.length).toBeGreaterThanOrEqual(1);
    for (const [id, sch] of schedules) expect(sch.Properties!.Target, id).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 }, DeadLetterConfig: { Arn: dlq } });
    const rules = ofType(deployTemplate, 'AWS::Events::Rule');
    for (const [id, rule] of rules) for (const t of rule.Properties!.Targets) expect(t, id).toMatchObject({ RetryPolicy: expect.any(Object), DeadLetterConfig: { Arn: dlq } });
    const configs = Object.fromEntries(ofType(deployTemplate, 'AWS::Lambda::EventInvokeConfig').map(([, c]) => [c.Properties!.FunctionName.Ref, c.Properties]));
    for (const fn of ['StartDashrunLambdaFunction', 'CheckDashstatusLambdaFunction']) expect(configs[fn]?.DestinationConfig, fn).toEqual({ OnFailure: { Destination: dlq } });
    const alarms = ofType(deployTemplate, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
    expect(alarms).toEqual(expect.arrayContaining([
      expect.objectContaining({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['ScheduleDLQ', 'QueueName'] } }] }),
      expect.objectContaining({ Namespace: 'cbr-flow', MetricName: 'PlanFiringFailed', Dimensions: [{ Name: 'Stage', Value: 'dev' }] }),
    ]));
    const consumer = ofType(deployTemplate, 'AWS::Lambda::EventSourceMapping').find(([, m]) => JSON.stringify(m.Properties!.EventSourceArn).includes('ScheduleDLQ'));
    expect(JSON.stringify(consumer?.[1].Properties!.FunctionName)).toContain('PlanDashfiringDashfailed');
  });

  it('a plan firing that fails every async attempt lands in the schedules DLQ and is counted (PlanFiringFailed)', async () => {
    const logged = logs.length;
    // An async invocation of start-run as Scheduler makes it; this plan's request cannot start a run.
    stack.runtime.invokeAsync('start-run', { source: 'cbr-flow.plan', plan: 'broken-plan', scheduledTime: new Date().toISOString(), request: { projectId: 'not-a-project' } });
    const line = await until(() => logs.slice(logged).find((l) => l.includes('"PlanFiringFailed":1') && l.includes('broken-plan')), 20_000);
    expect(line).toContain('RetriesExhausted after 3 attempt(s)');
    expect(logs.slice(logged).some((l) => l.includes('OnFailure'))).toBe(true);
  }, 30_000);

  it('a plan firing EventBridge Scheduler could not deliver is a FAILED run in `cbr-flow list`, keyed like the run it would have made', async () => {
    const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({ endpoint: stack.runtime.sqsEndpoint, region: stack.runtime.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const scheduledTime = '2026-12-05T02:00:00Z';
    const input = { source: 'cbr-flow.plan', plan: 'nightly-demo', scheduledTime, request: demoRunRequest() };
    // What Scheduler puts in its DLQ once its retry policy is spent: the target Input + error attributes.
    await sqs.send(new SendMessageCommand({
      QueueUrl: stack.runtime.queue('ScheduleDLQ').url,
      MessageBody: JSON.stringify(input),
      MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'AWS.Lambda.TooManyRequestsException' }, ERROR_MESSAGE: { DataType: 'String', StringValue: 'Rate exceeded' } },
    }));
    sqs.destroy();
    const { runIdForPlan } = await import('../../lib/pipeline/start-run');
    const runId = runIdForPlan('nightly-demo', scheduledTime);
    const listed = await until(async () => {
      const r = await cli(['list', '--limit', '50']);
      return r.out.split('\n').find((l) => l.startsWith(runId));
    }, 20_000);
    expect(listed).toMatch(/FAILED/);
    const status = await cli(['status', runId]);
    expect(status.out).toContain('reason   plan firing failed: delivery failed (AWS.Lambda.TooManyRequestsException: Rate exceeded)');
  }, 30_000);
});
