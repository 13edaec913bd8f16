/**
 * Cold start guard: a function that only imports the CBR client must stay small and must not pull in
 * the official SDK (axios, lodash, moment), any AWS SDK or middy. undici comes in through its public
 * index (lib/cbr/transport.ts), about 535 KB of the total; figures in README.md (Cold start).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('client-only bundle', () => {
  it('stays under 700 KB minified, with undici through its public index', async () => {
    const r = await build({
      stdin: {
        contents: "import { createCbrClient } from './lib/cbr/client'; export const client = createCbrClient;",
        resolveDir: root,
        loader: 'ts',
        sourcefile: 'client-only-entry.ts',
      },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const out = Object.values(r.metafile.outputs)[0]!;
    const inputs = Object.keys(out.inputs);
    expect(out.bytes).toBeLessThan(700 * 1024);
    expect(inputs).toContain('node_modules/undici/index.js');
    const forbidden = inputs.filter((i) =>
      /node_modules\/(axios|lodash|moment|log4js|@huaweicloud|@aws-sdk|@middy)\//.test(i),
    );
    expect(forbidden).toEqual([]);
    // zod via `import * as z`: only its default English locale, not the whole locale bundle
    expect(inputs.filter((i) => i.includes('zod/') && i.includes('locales/'))).toEqual(['node_modules/zod/v4/locales/en.js']);
  });
});
