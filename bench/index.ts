/**
 * `npm run bench` (= tsx bench/index.ts): runs every benchmark of bench/registry.ts and prints ONE
 * table (figure | measured | bound or peer | ratio | goal met?) with numbered notes.
 *   --small        CI size: few repetitions; proves every benchmark runs and yields its rows
 *   --only P3,P6   run a subset
 *   --full         full size where the default is scaled down (P9: one tenth of docs/scale.md's day, minutes)
 *   --json         print {rows, failures, small} as JSON instead of the table
 * Exit code 1 only when a benchmark crashed (its row then reads n/a); a missed goal is a finding,
 * shown as NO in the table, not a failure of the harness.
 */
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarks } from './registry';
import { renderTable } from './table';
import type { BenchContext, BenchRow } from './types';

export interface BenchReport {
  small: boolean;
  rows: BenchRow[];
  failures: Array<{ benchmark: string; error: string }>;
}

export async function runBenchmarks(o: { small: boolean; full?: boolean; only?: readonly string[]; root: string; log?: (m: string) => void }): Promise<BenchReport> {
  const outDir = join(o.root, 'node_modules', '.cache', 'cbr-flow-bench');
  mkdirSync(outDir, { recursive: true });
  const ctx: BenchContext = { small: o.small, full: o.full ?? false, root: o.root, outDir, log: o.log ?? ((m) => process.stderr.write(`${m}\n`)) };
  const selected = o.only?.length ? benchmarks.filter((b) => o.only!.includes(b.id)) : benchmarks;
  const unknown = (o.only ?? []).filter((id) => !benchmarks.some((b) => b.id === id));
  if (unknown.length) throw new Error(`--only: unknown benchmark(s) ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.id).join(', ')}`);
  const report: BenchReport = { small: o.small, rows: [], failures: [] };
  for (const b of selected) {
    const t0 = performance.now();
    ctx.log(`${b.id}: ${b.title}...`);
    try {
      report.rows.push(...(await b.run(ctx)));
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      report.failures.push({ benchmark: b.id, error });
      report.rows.push({ id: `${b.id}.failed`, figure: `${b.id} ${b.title}: FAILED`, measured: Number.NaN, unit: '', bound: Number.NaN, boundLabel: 'n/a', note: error.split('\n')[0]! });
    }
    ctx.log(`${b.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { small: { type: 'boolean', default: false }, full: { type: 'boolean', default: false }, only: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const root = join(import.meta.dirname, '..');
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const report = await runBenchmarks({ small: values.small, full: values.full, root, ...(only ? { only } : {}) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const cpu = cpus();
    process.stdout.write(
      `cbr-flow benchmarks${report.small ? ' (--small: CI size, timings not meaningful)' : ''}: node ${process.version}, ${cpu.length}× ${cpu[0]?.model.trim() ?? 'cpu'}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n\n${renderTable(report.rows)}\n`,
    );
  }
  process.exitCode = report.failures.length ? 1 : 0;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  await main();
}
