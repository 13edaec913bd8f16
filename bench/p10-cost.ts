/**
 * P10: cost per backup run (2 servers, shared with 1 project, a 10-minute backup) in us-east-1, cbr-flow
 * against the same run as an AWS Step Functions workflow, from measured counts:
 *   - cbr-flow: the run's Lambda invocations, SQS messages and store reads/writes counted by P7
 *     (bench/p7-lifecycle.ts, the real use-cases), and the checker's share measured by P8's simulation
 *     (bench/p8-detection-lag.ts: the checker invocations' virtual duration, sleeps between sweeps
 *     included, since Lambda bills them), for a run alone in its deployment (worst case: nobody shares
 *     the checker) and for 1,000 runs an hour.
 *   - Step Functions Standard: one state per step (vault, resources, checkpoint, share, succeed) and a
 *     Wait 30 s -> CheckStatus task -> Choice loop until the backup is done (a 30 s poll: 3x the lag of
 *     P8's schedule, so this favours Step Functions); Express: its 5-minute limit means a chain of
 *     executions whose duration (Wait states included) is billed per GB-s at the 64 MB minimum.
 *     Both still need a Lambda per CBR call (CBR is not an AWS service): only those requests are added,
 *     not their GB-s, so the Step Functions figures are lower bounds.
 * Prices: us-east-1 public price lists, looked up 2026-12-05 (see PRICES). Free tiers are ignored.
 * Billed duration per step invocation is an assumption (STEP_BILLED_MS), not a measurement: the steps'
 * time is mostly CBR's answer time, which only a real CBR shows.
 */
import { measureLifecycle } from './p7-lifecycle';
import { measureLag, NEW } from './p8-detection-lag';
import { round } from './lib/stats';
import type { Benchmark, BenchContext, BenchRow } from './types';

/** us-east-1 list prices in USD, looked up 2026-12-05. */
export const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ (x86, first 6 B GB-s a month) */
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecond: 0.0000166667,
  /** https://aws.amazon.com/sqs/pricing/ (standard queue, per request of up to 64 KB) */
  sqsRequest: 0.4 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand, since the Nov 2024 price cut) */
  dynamoWrite: 0.625 / 1e6,
  dynamoRead: 0.125 / 1e6,
  /** https://aws.amazon.com/step-functions/pricing/ (Standard: per state transition; Express: per request and GB-s) */
  sfnTransition: 0.025 / 1000,
  sfnExpressRequest: 1 / 1e6,
  sfnExpressGbSecond: 0.00001667,
} as const;

const BACKUP_MS = 10 * 60_000;
/** Assumed billed duration of one step invocation (256 MB): a CBR call or two and a DynamoDB write. */
const STEP_BILLED_MS = 1000;
const STEP_GB = 0.25; // serverless.yml provider.memorySize 256
const CHECKER_GB = 0.5; // serverless.yml check-status memorySize 512
/** Assumed compute per checker sweep on top of the measured (virtual) time, for the sweep itself. */
const SWEEP_COMPUTE_MS = 100;
/** SQS requests per message: SendMessage, the event source mapping's ReceiveMessage and DeleteMessageBatch (each at most one per message). */
const SQS_REQUESTS_PER_MESSAGE = 3;
/**
 * DynamoDB write units per store write: the item (record < 4 KB: up to 4 WRU a 1 KB unit) plus the
 * due and recent GSIs (projection ALL) that most writes touch. Upper bound: 3 copies of ceil(KB).
 */
const writeUnits = (recordBytes: number): number => 3 * Math.ceil(recordBytes / 1024);
const readUnits = (recordBytes: number): number => Math.ceil(recordBytes / 4096);

const usd = (x: number): number => round(x * 1e6, 1); // micro-dollars

