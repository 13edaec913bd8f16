/**
 * P7's measured inputs (docs/scale.md plugs these into its formulas): what ONE backup run costs, counted
 * by driving whole runs through the real use-cases (lib/pipeline) on the pipeline's in-memory fakes
 * (test/unit/pipeline/world.ts: FakeCbr, MemoryRunStore, MemoryBus): CBR calls per run by operation,
 * SQS messages sent, step-handler invocations, store reads/writes and the run record's size. Two runs
 * of the same plan: the first creates its vault, the second finds it (the steady state of a schedule).
 * The checker's sweep is counted apart (its ListBackups is shared by every run pending in a vault).
 */
import type { Message } from '../lib/contracts';
import type { QueueName, RunStore } from '../lib/ports';
import { makeWorld, request } from '../test/unit/pipeline/world';
import type { Benchmark, BenchContext, BenchRow } from './types';

interface Tally {
  cbr: Record<string, number>;
  sqs: Record<string, number>;
  reads: number;
  writes: number;
  queries: number;
  maxRecordBytes: number;
}

const STORE_READS = new Set(['get', 'getLease']);
const STORE_WRITES = new Set(['create', 'save', 'markAnnounced', 'recordNotification', 'acquireLease', 'resolveLease', 'releaseLease']);
const STORE_QUERIES = new Set(['listDue', 'listRecent', 'listRuns']);

/** Counts every store call and the largest record written (≈ DynamoDB item bytes: the adapter stores the record's fields as attributes). */
function countStore(store: RunStore, t: Tally): void {
  const s = store as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of [...STORE_READS, ...STORE_WRITES, ...STORE_QUERIES]) {
    if (typeof s[name] !== 'function') continue; // recordNotification: notify-run-finished's, not every store has it
    const inner = s[name]!.bind(store);
    s[name] = (...args: unknown[]) => {
      if (STORE_READS.has(name)) t.reads++;
      else if (STORE_WRITES.has(name)) t.writes++;
      else t.queries++;
      if (name === 'create' || name === 'save') t.maxRecordBytes = Math.max(t.maxRecordBytes, Buffer.byteLength(JSON.stringify(args[0])));
      return inner(...args);
    };
  }
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const list = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export interface RunTally extends Tally {
  /** Lambda invocations the run caused: start-run + one per message to a step queue (checker sweeps apart). */
  invocations: number;
}

export interface LifecycleFigures {
  /** First run of a plan: creates its vault. */
  first: RunTally;
  /** Next run of the same plan: the vault exists (a schedule's steady state). */
  steady: RunTally;
  finalState: string;
  resources: number;
  shareTargets: number;
}

const STEP_QUEUES = new Set<QueueName>(['vault', 'resources', 'checkpoint', 'share']);

/** Drives two runs of one plan to their end (world.runToEnd: deliver every step message, sweep) and tallies each. */
export async function measureLifecycle(): Promise<LifecycleFigures> {
  const w = makeWorld();
  const input = request();
  const tallies: RunTally[] = [];
  let finalState = '';
  const bus = w.bus as unknown as { send: (q: QueueName, m: Message, o?: object) => Promise<void> };
  const send = bus.send.bind(w.bus);
  for (let r = 0; r < 2; r++) {
    const t: RunTally = { cbr: {}, sqs: {}, reads: 0, writes: 0, queries: 0, maxRecordBytes: 0, invocations: 1 };
    countStore(w.store, t);
    const cbrBefore = { ...w.cbr.calls };
    bus.send = (q, m, o) => {
      t.sqs[m.type] = (t.sqs[m.type] ?? 0) + 1;
      if (STEP_QUEUES.has(q)) t.invocations++;
      return send(q, m, o);
    };
    const run = await w.runToEnd(input);
    finalState = run.state;
    for (const [op, n] of Object.entries(w.cbr.calls)) {
      const d = n - (cbrBefore[op] ?? 0);
      if (d > 0) t.cbr[op] = d;
    }
    tallies.push(t);
    bus.send = send;
    // Drop the counting wrappers (own properties shadowing the prototype's methods).
    for (const name of [...STORE_READS, ...STORE_WRITES, ...STORE_QUERIES]) delete (w.store as unknown as Record<string, unknown>)[name];
  }
  return { first: tallies[0]!, steady: tallies[1]!, finalState, resources: input.resources?.length ?? 0, shareTargets: input.shareWith?.length ?? 0 };
}

export const p7: Benchmark = {
  id: 'P7',
  title: 'one backup run, counted (inputs of docs/scale.md)',
  async run(_ctx: BenchContext): Promise<BenchRow[]> {
    const f = await measureLifecycle();
    if (f.finalState !== 'COMPLETED') throw new Error(`P7: the measured run ended ${f.finalState}, expected COMPLETED`);
    const shape = `${f.resources} servers, shared with ${f.shareTargets} project, on the pipeline's in-memory fakes`;
    const s = f.steady;
    const sweepCalls = (t: RunTally): number => Object.entries(t.cbr).filter(([op]) => /^listbackups$/i.test(op)).reduce((a, [, n]) => a + n, 0);
    return [
      {
        id: 'P7.cbr.run',
        figure: 'P7 CBR calls per run (vault exists), checker excluded',
        measured: sum(s.cbr) - sweepCalls(s),
        unit: 'calls',
        bound: 8,
        boundLabel: 'style.md B.7 lifecycle budget',
        goal: { kind: 'ratio', op: '<=', target: 1 },
        note: `${shape}: ${list(s.cbr)} (ListBackups = the checker's sweep, shared by every run pending in the vault, counted apart); first run of a plan (creates its vault): ${list(f.first.cbr)}`,
      },
      {
        id: 'P7.sqs.run',
        figure: 'P7 SQS messages sent per run',
        measured: sum(s.sqs),
        unit: 'msgs',
        bound: 6,
        boundLabel: 'message types of issue 4',
        note: `${list(s.sqs)}; re-check backoff lives in the store's due index, not in delayed messages`,
      },
      {
        id: 'P7.lambda.run',
        figure: 'P7 Lambda invocations per run, checker excluded',
        measured: s.invocations,
        unit: 'inv',
        bound: 5,
        boundLabel: 'start-run + 4 step handlers',
        note: 'start-run + one per message to a step queue; the checker runs once a minute per deployment whatever the number of runs',
      },
      {
        id: 'P7.store.run',
        figure: 'P7 store writes per run (vault exists)',
        measured: s.writes,
        unit: 'writes',
        bound: s.invocations,
        boundLabel: 'Lambda invocations of the run',
        note: `${s.reads} strongly consistent reads, ${s.queries} queries; largest record written ${s.maxRecordBytes} B (DynamoDB bills writes per 1 KB, reads per 4 KB; both GSIs project ALL)`,
      },
      {
        id: 'P7.record.bytes',
        figure: 'P7 run record size (largest write)',
        measured: s.maxRecordBytes,
        unit: 'B',
        bound: 1024,
        boundLabel: '1 WCU unit',
        note: 'JSON bytes of the record as written (≈ the DynamoDB item: the adapter stores its fields as attributes)',
      },
    ];
  },
};
