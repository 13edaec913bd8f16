/**
 * P6: every function bundle (functions/*.ts, discovered at run time) built the way the deployment
 * builds it (serverless.yml custom.esbuild: cjs, node20, minified with keepNames, @aws-sdk/* external),
 * beside today's build (issue 17: the same without keepNames) and a bare middy hello-world:
 *   - bytes against the 1 MB cap;
 *   - cold import (require in a fresh node, NODE_EXTRA_CA_CERTS unset, median of >= 7, all bundles of
 *     both builds interleaved) against the 120 ms goal, today's build beside it, with where the time
 *     goes (the @aws-sdk clients loaded from node_modules as the Lambda runtime would, the hello-world,
 *     the function's own bundle);
 *   - functions that never call CBR (start-run, get-run) must not contain undici: a row with the
 *     undici bytes their metafile shows, goal 0.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEMO } from '../emulator/index';
import { bundle, deploySettings, describePackages, kb } from './lib/bundle';
import type { BundleResult } from './lib/bundle';
import { childEnv, coldImports, nodeBaselineMs } from './lib/child';
import { round } from './lib/stats';
import type { Benchmark, BenchContext, BenchRow } from './types';

/** Functions that never call CBR (issue 7: the webhook and get-run) and so must not bundle undici. */
export const NON_CBR_FUNCTIONS: readonly string[] = ['start-run', 'get-run'];
const LIMIT_KB = 1000; // 1 MB