export const p10: Benchmark = {
  id: 'P10',
  title: 'cost per run vs AWS Step Functions Standard and Express (us-east-1 list prices)',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const life = await measureLifecycle();
    if (life.finalState !== 'COMPLETED') throw new Error(`P10: the measured run ended ${life.finalState}`);
    const s = life.steady;
    const messages = Object.values(s.sqs).reduce((a, b) => a + b, 0);
    const events = (s.sqs['checkpoint.started'] ?? 0) + (s.sqs['run.finished'] ?? 0); // consumed by notify-run-finished
    const stepInvocations = s.invocations + events;
    const stepCost =
      stepInvocations * (PRICES.lambdaRequest + STEP_GB * (STEP_BILLED_MS / 1000) * PRICES.lambdaGbSecond) +
      messages * SQS_REQUESTS_PER_MESSAGE * PRICES.sqsRequest +
      s.writes * writeUnits(s.maxRecordBytes) * PRICES.dynamoWrite +
      (s.reads + s.queries) * readUnits(s.maxRecordBytes) * PRICES.dynamoRead;

    // The checker's share: measured on P8's simulation with the deployed schedule.
    const lone = await measureLag({ runs: 1, schedule: NEW, durationMs: BACKUP_MS, seed: 3 });
    const busy = await measureLag({ runs: ctx.small ? 100 : 1000, schedule: NEW });
    ctx.log(`P10: lone run checker ${JSON.stringify(lone)}; busy ${busy.runs} runs checker ${busy.checkerBilledMs} ms over ${busy.invocations} invocations`);
    const checkerCost = (f: typeof lone, perRuns: number): number => {
      const billedS = (f.checkerBilledMs + f.sweeps * SWEEP_COMPUTE_MS) / 1000;
      // Each sweep reads the due index (4 shards, eventually consistent queries: >= 0.5 RRU each -> 1 RRU rounded up per 2).
      const queries = f.sweeps * 4;
      return (f.invocations * PRICES.lambdaRequest + billedS * CHECKER_GB * PRICES.lambdaGbSecond + (queries / 2) * PRICES.dynamoRead) / perRuns;
    };
    // A lone run: only the invocations that had something to look at count (the checker's idle minutes, a
    // few ms each with nothing due, are the deployment's fixed cost, not the run's).
    const loneChecker = checkerCost(lone, 1);
    const busyChecker = checkerCost(busy, busy.runs);

    // Step Functions, same run: Start..Succeed plus the poll loop (Wait 30 s, CheckStatus, Choice).
    const polls = Math.ceil(BACKUP_MS / 30_000);
    const transitions = 5 + 3 * polls;
    const cbrTasks = 3 + polls; // vault, resources + checkpoint, share, one per poll (Lambda tasks: CBR is no AWS service)
    const standard = transitions * PRICES.sfnTransition + cbrTasks * PRICES.lambdaRequest;
    const runWallS = BACKUP_MS / 1000 + 30; // the backup and the steps around it
    const expressExecutions = Math.ceil(runWallS / 300); // 5-minute limit: a chain of executions
    const express = expressExecutions * PRICES.sfnExpressRequest + 0.0625 * runWallS * PRICES.sfnExpressGbSecond + cbrTasks * PRICES.lambdaRequest;

    const ours = (checker: number) => stepCost + checker;
    const inputs =
      `measured: ${stepInvocations} step invocations (P7 ${s.invocations} + ${events} event consumer), ${messages} SQS messages (x${SQS_REQUESTS_PER_MESSAGE} requests), ` +
      `${s.writes} store writes (x${writeUnits(s.maxRecordBytes)} WRU: ${s.maxRecordBytes} B record, 2 GSIs), ${s.reads + s.queries} reads; assumed ${STEP_BILLED_MS} ms billed per step at 256 MB`;
    const priceNote =
      'us-east-1 list prices looked up 2026-12-05: Lambda $0.20/M requests + $0.0000166667/GB-s (aws.amazon.com/lambda/pricing), SQS $0.40/M requests (aws.amazon.com/sqs/pricing), ' +
      'DynamoDB on-demand $0.625/M WRU, $0.125/M RRU (aws.amazon.com/dynamodb/pricing/on-demand), Step Functions Standard $0.025/1,000 transitions, Express $1.00/M requests + $0.00001667/GB-s (aws.amazon.com/step-functions/pricing); free tiers ignored';
    return [
      {
        id: 'P10.standard',
        figure: 'P10 cost per run, Step Functions Standard (30 s poll), µ$',
        measured: usd(standard),
        unit: 'µ$',
        bound: usd(express),
        boundLabel: 'Express (chain of 5-min executions)',
        note: `${transitions} state transitions (5 + ${polls} polls x Wait/Task/Choice) + ${cbrTasks} Lambda task requests (their GB-s not counted: a lower bound); Express: ${expressExecutions} executions, ${runWallS} s at 64 MB; ${priceNote}`,
      },
      {
        id: 'P10.run.lone',
        figure: 'P10 cost per run, cbr-flow, run alone in its deployment, µ$',
        measured: usd(ours(loneChecker)),
        unit: 'µ$',
        bound: usd(standard),
        boundLabel: 'Step Functions Standard',
        goal: { kind: 'ratio', op: '<=', target: 0.5 },
        note:
          `steps ${usd(stepCost)} µ$ (${inputs}) + checker ${usd(loneChecker)} µ$: ${lone.invocations} invocations from the simulated hour's start until the run was seen (idle ones included), ${lone.sweeps} sweeps, ${round(lone.checkerBilledMs / 1000)} s billed at 512 MB (sleeps between sweeps included), measured on P8's simulation with a 10-min backup; ` +
          `the checker's idle minutes (every minute, one due-index read, ~${SWEEP_COMPUTE_MS} ms) are the deployment's fixed cost: ~${round((1440 * (PRICES.lambdaRequest + (SWEEP_COMPUTE_MS / 1000) * CHECKER_GB * PRICES.lambdaGbSecond + 2 * PRICES.dynamoRead)) * 30, 2)} $/month`,
      },
      {
        id: 'P10.run.busy',
        figure: `P10 cost per run, cbr-flow, ${busy.runs.toLocaleString('en-US')} runs an hour, µ$`,
        measured: usd(ours(busyChecker)),
        unit: 'µ$',
        bound: usd(standard),
        boundLabel: 'Step Functions Standard',
        goal: { kind: 'ratio', op: '<=', target: 0.5 },
        note: `steps ${usd(stepCost)} µ$ + checker ${usd(busyChecker)} µ$ (${busy.invocations} invocations, ${busy.sweeps} sweeps, ${round(busy.checkerBilledMs / 1000)} s billed for ${busy.runs} runs of 2-60 min)`,
      },
    ];
  },
};
