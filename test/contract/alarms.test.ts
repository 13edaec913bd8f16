/**
 * Alarms in the packaged template (what CloudFormation receives, not serverless.yml): every DLQ's depth,
 * every function's errors and throttles, a checker that stopped, the oldest message of every queue and
 * runs ending FAILED/EXPIRED, all to the alarm topic. The run alarm's metric math is evaluated against
 * the EMF lines that real runs (pipeline harness: emulator, dynalite, local-aws-sqs) emit.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO } from '../../emulator/index';
import { isPackageFresh, packageService } from '../../local/package';
import { packagedStage, packagePaths } from '../../local/template';
import { checkpointName } from '../../lib/pipeline/common';
import { planFiringFailedHandler } from '../../lib/pipeline/edge/plan-firing-failed';
import { runIdForPlan } from '../../lib/pipeline/start-run';
import { QUEUE_NAMES } from '../../lib/ports';
import { METRICS_NAMESPACE } from '../../lib/wiring/metrics';
import { QUEUE_LOGICAL_IDS } from '../../lib/wiring/topology';
import { retentionSweepHandler } from '../../lib/pipeline/edge/retention-sweep';
import { makeContext, makeScheduledEvent, makeSqsEvent, makeSqsRecord } from '../helpers/factories';
import { DAY_MS, startRetentionWorld, type RetentionWorld } from '../helpers/retention-world';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const root = join(import.meta.dirname, '../..');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- CloudFormation JSON
let resources: Record<string, Json>;
let stage: string;
let scratch: string | undefined;

/** The packaged template: .serverless/ when it is built from the current inputs, else a fresh package in a temp dir. */
function loadPackaged(dir: string): void {
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Json;
  resources = template.Resources;
  stage = packagedStage(template as never)!;
}

