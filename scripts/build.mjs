// One esbuild bundle per function (functions/*.ts -> dist/functions/<name>.cjs), @aws-sdk/* left to
// the Lambda runtime. Prints each bundle's size so regressions are visible in every build.
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entries = readdirSync(join(root, 'functions'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(root, 'functions', f));

if (entries.length === 0) {
  console.log('no functions to build');
  process.exit(0);
}

const outdir = join(root, 'dist', 'functions');
await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  external: ['@aws-sdk/*'],
  legalComments: 'none',
  minify: process.argv.includes('--minify'),
  keepNames: true, // readable stack traces when minified (serverless.yml custom.esbuild, bench P6)
  logLevel: 'warning',
});
for (const e of entries) {
  const name = basename(e, '.ts');
  const size = statSync(join(outdir, `${name}.cjs`)).size;
  console.log(`${name.padEnd(24)} ${(size / 1024).toFixed(1).padStart(8)} KiB`);
}
