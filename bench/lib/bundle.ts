/**
 * Bundles an entry the way the deployment does (serverless.yml `custom.esbuild`, read at run time so
 * the benchmark follows the real settings), and breaks the output down by package with the metafile.
 */
import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';

export interface EsbuildSettings {
  minify: boolean;
  /** Keep function and class names through minification (readable stack traces). */
  keepNames: boolean;
  target: string;
  format: 'cjs' | 'esm';
  platform: 'node';
  /** serverless-esbuild adds `exclude` to esbuild's `external` (and leaves those out of the zip). */
  external: string[];
  /** Where the settings came from, for the table's notes. */
  source: string;
}

/** serverless.yml custom.esbuild, falling back to tooling.md §5's command when the file has none. */
export function deploySettings(root: string): EsbuildSettings {
  const fallback: EsbuildSettings = { minify: true, keepNames: false, target: 'node20', format: 'cjs', platform: 'node', external: ['@aws-sdk/*'], source: 'tooling.md §5 defaults' };
  let doc: unknown;
  try {
    doc = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'));
  } catch {
    return fallback;
  }
  const e = (doc as { custom?: { esbuild?: Record<string, unknown> } } | null)?.custom?.esbuild;
  if (!e) return fallback;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    minify: e.minify === true,
    keepNames: e.keepNames === true,
    target: typeof e.target === 'string' ? e.target : 'node20',
    format: e.format === 'esm' ? 'esm' : 'cjs',
    platform: 'node',
    external: [...list(e.external), ...list(e.exclude)],
    source: 'serverless.yml custom.esbuild',
  };
}

export interface BundleResult {
  outfile: string;
  bytes: number;
  gzipBytes: number;
  metafile: Metafile;
  /** Output bytes per package (`undici`, `zod`, `lib/cbr`, ...), largest first. */
  byPackage: Array<{ name: string; bytes: number }>;
  /** Bare specifiers left external and loaded at module load (e.g. `@aws-sdk/client-sqs`). */
  externals: string[];
  /** External specifiers only reached through a dynamic import() (loaded on first use, not at cold start). */
  lazyExternals: string[];
}

/** `node_modules/@scope/name/...` -> `@scope/name`; `lib/cbr/x.ts` -> `lib/cbr`; else the top folder. */
export function packageOf(input: string): string {
  const nm = input.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = input.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const parts = input.replace(/^\.\//, '').split('/');
  if (parts.length <= 1) return parts[0]!;
  return parts[0] === 'lib' && parts.length > 2 ? `lib/${parts[1]}` : parts[0]!;
}

export async function bundle(o: { entry: string; outfile: string; settings: EsbuildSettings; plugins?: Plugin[]; minify?: boolean; root: string }): Promise<BundleResult> {
  const result = await build({
    entryPoints: [o.entry],
    outfile: o.outfile,
    bundle: true,
    platform: o.settings.platform,
    target: o.settings.target,
    format: o.settings.format,
    external: o.settings.external,
    minify: o.minify ?? o.settings.minify,
    keepNames: o.settings.keepNames,
    legalComments: 'none',
    metafile: true,
    absWorkingDir: o.root,
    logLevel: 'silent',
    plugins: o.plugins ?? [],
  });
  const metafile = result.metafile;
  const out = Object.values(metafile.outputs)[0]!;
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
    const name = packageOf(input);
    sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
  }
  const externals = new Set<string>();
  const lazy = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imp of input.imports) {
      if (!imp.external || imp.path.startsWith('node:') || imp.path === '<runtime>' || isBuiltin(imp.path)) continue; // <runtime>: esbuild's own helpers (keepNames)
      (imp.kind === 'dynamic-import' ? lazy : externals).add(imp.path);
    }
  }
  for (const e of externals) lazy.delete(e);
  return {
    outfile: o.outfile,
    bytes: statSync(o.outfile).size,
    gzipBytes: gzipSync(readFileSync(o.outfile)).length,
    metafile,
    byPackage: [...sizes].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    externals: [...externals].sort(),
    lazyExternals: [...lazy].sort(),
  };
}

/** `undici 290K, zod 61K, lib/cbr 38K` (the `top` largest packages). */
export function describePackages(r: BundleResult, top = 4): string {
  return r.byPackage
    .slice(0, top)
    .map((p) => `${p.name} ${Math.round(p.bytes / 1024)}K`)
    .join(', ');
}

export const kb = (bytes: number): number => Math.round((bytes / 1000) * 10) / 10;