beforeAll(async () => {
  const { template } = packagePaths(root);
  const builtStage = existsSync(template) ? packagedStage(JSON.parse(readFileSync(template, 'utf8'))) : undefined;
  if (builtStage && isPackageFresh(root, builtStage)) return loadPackaged(packagePaths(root).dir);
  scratch = mkdtempSync(join(tmpdir(), 'cbr-flow-alarms-'));
  await packageService(root, 'dev', ['--package', scratch]);
  loadPackaged(scratch);
}, 300_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const alarms = () => Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
const alarmOn = (namespace: string, metric: string, dimension: unknown) =>
  alarms().filter(([, a]) => a.Properties.Namespace === namespace && a.Properties.MetricName === metric && JSON.stringify(a.Properties.Dimensions?.[0]?.Value) === JSON.stringify(dimension));

describe('alarms in the packaged template', () => {
  it('every alarm notifies the alarm topic, whose subscriptions are custom.alarmSubscriptions', () => {
    const sls = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as Json;
    expect(resources.AlarmTopic).toMatchObject({ Type: 'AWS::SNS::Topic', Properties: { Subscription: sls.custom.alarmSubscriptions } });
    expect(alarms().length).toBeGreaterThanOrEqual(30);
    for (const [id, a] of alarms()) {
      expect(a.Properties.AlarmActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(a.Properties.AlarmDescription, id).toEqual(expect.any(String));
    }
  });

  it('each DLQ: any message visible for a minute; each queue: oldest message older than 30 min', () => {
    // The step queues and their DLQs, and the schedules DLQ (a DLQ with a consumer: plan-firing-failed).
    const dlqs = [...QUEUE_NAMES.map((q) => QUEUE_LOGICAL_IDS[q].replace('Queue', 'DLQ')), 'ScheduleDLQ'];
    const consumed = [...QUEUE_NAMES.map((q) => QUEUE_LOGICAL_IDS[q]), 'ScheduleDLQ'];
    for (const dlq of dlqs) {
      const [depth] = alarmOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [dlq, 'QueueName'] });
      expect(depth?.[1].Properties, dlq).toMatchObject({ Statistic: 'Maximum', Period: 60, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    }
    for (const queue of consumed) {
      const [age] = alarmOn('AWS/SQS', 'ApproximateAgeOfOldestMessage', { 'Fn::GetAtt': [queue, 'QueueName'] });
      expect(age?.[1].Properties, queue).toMatchObject({ Statistic: 'Maximum', Threshold: 1800, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
    // Every queue of the template is one of these (a new queue needs its alarms).
    const queues = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue').map(([id]) => id).sort();
    expect(queues).toEqual([...new Set([...dlqs, ...consumed])].sort());
  });

  it('each function: errors and throttles; the checker: no invocation in 5 minutes (missing data counts)', () => {
    const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([id]) => id);
    expect(functions).toHaveLength(15);
    expect(functions).toContain('RetentionDashsweepLambdaFunction');
    expect(functions).toContain('RetentionLambdaFunction');
    expect(functions).toContain('RestoresLambdaFunction');
    expect(functions).toContain('CoverageLambdaFunction');
    expect(functions).toContain('VaultsLambdaFunction');
    expect(functions).toContain('PlanDashfiringDashfailedLambdaFunction');
    for (const fn of functions) {
      for (const metric of ['Errors', 'Throttles']) {
        const [alarm] = alarmOn('AWS/Lambda', metric, { Ref: fn });
        expect(alarm?.[1].Properties, `${fn} ${metric}`).toMatchObject({ Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      }
    }
    const [checker] = alarmOn('AWS/Lambda', 'Invocations', { Ref: 'CheckDashstatusLambdaFunction' });
    expect(checker?.[1].Properties).toMatchObject({ Statistic: 'Sum', Period: 300, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
  });
});

// ---------------------------------------------------------------------------------------------
// The run alarm's metric math against the EMF lines of real runs.

type Emf = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> } };

/** Sum of `stat.Metric` per alarm period, from EMF documents (what CloudWatch would aggregate). */
function sumPerPeriod(docs: Emf[], metricStat: Json, stageValue: string): Map<number, number> {
  const { Namespace, MetricName, Dimensions } = metricStat.Metric;
  const out = new Map<number, number>();
  for (const doc of docs) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      if (directive.Namespace !== Namespace || !directive.Metrics.some((m) => m.Name === MetricName)) continue;
      // The alarm's dimensions must be exactly one dimension set of the document, with these values.
      const names = (Dimensions as Array<{ Name: string }>).map((d) => d.Name).sort();
      if (!directive.Dimensions.some((set) => JSON.stringify([...set].sort()) === JSON.stringify(names))) continue;
      if (!(Dimensions as Array<{ Name: string; Value: string }>).every((d) => doc[d.Name] === (d.Name === 'Stage' ? stageValue : d.Value))) continue;
      const bucket = Math.floor(doc._aws.Timestamp / (metricStat.Period * 1000));
      out.set(bucket, (out.get(bucket) ?? 0) + Number(doc[MetricName]));
    }
  }
  return out;
}

/** Evaluates a single-metric alarm (Namespace/MetricName/Dimensions/Statistic Sum) per period: true when any period breaches. */
function singleMetricAlarmFires(alarm: Json, docs: Emf[], stageValue: string): { fires: boolean; values: number[] } {
  const p = alarm.Properties;
  expect(p.Statistic).toBe('Sum');
  const values = [...sumPerPeriod(docs, { Metric: { Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: p.Dimensions }, Period: p.Period }, stageValue).values()];
  const breach = (v: number) => (p.ComparisonOperator === 'GreaterThanOrEqualToThreshold' ? v >= p.Threshold : Number.NaN);
  return { fires: values.some(breach), values };
}

/** Evaluates the alarm (its `FILL(a, 0) + FILL(b, 0)` expression) per period: true when any period breaches. */
function alarmFires(alarm: Json, docs: Emf[], stageValue: string): { fires: boolean; values: number[] } {
  const p = alarm.Properties;
  const series = new Map<string, Map<number, number>>();
  for (const m of p.Metrics as Json[]) if (m.MetricStat) series.set(m.Id, sumPerPeriod(docs, m.MetricStat, stageValue));
  const expr = (p.Metrics as Json[]).find((m) => m.ReturnData === true)!.Expression as string;
  const terms = expr.split('+').map((t) => t.trim());
  const buckets = new Set([...series.values()].flatMap((s) => [...s.keys()]));
  const values = [...buckets].map((b) =>
    terms.reduce((sum, term) => {
      const fill = /^FILL\((\w+),\s*(\d+)\)$/.exec(term);
      const id = fill ? fill[1]! : term;
      if (!series.has(id)) throw new Error(`expression term ${term} names no metric of the alarm`);
      return sum + (series.get(id)!.get(b) ?? (fill ? Number(fill[2]) : Number.NaN));
    }, 0),
  );
  const breach = (v: number) => (p.ComparisonOperator === 'GreaterThanOrEqualToThreshold' ? v >= p.Threshold : Number.NaN);
  return { fires: values.some(breach), values };
}

describe('runs ending FAILED or EXPIRED (EMF metrics of real runs)', () => {
  let h: Harness;
  const servers = makeServers(6, 'alarm');
  beforeAll(async () => {
    h = await startHarness({ emulator: { seed: 6012, resources: [...DEMO.resources, ...servers] } });
  }, 60_000);
  afterAll(async () => h?.stop());

  it('a FAILED and an EXPIRED run fire the alarm; COMPLETED runs alone do not; every run emits started and its end', async () => {
    const ok = await h.startRun(runBody('alarm_ok', [servers[0]!.id, servers[1]!.id]));
    const stuck = await h.startRun(runBody('alarm_stuck', [servers[2]!.id, servers[3]!.id], { completionWindowMinutes: 5 }));
    const failing = await h.startRun(runBody('alarm_error', [servers[4]!.id, servers[5]!.id]));
    const [stuckRun, failingRun] = await Promise.all([h.run(stuck.runId!), h.run(failing.runId!)]);
    h.emulator.faults.scriptCheckpoint({ match: { name: checkpointName(stuckRun, 1) }, outcome: 'never' });
    h.emulator.faults.scriptCheckpoint({ match: { name: checkpointName(failingRun, 1) }, outcome: 'error', reason: 'quota', code: 'BackupService.0002' });
    expect((await h.drive()).done).toBe(true);
    expect((await h.run(ok.runId!)).state).toBe('COMPLETED');
    expect((await h.run(stuck.runId!)).state).toBe('EXPIRED');
    expect((await h.run(failing.runId!)).state).toBe('FAILED');

    const docs = h.emf as Emf[];
    for (const d of docs) expect(d._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    const of = (runId: string) => docs.filter((d) => d.runId === runId);
    for (const id of [ok.runId!, stuck.runId!, failing.runId!]) expect(of(id).filter((d) => d.RunsStarted === 1)).toHaveLength(1);
    expect(of(ok.runId!).find((d) => d.RunsCompleted === 1)).toMatchObject({ BackupDuration: expect.any(Number), AvailableToDetected: expect.any(Number) });
    const completed = of(ok.runId!).find((d) => d.RunsCompleted === 1)!;
    expect(completed.BackupDuration as number).toBeGreaterThan(0);
    expect(completed.AvailableToDetected as number).toBeGreaterThanOrEqual(0);
    expect(completed.AvailableToDetected as number).toBeLessThanOrEqual(5 * 60_000); // the checker's max backoff
    expect(of(stuck.runId!).filter((d) => d.RunsExpired === 1)).toHaveLength(1);
    expect(of(failing.runId!).filter((d) => d.RunsFailed === 1)).toHaveLength(1);

    const alarm = resources.RunsFailedOrExpiredAlarm!;
    for (const m of alarm.Properties.Metrics.filter((x: Json) => x.MetricStat)) expect(m.MetricStat.Metric.Dimensions).toEqual([{ Name: 'Stage', Value: stage }]);
    const all = alarmFires(alarm, docs, 'harness');
    expect(all.fires).toBe(true);
    expect(all.values.reduce((a, b) => a + b, 0)).toBe(2);
    expect(alarmFires(alarm, of(ok.runId!), 'harness')).toMatchObject({ fires: false });
    expect(alarmFires(alarm, of(failing.runId!), 'harness').fires).toBe(true);
    expect(alarmFires(alarm, of(stuck.runId!), 'harness').fires).toBe(true);
    // Another stage's metrics never fire this stage's alarm.
    expect(alarmFires(alarm, docs, stage === 'harness' ? 'x' : stage).fires).toBe(false);
  }, 240_000);

  it('a plan firing Scheduler could not deliver (schedules DLQ -> plan-firing-failed) fires PlanFiringFailedAlarm and counts as a FAILED run', async () => {
    const alarm = resources.PlanFiringFailedAlarm!;
    expect(alarm.Properties).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: 'PlanFiringFailed', Dimensions: [{ Name: 'Stage', Value: stage }] });
    const before = h.emf.length;
    expect(singleMetricAlarmFires(alarm, h.emf as Emf[], 'harness').fires).toBe(false); // the runs above: no failed firing
    const scheduledTime = '2026-12-05T02:00:00Z';
    const input = { source: 'cbr-flow.plan', plan: 'alarm-plan', scheduledTime, request: runBody('alarm_plan', [DEMO.resources[0]!.id]) };
    const attr = (v: string) => ({ stringValue: v, dataType: 'String', stringListValues: [], binaryListValues: [] });
    const record = makeSqsRecord(JSON.stringify(input), { messageAttributes: { ERROR_CODE: attr('AWS.Lambda.TooManyRequestsException'), ERROR_MESSAGE: attr('Rate exceeded') } });
    const handler = planFiringFailedHandler(h.deps, () => {});
    expect(await handler(makeSqsEvent([record]), makeContext())).toEqual({ batchItemFailures: [] });
    const docs = h.emf.slice(before) as Emf[];
    const runId = runIdForPlan('alarm-plan', scheduledTime);
    expect(docs.filter((d) => d.PlanFiringFailed === 1)).toEqual([expect.objectContaining({ plan: 'alarm-plan', runId })]);
    expect(singleMetricAlarmFires(alarm, docs, 'harness')).toMatchObject({ fires: true, values: [1] });
    expect(singleMetricAlarmFires(alarm, docs, stage === 'harness' ? 'x' : stage).fires).toBe(false);
    // The recorded FAILED run also fires the run alarm, once.
    expect(alarmFires(resources.RunsFailedOrExpiredAlarm!, docs, 'harness')).toMatchObject({ fires: true, values: [1] });
    expect((await h.run(runId)).state).toBe('FAILED');
  }, 60_000);

  it('a share member still pending past SHARE_PENDING_ALERT_HOURS (the share sweep) fires SharePendingAlarm', async () => {
    const alarm = resources.SharePendingAlarm!;
    expect(alarm.Properties).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: 'SharePendingTooLong', Dimensions: [{ Name: 'Stage', Value: stage }], AlarmActions: [{ Ref: 'AlarmTopic' }] });
    expect(singleMetricAlarmFires(alarm, h.emf as Emf[], 'harness').fires).toBe(false); // the runs above just shared: nothing pending too long yet
    const before = h.emf.length;
    // The completed runs above shared with the peer project, which never accepts: a day later the sweep alerts.
    h.clock.advance(h.settings.sharePendingAlertMs + 60_000);
    const sweep = await h.sweep();
    expect(sweep.shares!.alerted).toBeGreaterThan(0);
    const docs = h.emf.slice(before) as Emf[];
    expect(singleMetricAlarmFires(alarm, docs, 'harness').fires).toBe(true);
    expect(singleMetricAlarmFires(alarm, docs, stage === 'harness' ? 'x' : stage).fires).toBe(false);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// The retention alarm against the EMF lines of real sweeps (emulator over HTTP, CBR refusing DeleteBackup).

describe('a backup CBR keeps refusing to delete (retention-sweep EMF metrics)', () => {
  let world: RetentionWorld | undefined;
  afterAll(async () => world?.stop());

  /** Maximum of the alarm's metric per period, compared as the alarm does (GreaterThanThreshold). */
  function maxAlarmFires(alarm: Json, docs: Emf[], stageValue: string): { fires: boolean; values: number[] } {
    const p = alarm.Properties;
    expect(p).toMatchObject({ Statistic: 'Maximum', ComparisonOperator: 'GreaterThanThreshold' });
    const values: number[] = [];
    for (const doc of docs) {
      if (!doc._aws.CloudWatchMetrics.some((d) => d.Namespace === p.Namespace && d.Metrics.some((m) => m.Name === p.MetricName))) continue;
      if (!(p.Dimensions as Array<{ Name: string }>).every((d) => doc[d.Name] === stageValue)) continue;
      values.push(Number(doc[p.MetricName]));
    }
    return { fires: values.some((v) => v > p.Threshold), values };
  }

  it('RetentionRefusedPersistingAlarm fires on the sweep that finds a refusal persisting, not on the first refusals nor once deleted', async () => {
    const alarm = resources.RetentionRefusedPersistingAlarm!;
    expect(alarm.Properties).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: 'RetentionRefusedPersisting', Dimensions: [{ Name: 'Stage', Value: stage }], Threshold: 0, AlarmActions: [{ Ref: 'AlarmTopic' }] });
    world = await startRetentionWorld({ rules: { keepLast: 1 }, settings: { refusedAlertSweeps: 2 } });
    for (let d = 0; d < 3; d++) {
      await world.backup();
      world.advance(DAY_MS);
    }
    const docs: Emf[] = [];
    const handler = retentionSweepHandler(world.deps, 'retention', (line) => docs.push(JSON.parse(line) as Emf));
    world.emu.faults.add({ id: 'locked', operations: ['DeleteBackup'], error: { rate: 1, statuses: [400], errorCode: 'BackupService.6220', errorMsg: 'locked vault' }, times: 8 });
    await handler(makeScheduledEvent(), makeContext());
    expect(maxAlarmFires(alarm, docs, 'retention')).toEqual({ fires: false, values: [0] });
    await handler(makeScheduledEvent(), makeContext());
    expect(maxAlarmFires(alarm, docs.slice(1), 'retention')).toEqual({ fires: true, values: [4] });
    await handler(makeScheduledEvent(), makeContext());
    expect(maxAlarmFires(alarm, docs.slice(2), 'retention')).toEqual({ fires: false, values: [0] });
    expect(maxAlarmFires(alarm, docs, 'other-stage').values).toEqual([]);
  }, 60_000);
});