/** The handlers parse their environment at module load (lib/config.ts): give them a local-stage one. */
function handlerEnv(): NodeJS.ProcessEnv {
  const q = (name: string) => `http://127.0.0.1:9324/000000000000/cbr-flow-local-${name}`;
  return childEnv({
    STAGE: 'local',
    AWS_REGION: 'ap-southeast-1',
    TABLE_NAME: 'cbr-flow-local-runs',
    INTAKE_QUEUE_URL: q('intake'),
    VAULT_QUEUE_URL: q('vault'),
    RESOURCES_QUEUE_URL: q('resources'),
    CHECKPOINT_QUEUE_URL: q('checkpoint'),
    SHARE_QUEUE_URL: q('share'),
    EVENTS_QUEUE_URL: q('events'),
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
    AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9324',
    CBR_ENDPOINT: 'http://127.0.0.1:9880',
    IAM_ENDPOINT: 'http://127.0.0.1:9880',
    CBR_REGION: DEMO.region,
    CBR_CREDENTIALS_JSON: JSON.stringify({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }),
    // POST /runs is authenticated in every stage: the local stage takes its webhook keys inline.
    WEBHOOK_KEYS_JSON: JSON.stringify([`whsec_${Buffer.alloc(32, 7).toString('base64')}`]),
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
}

export function discoverFunctions(root: string): string[] {
  return readdirSync(join(root, 'functions'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
}

function undiciBytes(b: BundleResult): number {
  return b.byPackage.find((p) => p.name === 'undici')?.bytes ?? 0;
}

function explain(b: BundleResult): string {
  const lazy = b.lazyExternals.length ? `; lazy import() only: ${b.lazyExternals.join(', ')}` : '';
  return `bundled: ${describePackages(b)}; external at load (Lambda runtime provides them): ${b.externals.join(', ') || 'none'}${lazy}`;
}

/**
 * A file that only require()s a set of external packages: its cold import is the share of a function's
 * import time that comes from the @aws-sdk clients it leaves to the runtime, not from its own bundle.
 */
function externalsOnly(dir: string, externals: readonly string[], n: number): string {
  const file = join(dir, `_externals-${n}.cjs`);
  writeFileSync(file, `module.exports = [${externals.map((e) => `require(${JSON.stringify(e)})`).join(', ')}];\n`);
  return file;
}

export const p6: Benchmark = {
  id: 'P6',
  title: 'function bundles: size and cold import vs a middy hello-world',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const dir = join(ctx.outDir, 'p6');
    mkdirSync(dir, { recursive: true });
    const settings = deploySettings(ctx.root);
    const names = discoverFunctions(ctx.root);
    if (names.length === 0) throw new Error('P6: functions/ has no *.ts handler yet');
    const hello = await bundle({ root: ctx.root, entry: join(ctx.root, 'bench/p6/hello.ts'), outfile: join(dir, '_hello-world.cjs'), settings });
    // Today's build (issue 17): the same settings without keepNames, so a stack read `at lf (start-run.cjs:57:32695)`.
    const todaySettings = { ...settings, keepNames: false };
    // --small (CI) proves the rows come out: today's build is neither built nor imported there.
    const fns: Array<{ name: string; b: BundleResult; today?: BundleResult }> = [];
    mkdirSync(join(dir, 'today'), { recursive: true });
    for (const name of names) {
      const entry = join(ctx.root, 'functions', `${name}.ts`);
      const b = await bundle({ root: ctx.root, entry, outfile: join(dir, `${name}.cjs`), settings });
      fns.push(ctx.small ? { name, b } : { name, b, today: await bundle({ root: ctx.root, entry, outfile: join(dir, 'today', `${name}.cjs`), settings: todaySettings }) });
    }
    ctx.log(`P6 bundles: ${fns.map((f) => `${f.name} ${kb(f.b.bytes)} KB`).join(', ')}; hello-world ${kb(hello.bytes)} KB`);

    const runs = ctx.small ? 2 : 9;
    const env = handlerEnv();
    const baseline = await nodeBaselineMs(ctx.small ? 2 : 5, env);
    // One externals-only file per distinct set of load-time externals (usually one or two sets).
    const sets = [...new Set(fns.map((f) => f.b.externals.join('\n')))].filter((k) => k !== '');
    const setFiles = sets.map((k, n) => externalsOnly(dir, k.split('\n'), n));
    const imports = await coldImports([hello.outfile, ...fns.map((f) => f.b.outfile), ...setFiles, ...fns.flatMap((f) => (f.today ? [f.today.outfile] : []))], runs, env);
    const helloImport = imports[0]!;
    const externalsImport = (b: BundleResult) => {
      const n = sets.indexOf(b.externals.join('\n'));
      return n < 0 ? undefined : imports[1 + fns.length + n]!;
    };
    const todayImport = (i: number) => imports[1 + fns.length + sets.length + i];
    const todayMs = (i: number, k: 'importMs' | 'cpuMs') => {
      const t = todayImport(i);
      return t ? `${round(t[k])} ms` : 'not measured (--small)';
    };
    for (const [i, f] of fns.entries()) {
      if (!imports[i + 1]!.exports.includes('handler')) throw new Error(`P6: bundle of functions/${f.name}.ts exports no handler (exports: ${imports[i + 1]!.exports.join(', ')})`);
    }

    const rows: BenchRow[] = [
      {
        id: 'P6.hello',
        figure: 'P6 cold import, middy hello-world',
        measured: round(helloImport.importMs),
        unit: 'ms',
        bound: round(baseline),
        boundLabel: 'node -e 0 start-up',
        note: `${kb(hello.bytes)} KB; require() in a fresh node (NODE_EXTRA_CA_CERTS unset), median of ${runs}, all bundles interleaved; bound = the whole node start-up every cold start pays first; bundles built with ${settings.source} (minify ${settings.minify}, keepNames ${settings.keepNames}, ${settings.target}, ${settings.format}, external ${settings.external.join(' ') || 'none'})`,
      },
    ];
    for (const [i, f] of fns.entries()) {
      const imp = imports[i + 1]!;
      const ext = externalsImport(f.b);
      const extMs = ext?.importMs ?? 0;
      rows.push({
        id: `P6.bytes.${f.name}`,
        figure: `P6 bundle, ${f.name}`,
        measured: kb(f.b.bytes),
        unit: 'KB',
        bound: LIMIT_KB,
        boundLabel: 'cap 1 MB',
        goal: { kind: 'ratio', op: '<=', target: 1 },
        note: `${explain(f.b)}; gzip ${kb(f.b.gzipBytes)} KB; today's build ${f.today ? `${kb(f.today.bytes)} KB` : 'not built (--small)'}`,
      });
      rows.push({
        id: `P6.import.${f.name}`,
        figure: `P6 cold import, ${f.name} (new build)`,
        measured: round(imp.importMs),
        unit: 'ms',
        bound: 120,
        boundLabel: `goal; today's build ${todayMs(i, 'importMs')}`,
        goal: { kind: 'value', op: '<=', target: 120 },
        note:
          `CPU ${round(imp.cpuMs)} ms (today's build ${todayMs(i, 'cpuMs')}); where it goes: ${round(extMs)} ms (CPU ${round(ext?.cpuMs ?? 0)}) loading its ${f.b.externals.length} external @aws-sdk package(s) from node_modules as the runtime would, ` +
          `${round(helloImport.importMs)} ms middy hello-world, ${round(imp.importMs - extMs - helloImport.importMs)} ms for its own ${kb(f.b.bytes)} KB (${describePackages(f.b)}) and module-scope work (config parse, client construction)`,
      });
      if (NON_CBR_FUNCTIONS.includes(f.name)) {
        const cbrInputs = Object.keys(f.b.metafile.inputs).filter((p) => p.includes('lib/cbr/'));
        rows.push({
          id: `P6.undici.${f.name}`,
          figure: `P6 undici bytes in ${f.name} (never calls CBR)`,
          measured: kb(undiciBytes(f.b)),
          unit: 'KB',
          bound: 0,
          boundLabel: 'must be 0',
          goal: { kind: 'value', op: '<=', target: 0 },
          note: `esbuild metafile inputs: ${undiciBytes(f.b) ? 'undici is bundled' : 'no undici'}, ${cbrInputs.length ? `${cbrInputs.length} lib/cbr modules` : 'no lib/cbr module'}`,
        });
      }
    }
    return rows;
  },
};
