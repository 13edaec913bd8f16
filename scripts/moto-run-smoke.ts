/**
 * Second half of the moto deploy smoke test (scripts/moto-deploy-smoke.py writes the stack file): one
 * backup run with the PACKAGED function zips, loaded the way Lambda would (the bundled .cjs of each zip,
 * @aws-sdk/* from the runtime's node_modules, the function's environment from the template) by the local
 * Lambda loader (local/lambda.ts), wired to the SQS queues, DynamoDB table and Secrets Manager secrets of
 * the stack moto created (physical ids from DescribeStackResources) and to the CBR emulator. moto cannot
 * run Lambda without Docker, so its event source mappings are driven by the local runtime's SQS poller
 * (local/sqs-source.ts) and the checker's schedule by a timer. Exit 0 when the run ends COMPLETED.
 *
 *   npx tsx scripts/moto-run-smoke.ts <stack.json>
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEMO, startEmulator } from '../emulator/index';
import { isTerminal } from '../lib/store/run';
import { DynamoRunStore } from '../lib/store/dynamodb/store';
import { systemClock } from '../lib/ports';
import { LocalFunction } from '../local/lambda';
import type { SQSEvent } from 'aws-lambda';
import { SqsDriver } from '../local/sqs-driver';
import { LOCAL_PIPELINE_DEFAULTS } from '../local/stack';
import { buildServiceModel, resolveIntrinsics, type CfnTemplate, type LocalResolver } from '../local/template';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** moto's default account. */
const ACCOUNT = '123456789012';
const RUN_TIMEOUT_MS = 180_000;
const CHECKER_EVERY_MS = 3_000;

interface StackFile { endpoint: string; region: string; stage: string; packageDir: string; physical: Record<string, string> }

