// `npm run bench -- --small` as CI runs it: every registered benchmark runs and yields rows with a
// measured number and a bound. Timings are not asserted (a 2-core CI box is no benchmark machine).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/index';
import { discoverFunctions, NON_CBR_FUNCTIONS } from '../../bench/p6-cold-start';
import { renderTable } from '../../bench/table';
import { goalMet, ratioOf } from '../../bench/types';
import type { BenchRow } from '../../bench/types';

const root = join(import.meta.dirname, '../..');

function row(over: Partial<BenchRow>): BenchRow {
  return { id: 'X', figure: 'x', measured: 1, unit: 'ms', bound: 2, boundLabel: 'peer', ...over };
}

describe('bench harness', () => {
  it('judges goals on the ratio or on the value', () => {
    expect(ratioOf(row({ measured: 30, bound: 100 }))).toBeCloseTo(0.3);
    expect(goalMet(row({ measured: 30, bound: 100, goal: { kind: 'ratio', op: '<=', target: 0.3 } }))).toBe(true);
    expect(goalMet(row({ measured: 31, bound: 100, goal: { kind: 'ratio', op: '<=', target: 0.3 } }))).toBe(false);
    expect(goalMet(row({ measured: 95, bound: 100, goal: { kind: 'ratio', op: '>=', target: 0.9 } }))).toBe(true);
    expect(goalMet(row({ measured: 0, bound: 0, goal: { kind: 'value', op: '<=', target: 0 } }))).toBe(true);
    expect(goalMet(row({ measured: 286, bound: 0, goal: { kind: 'value', op: '<=', target: 0 } }))).toBe(false);
    expect(goalMet(row({ measured: Number.NaN, goal: { kind: 'ratio', op: '<=', target: 1 } }))).toBe(false);
    expect(goalMet(row({}))).toBeUndefined();
  });

  it('--small runs every benchmark and yields a number and a bound on every row', { timeout: 180_000 }, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/index.ts', '--small', '--json'], {
      cwd: root,
      timeout: 178_000, // P9's --small day adds ~10 s; the 2 shared cores are often at load 5+
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = JSON.parse(stdout) as BenchReport;
    expect(report.failures).toEqual([]);
    expect(report.small).toBe(true);
    for (const r of report.rows) {
      expect(Number.isFinite(r.measured), `${r.id} measured`).toBe(true);
      expect(Number.isFinite(r.bound), `${r.id} bound`).toBe(true);
      expect(r.boundLabel, `${r.id} bound label`).not.toBe('');
      expect(r.unit, `${r.id} unit`).not.toBe('');
    }
    const ids = report.rows.map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['P3.bytes', 'P3.import', 'P3.cpu', 'P3.rps', 'P4.p99', 'P6.hello', 'P7.cbr.run', 'P7.record.bytes', 'P8.lag.p95', 'P8.calls', 'P9.cbr', 'P9.rps', 'P9.lag.p95']));
    const functions = discoverFunctions(root);
    expect(functions.length).toBeGreaterThan(0);
    for (const f of functions) expect(ids).toEqual(expect.arrayContaining([`P6.bytes.${f}`, `P6.import.${f}`]));
    for (const f of NON_CBR_FUNCTIONS.filter((n) => functions.includes(n))) expect(ids).toContain(`P6.undici.${f}`);
    // The printed table has one line per row (plus header and rule) and a note for each annotated row.
    const table = renderTable(report.rows);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\| figure +\| +measured \| +bound or peer \| +ratio \| +goal met\? \|$/);
    for (const r of report.rows) expect(lines.some((l) => l.startsWith(`| ${r.figure}`))).toBe(true);
  });
});
