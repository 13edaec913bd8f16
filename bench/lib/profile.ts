/**
 * Reads a V8 .cpuprofile of a process running an esbuild bundle and says where the CPU went: self time
 * per package (undici, zod, lib/cbr, axios...) and per node built-in, using the `// path/to/module`
 * comments esbuild writes at each module's start in a non-minified bundle.
 */
import { readFileSync } from 'node:fs';
import { packageOf } from './bundle';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Line -> module path for a non-minified esbuild bundle. */
function moduleMap(bundleFile: string): (line: number) => string {
  const starts: Array<{ line: number; path: string }> = [];
  readFileSync(bundleFile, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const m = /^\s*\/\/ ((?:node_modules|lib|bench|emulator|functions)\/\S+\.[cm]?[jt]s)$/.exec(text);
      if (m) starts.push({ line, path: m[1]! });
    });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let best = '(bundle prelude)';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]!.line <= line) {
        best = starts[mid]!.path;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  };
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time per group (package, `node:<file>`, `(gc)`, `(program)`), idle excluded; largest first. */
  groups: Array<{ name: string; ms: number; share: number }>;
  /** Hottest functions by self time. */
  functions: Array<{ name: string; where: string; ms: number; share: number }>;
}

export function summariseProfile(profileFile: string, bundleFile: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: charge it to samples[i - 1].
  for (let i = 1; i < p.samples.length; i++) self.set(p.samples[i - 1]!, (self.get(p.samples[i - 1]!) ?? 0) + p.timeDeltas[i]! / 1000);
  const where = moduleMap(bundleFile);
  const groups = new Map<string, number>();
  const fns = new Map<string, { where: string; ms: number }>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const { url, functionName, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    total += ms;
    let group: string;
    let loc: string;
    if (functionName === '(garbage collector)') group = loc = '(gc)';
    else if (functionName === '(program)' || functionName === '(root)') group = loc = '(program)';
    else if (url.endsWith(bundleFile) || url === bundleFile) {
      loc = where(lineNumber);
      group = packageOf(loc);
    } else if (url.startsWith('node:')) {
      group = url.replace(/^node:(internal\/)?/, 'node:').replace(/\/.*$/, '');
      loc = url;
    } else {
      group = url === '' ? '(native)' : url;
      loc = group;
    }
    groups.set(group, (groups.get(group) ?? 0) + ms);
    const key = `${functionName || '(anonymous)'} @ ${loc}`;
    const f = fns.get(key) ?? { where: loc, ms: 0 };
    f.ms += ms;
    fns.set(key, f);
  }
  return {
    totalMs: total,
    groups: [...groups].map(([name, ms]) => ({ name, ms, share: ms / total })).sort((a, b) => b.ms - a.ms),
    functions: [...fns]
      .map(([name, f]) => ({ name: name.split(' @ ')[0]!, where: f.where, ms: f.ms, share: f.ms / total }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

export function renderProfile(title: string, s: ProfileSummary, perRequestDivisor: number): string {
  const us = (ms: number) => ((ms * 1000) / perRequestDivisor).toFixed(1);
  const lines = [`${title}: ${us(s.totalMs)} µs/request on-CPU (profiler on)`, '  by package / built-in (self time):'];
  for (const g of s.groups.slice(0, 12)) lines.push(`    ${(g.share * 100).toFixed(1).padStart(5)}%  ${us(g.ms).padStart(7)} µs  ${g.name}`);
  lines.push('  hottest functions (self time):');
  for (const f of s.functions) lines.push(`    ${(f.share * 100).toFixed(1).padStart(5)}%  ${us(f.ms).padStart(7)} µs  ${f.name}  (${f.where})`);
  return lines.join('\n');
}