async function main(): Promise<number> {
  const stack = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as StackFile;
  const template = JSON.parse(readFileSync(join(stack.packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate;
  const state = JSON.parse(readFileSync(join(stack.packageDir, 'serverless-state.json'), 'utf8'));
  const model = buildServiceModel(template, state, stack.stage);
  const physical = (id: string): string => {
    const p = stack.physical[id];
    if (!p) throw new Error(`the stack has no physical id for ${id}`);
    return p;
  };
  const queueByLogical = new Map(model.queues.map((q) => [q.logicalId, { url: physical(q.logicalId), name: q.name, arn: `arn:aws:sqs:${stack.region}:${ACCOUNT}:${q.name}` }]));
  const resolver: LocalResolver = {
    region: stack.region,
    accountId: ACCOUNT,
    stackName: model.stackName,
    ref: (id) => stack.physical[id] || undefined,
    getAtt: (id, attr) => {
      const q = queueByLogical.get(id);
      if (q) return ({ Arn: q.arn, QueueName: q.name, QueueUrl: q.url } as Record<string, string>)[attr];
      return undefined;
    },
  };

  const lines: string[] = [];
  const log = (line: string): void => { lines.push(line); };
  const emulator = await startEmulator({});
  const unzipRoot = join(ROOT, '.serverless-moto'); // inside the project: @aws-sdk/* resolves from its node_modules, as from Lambda's runtime
  rmSync(unzipRoot, { recursive: true, force: true });
  const functions = new Map<string, LocalFunction>();
  let driver: SqsDriver | undefined;
  let checker: NodeJS.Timeout | undefined;
  try {
    for (const f of model.functions) {
      const code = template.Resources[f.logicalId]!.Properties!.Code as { S3Key: string };
      const dir = join(unzipRoot, f.key);
      mkdirSync(dir, { recursive: true });
      execFileSync('unzip', ['-q', '-o', join(stack.packageDir, basename(code.S3Key)), '-d', dir]);
      const [modulePath, exportName] = [f.handler.slice(0, f.handler.lastIndexOf('.')), f.handler.slice(f.handler.lastIndexOf('.') + 1)];
      const env = Object.fromEntries(Object.entries(resolveIntrinsics(f.environment, resolver, `${f.logicalId}.Environment`) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      functions.set(f.logicalId, new LocalFunction({
        key: f.key,
        functionName: physical(f.logicalId),
        arn: `arn:aws:lambda:${stack.region}:${ACCOUNT}:function:${physical(f.logicalId)}`,
        file: join(dir, `${modulePath}.cjs`),
        exportPath: [exportName],
        timeoutSeconds: f.timeoutSeconds,
        memoryMb: f.memoryMb,
        env: {
          ...LOCAL_PIPELINE_DEFAULTS, // the emulator finishes a checkpoint in seconds: check every 2 s, not 30 s
          ...env,
          AWS_REGION: stack.region,
          AWS_DEFAULT_REGION: stack.region,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          // Every AWS SDK client of the function (DynamoDB, SQS, Secrets Manager) talks to moto.
          AWS_ENDPOINT_URL: stack.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: stack.endpoint,
          AWS_ENDPOINT_URL_SQS: stack.endpoint,
          CBR_ENDPOINT: emulator.url,
          IAM_ENDPOINT: emulator.url,
        },
      }, log, () => {}));
    }
    for (const fn of functions.values()) await fn.warm();
    console.log(`  ok   ${functions.size} packaged handlers loaded from their zips (stage ${stack.stage}, secrets from moto's Secrets Manager)`);

    driver = new SqsDriver({ endpoint: stack.endpoint, region: stack.region, time: { kind: 'real' }, log });
    for (const m of model.eventSourceMappings) {
      const q = queueByLogical.get(m.queueLogicalId)!;
      const fn = functions.get(m.functionLogicalId)!;
      driver.add({
        queueUrl: q.url, queueArn: q.arn, queueName: q.name, functionKey: fn.spec.key,
        batchSize: m.batchSize, maximumBatchingWindowInSeconds: m.maximumBatchingWindowInSeconds, reportBatchItemFailures: m.reportBatchItemFailures,
        pollers: 1, invoke: (event: SQSEvent) => fn.invoke(event, 'sqs'),
      });
    }
    driver.start();
    const checkStatus = [...functions.values()].find((f) => f.spec.key === 'check-status')!;
    let sweeping = false;
    checker = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      checkStatus.invoke({ source: 'cbr-flow.check-status' }, 'schedule').catch((e: unknown) => log(`[smoke] sweep failed: ${(e as Error).message}`)).finally(() => { sweeping = false; });
    }, CHECKER_EVERY_MS);

    const sample = JSON.parse(readFileSync(join(ROOT, 'events/start-run.invoke.json'), 'utf8')) as Record<string, unknown>;
    const envelope = { ...sample, id: randomUUID(), runId: randomUUID(), occurredAt: new Date().toISOString() };
    const startRun = [...functions.values()].find((f) => f.spec.key === 'start-run')!;
    const answer = await startRun.invoke(envelope, 'invoke');
    console.log(`  ok   start-run (direct invoke) -> ${JSON.stringify(answer)}`);
    const runId = envelope.runId;

    const store = new DynamoRunStore(new DynamoDBClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }), physical('RunsTable'), systemClock);
    const started = Date.now();
    let run = await store.get(runId);
    while (!(run && isTerminal(run.state)) && Date.now() - started < RUN_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      run = await store.get(runId);
    }
    if (run) for (const e of run.timeline) console.log(`       [+${((e.at - run.createdAt) / 1000).toFixed(1).padStart(5)}s] ${e.step.padEnd(16)} ${e.event}${e.detail ? `  ${e.detail.slice(0, 90)}` : ''}`);
    const emf = lines.filter((l) => l.includes('"_aws"') && l.includes(runId));
    const completed = run?.state === 'COMPLETED';
    console.log(`  ${completed ? 'ok  ' : 'FAIL'} run ${runId} ${run?.state ?? 'not found'} in ${((Date.now() - started) / 1000).toFixed(1)} s against moto (table ${physical('RunsTable')}) and the CBR emulator (project ${DEMO.projectId})`);
    console.log(`  ${emf.some((l) => l.includes('"RunsCompleted"')) ? 'ok  ' : 'FAIL'} EMF metrics written: ${emf.length} lines (RunsStarted, RunsCompleted)`);
    if (!completed || !emf.some((l) => l.includes('"RunsCompleted"'))) {
      console.log(lines.filter((l) => /"level":"(warn|error)"|Runtime\./.test(l)).slice(-30).join('\n'));
      return 1;
    }
    return 0;
  } finally {
    if (checker) clearInterval(checker);
    await driver?.stop();
    await Promise.all([...functions.values()].map((f) => f.stop()));
    await emulator.stop();
    rmSync(unzipRoot, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`moto run smoke: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
