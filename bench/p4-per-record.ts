/**
 * P4 in the table: runs the pipeline's own per-record benchmark (bench/per-record.ts, owned by the
 * pipeline: a step handler on 10-record SQS batches with the CBR port and store as in-process fakes)
 * in a child process (`node --expose-gc --import tsx`, as its header says) and turns the JSON line it
 * prints into rows. Bound: the goal, 1 ms per record at p99.
 */
import { join } from 'node:path';
import { childEnv, runNode } from './lib/child';
import { round } from './lib/stats';
import type { Benchmark, BenchContext, BenchRow } from './types';

interface PerRecordResult {
  batches: number;
  recordsPerBatch: number;
  goalP99Us?: number;
  // Field names as printed by bench/per-record.ts (older and newer spellings).
  wallMedianUs?: number;
  wallP99Us?: number;
  medianUs?: number;
  p99Us?: number;
  cpuMedianUs?: number;
  cpuP99Us?: number;
}

function lastJsonLine(stdout: string): PerRecordResult {
  for (const line of stdout.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as PerRecordResult;
    } catch {
      // not the result line
    }
  }
  throw new Error(`P4: bench/per-record.ts printed no JSON result line:\n${stdout.slice(-500)}`);
}

export const p4: Benchmark = {
  id: 'P4',
  title: 'per-record handler overhead (bench/per-record.ts)',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const batches = ctx.small ? 20 : 400;
    const { stdout } = await runNode(['--expose-gc', '--import', 'tsx', join(ctx.root, 'bench/per-record.ts'), String(batches)], {
      env: childEnv(),
      cwd: ctx.root,
      timeoutMs: 300_000,
    });
    const r = lastJsonLine(stdout);
    const p99 = r.wallP99Us ?? r.p99Us;
    const med = r.wallMedianUs ?? r.medianUs;
    if (typeof p99 !== 'number' || typeof med !== 'number') throw new Error(`P4: result has no median/p99 field: ${JSON.stringify(r)}`);
    const goal = r.goalP99Us ?? 1000;
    const cpu = r.cpuP99Us !== undefined ? `; CPU median ${round(r.cpuMedianUs ?? Number.NaN)} µs, p99 ${round(r.cpuP99Us)} µs` : '';
    const base = `${r.batches} batches of ${r.recordsPerBatch} records after warm-up, CBR port and store as in-process fakes`;
    return [
      {
        id: 'P4.p99',
        figure: 'P4 per-record overhead p99',
        measured: round(p99),
        unit: 'µs',
        bound: goal,
        boundLabel: 'goal 1 ms',
        goal: { kind: 'ratio', op: '<=', target: 1 },
        note: `${base}${cpu}`,
      },
      {
        id: 'P4.median',
        figure: 'P4 per-record overhead median',
        measured: round(med),
        unit: 'µs',
        bound: goal,
        boundLabel: 'goal 1 ms (p99)',
        note: base,
      },
    ];
  },
};
