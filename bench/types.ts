/**
 * The one row type every benchmark returns, and the context the harness gives it. A benchmark is a
 * module exporting a {@link Benchmark}; bench/registry.ts lists them, bench/index.ts runs them and
 * prints every row in one table: figure | measured | bound or peer | ratio | goal met?.
 */

/** How a row's goal is judged. `ratio`: against measured / bound; `value`: against measured itself. */
export type Goal =
  | { kind: 'ratio'; op: '<=' | '>='; target: number }
  | { kind: 'value'; op: '<=' | '>='; target: number };

export interface BenchRow {
  /** Stable id, e.g. `P3.bytes`, `P6.bytes.get-run`. */
  id: string;
  /** Human label for the table, e.g. `P3 bundle bytes (ours vs official SDK)`. */
  figure: string;
  /** The measured value in `unit` (a finite number; NaN only when the benchmark failed). */
  measured: number;
  /** e.g. `KB`, `ms`, `µs/req`, `req/s`, `checks/s`, `MB`. */
  unit: string;
  /** The physical bound, the peer's figure or the hard limit this row is compared with (same unit). */
  bound: number;
  /** What `bound` is: `official SDK 3.1.211`, `C / L`, `hello-world`, `limit`... */
  boundLabel: string;
  /** Unit of `bound` when it differs from `unit` (rare; the ratio is then not printed). */
  boundUnit?: string;
  /** Absent = figure reported for information (the goal column shows `—`). */
  goal?: Goal;
  /** Short explanation: what the number includes, why a goal is missed, where the time goes. */
  note?: string;
}

export interface BenchContext {
  /** CI size: few repetitions, only proves every benchmark runs and yields its rows. */
  small: boolean;
  /** `--full`: benchmarks whose default is a scaled-down run (P9) run their full size. */
  full?: boolean;
  /** Project root (absolute). */
  root: string;
  /** Scratch folder for bundles and profiles (inside node_modules/.cache, so never committed). */
  outDir: string;
  /** Progress lines go to stderr so stdout stays the table (or JSON with --json). */
  log(message: string): void;
}

export interface Benchmark {
  /** `P3`, `P6`... (selectable with `--only P3,P6`). */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function ratioOf(row: BenchRow): number | undefined {
  if (row.boundUnit !== undefined && row.boundUnit !== row.unit) return undefined;
  if (!Number.isFinite(row.measured) || !Number.isFinite(row.bound) || row.bound === 0) return undefined;
  return row.measured / row.bound;
}

/** true / false when the row has a goal, undefined when it is informational. */
export function goalMet(row: BenchRow): boolean | undefined {
  const g = row.goal;
  if (!g) return undefined;
  const x = g.kind === 'ratio' ? ratioOf(row) : row.measured;
  if (x === undefined || !Number.isFinite(x)) return false;
  return g.op === '<=' ? x <= g.target : x >= g.target;
}

export function goalText(g: Goal): string {
  return g.kind === 'ratio' ? `${g.op === '<=' ? '≤' : '≥'} ${g.target}×` : `${g.op === '<=' ? '≤' : '≥'} ${g.target}`;
}
