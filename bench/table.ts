/** The one table: figure | measured | bound or peer | ratio | goal met?, then numbered notes. */
import { goalMet, goalText, ratioOf } from './types';
import type { BenchRow } from './types';

function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(Math.round(x * 10) / 10);
}

export function renderTable(rows: readonly BenchRow[]): string {
  const header = ['figure', 'measured', 'bound or peer', 'ratio', 'goal met?'];
  const notes: string[] = [];
  const body = rows.map((r) => {
    const ratio = ratioOf(r);
    const met = goalMet(r);
    let figure = r.figure;
    if (r.note) {
      notes.push(r.note);
      figure += ` [${notes.length}]`;
    }
    return [
      figure,
      `${fmt(r.measured)} ${r.unit}`,
      `${fmt(r.bound)} ${r.boundUnit ?? r.unit} (${r.boundLabel})`,
      ratio === undefined ? '—' : `${ratio.toFixed(2)}×`,
      r.goal === undefined ? '—' : `${met ? 'yes' : 'NO'} (${goalText(r.goal)})`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)];
  if (notes.length) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return out.join('\n');
}
