/**
 * Least privilege per function (serverless.yml): one role per function with only what its code uses,
 * Scheduler's role separate with a source-account condition, and the `ssm:` secret form granted exactly
 * on the parameters the README names. Policies are evaluated with a small IAM ARN matcher (`*`, `?`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePlanFile, scheduleEventOf } from '../../lib/plans/plans';
import { QUEUE_NAMES, type QueueName } from '../../lib/ports';
import { QUEUE_CONSUMERS, QUEUE_LOGICAL_IDS } from '../../lib/wiring/topology';

const root = join(import.meta.dirname, '../..');
type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form YAML document
const sls = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as Yaml;
const fns = sls.functions as Record<string, Yaml>;
const resources = sls.resources.Resources as Record<string, Yaml>;
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const STAGE = 'prod';

/** A policy Resource (Fn::Join / GetAtt / Ref as serverless.yml writes them) as a concrete ARN pattern. */
function resolve(v: unknown): string {
  if (typeof v === 'string') return v.replaceAll('${sls:stage}', STAGE).replaceAll('${self:service}', 'cbr-flow');
  const o = v as Yaml;
  if (o.Ref === 'AWS::Partition') return 'aws';
  if (o.Ref === 'AWS::Region') return REGION;
  if (o.Ref === 'AWS::AccountId') return ACCOUNT;
  if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(resolve).join(o['Fn::Join'][0]);
  if (o['Fn::GetAtt']) {
    const [id] = o['Fn::GetAtt'] as [string, string];
    if (id === 'RunsTable') return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/cbr-flow-${STAGE}-runs`;
    if (resources[id]?.Type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${resolve(resources[id]!.Properties.QueueName)}`;
    if (id.endsWith('LambdaFunction')) return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
  }
  throw new Error(`cannot resolve ${JSON.stringify(v)}`);
}
const matches = (pattern: string, arn: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(arn);

function statementsOf(roleId: string): Array<{ actions: string[]; resources: string[] }> {
  const role = resources[roleId]!;
  return (role.Properties.Policies as Yaml[]).flatMap((p) => p.PolicyDocument.Statement as Yaml[]).map((s) => {
    expect(s.Effect).toBe('Allow');
    return { actions: s.Action as string[], resources: (s.Resource as unknown[]).map(resolve) };
  });
}
/** Whether `roleId` may do `action` on `arn`. */
const allows = (roleId: string, action: string, arn: string) => statementsOf(roleId).some((s) => s.actions.includes(action) && s.resources.some((r) => matches(r, arn)));

const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/cbr-flow-${STAGE}-runs`;
const queueArn = (q: QueueName) => `arn:aws:sqs:${REGION}:${ACCOUNT}:cbr-flow-${STAGE}-${q}`;
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:cbr-flow/${STAGE}/${name}-AbCdEf`;
/** The ARN ssm:GetParameter is checked against for `ssm:/cbr-flow/<stage>/<name>` (lib/secrets/aws.ts). */
const ssmParam = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/cbr-flow/${STAGE}/${name}`;
/** Functions that call CBR: their handler imports the CBR wiring (directly, or the retention wiring built on it). */
const cbrCalling = Object.keys(fns).filter((name) => /wiring\/runtime-(cbr|retention)'/.test(readFileSync(join(root, `functions/${name}.ts`), 'utf8')));
const roleOf = (fn: string) => fns[fn]!.role as string;

/** What each function sends to (lib/pipeline: hand-offs, re-queues, the checker's re-drives, run.finished). */
const SENDS: Record<string, QueueName[]> = {
  'start-run': ['vault', 'events'],
  'get-run': [],
  'run-actions': ['vault', 'events'],
  'create-vault': ['vault', 'resources', 'events'],
  'add-resources': ['checkpoint', 'events'],
  'start-checkpoint': ['checkpoint', 'events'],
  'share-backup': ['events'],
  'notify-run-finished': [],
  'check-status': ['vault', 'resources', 'checkpoint', 'share', 'events'],
  'plan-firing-failed': ['events'],
  coverage: ['vault'],
  'vaults': [],
  'retention-sweep': [],
  retention: [],
  restores: [],
};
const scheduleDlq = `arn:aws:sqs:${REGION}:${ACCOUNT}:cbr-flow-${STAGE}-schedules-dlq`;

describe('IAM: one role per function, only what it uses', () => {
  it('no provider-wide role; every function has its own role resource', () => {
    expect(Object.keys(SENDS).sort()).toEqual(Object.keys(fns).sort());
    expect(sls.provider.iam).toBeUndefined();
    const roles = Object.keys(fns).map(roleOf);
    expect(new Set(roles).size).toBe(Object.keys(fns).length);
    for (const r of roles) expect(resources[r]?.Type, r).toBe('AWS::IAM::Role');
    for (const r of roles) expect(resources[r]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }]);
  });

  it('no wildcard action; every resource is scoped (no bare *)', () => {
    for (const r of [...Object.keys(fns).map(roleOf), 'SchedulerRole']) {
      for (const s of statementsOf(r)) {
        for (const a of s.actions) expect(a, r).toMatch(/^[a-z0-9]+:[A-Za-z]+$/);
        for (const res of s.resources) expect(res, r).toMatch(/^arn:aws:[a-z0-9-]+:[a-z0-9-]+:\d{12}:[^*]+/);
      }
    }
  });

  it('get-run only reads the table (and its indexes); it reads no secret and touches no queue', () => {
    const s = statementsOf(roleOf('get-run'));
    expect(s.flatMap((x) => x.actions).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(allows(roleOf('get-run'), 'dynamodb:Query', `${table}/index/recent`)).toBe(true);
    expect(allows(roleOf('get-run'), 'dynamodb:PutItem', table)).toBe(false);
  });

  it('run-actions reads and writes run items (no index, no delete), sends only to vault and events, reads no secret', () => {
    const s = statementsOf(roleOf('run-actions'));
    expect(s.flatMap((x) => x.actions).sort()).toEqual([
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage',
    ]);
    expect(allows(roleOf('run-actions'), 'dynamodb:Query', `${table}/index/recent`)).toBe(false);
    expect(allows(roleOf('run-actions'), 'dynamodb:DeleteItem', table)).toBe(false);
    // Behind the JWT authorizer like the reads.
    for (const e of fns['run-actions']!.events as Yaml[]) expect(e.httpApi.authorizer).toEqual({ name: 'runsReader' });
  });

  it('coverage queries the table (GET /runs\'s index), reads the CBR credentials; its freshness gate creates a run (GetItem, PutItem) and hands it to vault only; its routes behind the JWT authorizer but the dashboard\'s static page', () => {
    const s = statementsOf(roleOf('coverage'));
    expect(s.flatMap((x) => x.actions).sort()).toEqual([
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'sqs:SendMessage', 'ssm:GetParameter',
    ]);
    expect(allows(roleOf('coverage'), 'dynamodb:Query', `${table}/index/recent`)).toBe(true);
    expect(allows(roleOf('coverage'), 'dynamodb:PutItem', table)).toBe(true);
    expect(allows(roleOf('coverage'), 'dynamodb:UpdateItem', table)).toBe(false);
    expect(allows(roleOf('coverage'), 'dynamodb:DeleteItem', table)).toBe(false);
    const http = (fns.coverage!.events as Yaml[]).filter((e) => e.httpApi);
    expect(http).toEqual([
      { httpApi: { method: 'GET', path: '/coverage', authorizer: { name: 'runsReader' } } },
      { httpApi: { method: 'POST', path: '/gates/fresh-backup', authorizer: { name: 'runsReader' } } },
      // The dashboard: its static page (no data, no authorizer) and its data (the same Query on the recent index).
      { httpApi: { method: 'GET', path: '/' } },
      { httpApi: { method: 'GET', path: '/dashboard/data', authorizer: { name: 'runsReader' } } },
    ]);
  });

  it('vaults only queries the recent index and reads the CBR credentials: no table write, no queue, no webhook keys', () => {
    const s = statementsOf(roleOf('vaults'));
    expect(s.flatMap((x) => x.actions).sort()).toEqual([
      'dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'ssm:GetParameter',
    ]);
    expect(allows(roleOf('vaults'), 'dynamodb:Query', `${table}/index/recent`)).toBe(true);
    expect(allows(roleOf('vaults'), 'dynamodb:Query', `${table}/index/due`)).toBe(false);
    for (const a of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(allows(roleOf('vaults'), a, table), a).toBe(false);
    expect(allows(roleOf('vaults'), 'secretsmanager:GetSecretValue', secret('cbr-credentials'))).toBe(true);
    for (const e of fns.vaults!.events as Yaml[]) expect(e.httpApi.authorizer).toEqual({ name: 'runsReader' });
  });

  it('retention-sweep and retention: the table items and the recent index (no DeleteItem, no other index), the CBR credentials; no queue, no webhook keys', () => {
    for (const fn of ['retention-sweep', 'retention']) {
      const s = statementsOf(roleOf(fn));
      expect([...new Set(s.flatMap((x) => x.actions))].sort(), fn).toEqual([
        'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'ssm:GetParameter',
      ]);
      expect(allows(roleOf(fn), 'dynamodb:Query', `${table}/index/recent`), fn).toBe(true);
      expect(allows(roleOf(fn), 'dynamodb:Query', `${table}/index/due`), fn).toBe(false);
      expect(allows(roleOf(fn), 'dynamodb:PutItem', `${table}/index/recent`), fn).toBe(false);
      expect(allows(roleOf(fn), 'dynamodb:DeleteItem', table), fn).toBe(false);
      expect(allows(roleOf(fn), 'secretsmanager:GetSecretValue', secret('cbr-credentials')), fn).toBe(true);
      expect(allows(roleOf(fn), 'secretsmanager:GetSecretValue', secret('webhook-keys')), fn).toBe(false);
      for (const q of QUEUE_NAMES) expect(allows(roleOf(fn), 'sqs:SendMessage', queueArn(q)), `${fn} ${q}`).toBe(false);
    }
    expect(fns['retention-sweep']!.events).toEqual([{ schedule: { rate: 'rate(1 hour)', input: { source: 'cbr-flow.retention-sweep' } } }]);
    expect((fns.retention!.events as Yaml[]).map((e) => `${e.httpApi.method} ${e.httpApi.path}`)).toEqual([
      'GET /retention/preview', 'GET /retention/ledger', 'GET /holds', 'POST /holds', 'DELETE /holds/{id}',
    ]);
    for (const e of fns.retention!.events as Yaml[]) expect(e.httpApi.authorizer).toEqual({ name: 'runsReader' });
  });

  it('restores reads and writes only table items (restore records, the run it names), reads the CBR credentials, sends only to its OnFailure destination: no index, no update', () => {
    const s = statementsOf(roleOf('restores'));
    expect(s.flatMap((x) => x.actions).sort()).toEqual([
      'dynamodb:GetItem', 'dynamodb:PutItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'sqs:SendMessage', 'ssm:GetParameter',
    ]);
    expect(allows(roleOf('restores'), 'dynamodb:PutItem', table)).toBe(true);
    // Only its OnFailure destination (a drill firing that failed every async attempt).
    expect(allows(roleOf('restores'), 'sqs:SendMessage', scheduleDlq)).toBe(true);
    expect(allows(roleOf('restores'), 'dynamodb:Query', `${table}/index/due`)).toBe(false);
    for (const a of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(allows(roleOf('restores'), a, table), a).toBe(false);
    expect(allows(roleOf('restores'), 'secretsmanager:GetSecretValue', secret('cbr-credentials'))).toBe(true);
    expect(allows(roleOf('restores'), 'secretsmanager:GetSecretValue', secret('webhook-keys'))).toBe(false);
    for (const e of fns.restores!.events as Yaml[]) expect(e.httpApi.authorizer).toEqual({ name: 'runsReader' });
  });

  it('only the CBR-calling functions read the CBR credentials; only start-run, notify and the checker (drill webhooks) read the webhook keys', () => {
    for (const fn of Object.keys(fns)) {
      const cbr = cbrCalling.includes(fn);
      expect(allows(roleOf(fn), 'secretsmanager:GetSecretValue', secret('cbr-credentials')), fn).toBe(cbr);
      expect(allows(roleOf(fn), 'ssm:GetParameter', ssmParam('cbr-credentials')), fn).toBe(cbr);
      // The checker signs recovery drills' verification webhooks and failure notifications (lib/wiring/drill-hooks.ts).
      const keys = fn === 'start-run' || fn === 'notify-run-finished' || fn === 'check-status';
      expect(allows(roleOf(fn), 'secretsmanager:GetSecretValue', secret('webhook-keys')), fn).toBe(keys);
      expect(allows(roleOf(fn), 'ssm:GetParameter', ssmParam('webhook-keys')), fn).toBe(keys);
      expect(allows(roleOf(fn), 'secretsmanager:GetSecretValue', secret('notify-keys')), fn).toBe(fn === 'notify-run-finished' || fn === 'check-status');
      // Nothing outside the stage's names.
      expect(allows(roleOf(fn), 'ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/other/${STAGE}/cbr-credentials`)).toBe(false);
      expect(allows(roleOf(fn), 'secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:cbr-flow/dev/cbr-credentials-AbCdEf`)).toBe(false);
    }
  });

  it('each function consumes exactly its queue (topology) and sends only where its code sends', () => {
    for (const fn of Object.keys(fns)) {
      for (const q of QUEUE_NAMES) {
        const consumer = QUEUE_CONSUMERS[q] === fn;
        for (const a of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) expect(allows(roleOf(fn), a, queueArn(q)), `${fn} ${a} ${q}`).toBe(consumer);
        expect(allows(roleOf(fn), 'sqs:SendMessage', queueArn(q)), `${fn} send ${q}`).toBe(SENDS[fn]!.includes(q));
      }
      expect(allows(roleOf(fn), 'logs:PutLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/cbr-flow-${STAGE}-${fn}:log-stream:x`), fn).toBe(true);
      expect(allows(roleOf(fn), 'logs:PutLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/cbr-flow-${STAGE}-other:log-stream:x`), fn).toBe(false);
    }
    expect(Object.keys(QUEUE_LOGICAL_IDS).sort()).toEqual([...QUEUE_NAMES].sort());
  });

  it('the schedules DLQ: only plan-firing-failed consumes it; only the async OnFailure sources (start-run, check-status, restores) send to it', () => {
    for (const fn of Object.keys(fns)) {
      for (const a of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) expect(allows(roleOf(fn), a, scheduleDlq), `${fn} ${a}`).toBe(fn === 'plan-firing-failed');
      const onFailure = fn === 'start-run' || fn === 'check-status' || fn === 'restores';
      expect(allows(roleOf(fn), 'sqs:SendMessage', scheduleDlq), `${fn} send`).toBe(onFailure);
      expect(fns[fn]!.destinations?.onFailure !== undefined, `${fn} has an OnFailure destination`).toBe(onFailure);
    }
  });

  it('plan-firing-failed creates the firing\'s run and marks it announced (PutItem, UpdateItem), sends run.finished, reads no secret and nothing else', () => {
    const s = statementsOf(roleOf('plan-firing-failed'));
    expect(s.flatMap((x) => x.actions).sort()).toEqual([
      'dynamodb:PutItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents',
      'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage',
    ]);
    expect(allows(roleOf('plan-firing-failed'), 'dynamodb:PutItem', table)).toBe(true);
    expect(allows(roleOf('plan-firing-failed'), 'dynamodb:GetItem', table)).toBe(false);
    expect(allows(roleOf('plan-firing-failed'), 'dynamodb:Query', `${table}/index/recent`)).toBe(false);
  });

  it("Scheduler has its own role: invoke start-run only, assumable by Scheduler for this account only; every plan schedule uses it", () => {
    const trust = resources.SchedulerRole!.Properties.AssumeRolePolicyDocument.Statement as Yaml[];
    expect(trust).toEqual([{ Effect: 'Allow', Principal: { Service: ['scheduler.amazonaws.com'] }, Action: ['sts:AssumeRole'], Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }]);
    const startRun = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:StartDashrunLambdaFunction`;
    expect(allows('SchedulerRole', 'lambda:InvokeFunction', startRun)).toBe(true);
    expect(allows('SchedulerRole', 'lambda:InvokeFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:GetDashrunLambdaFunction`)).toBe(false);
    // A firing it could not deliver (after its retry policy) goes to the schedules DLQ with this role.
    expect(allows('SchedulerRole', 'sqs:SendMessage', scheduleDlq)).toBe(true);
    expect(allows('SchedulerRole', 'sqs:SendMessage', queueArn('intake'))).toBe(false);
    // Every plan's schedule (the samples are deployed to no stage, so check what each would deploy).
    const schedules = [
      ...fns['start-run']!.events.filter((e: Yaml) => e.schedule?.method === 'scheduler'),
      ...parsePlanFile(parse(readFileSync(join(root, 'plans/plans.yml'), 'utf8'))).plans.map((p) => scheduleEventOf(p, 'cbr-flow')),
    ];
    expect(schedules.length).toBeGreaterThan(0);
    for (const e of schedules) expect(e.schedule.roleArn).toEqual({ 'Fn::GetAtt': ['SchedulerRole', 'Arn'] });
  });
});
