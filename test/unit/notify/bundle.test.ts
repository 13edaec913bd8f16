import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const bundle = (entry: string) =>
  buildSync({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'cjs', minify: true, write: false, metafile: true, external: ['@aws-sdk/*'], outfile: 'out.cjs', logLevel: 'silent' });

describe('the security libraries stay light (cold start)', () => {
  it.each(['lib/notify/send.ts', 'lib/webhooks/middleware.ts', 'lib/secrets/aws.ts', 'lib/secrets/redact.ts'])('%s bundles neither undici nor the CBR client', (entry) => {
    const out = bundle(entry);
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((i) => /node_modules\/undici\/|lib\/cbr\//.test(i))).toEqual([]);
    expect(out.outputFiles[0]!.contents.byteLength).toBeLessThan(400 * 1024);
  });
});
