import { buildSync } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const inputsOf = (name: string) =>
  Object.keys(
    buildSync({ entryPoints: [join(root, `functions/${name}.ts`)], bundle: true, platform: 'node', format: 'cjs', write: false, metafile: true, external: ['@aws-sdk/*'], outfile: 'out.cjs', logLevel: 'silent' }).metafile.inputs,
  );

describe('cold-start rule', () => {
  it.each(['start-run', 'get-run', 'run-actions', 'notify-run-finished', 'plan-firing-failed'])('%s never bundles the CBR client or undici', (name) => {
    const inputs = inputsOf(name);
    expect(inputs.filter((i) => /node_modules\/undici\/|lib\/cbr\//.test(i))).toEqual([]);
    expect(inputs.some((i) => i.includes('lib/wiring/runtime.ts'))).toBe(true);
  });

  it('start-run bundles the webhook verifier and notify-run-finished the signer (the checks above see real bundles)', () => {
    expect(inputsOf('start-run').some((i) => i.includes('lib/webhooks/middleware.ts'))).toBe(true);
    expect(inputsOf('notify-run-finished').some((i) => i.includes('lib/notify/send.ts'))).toBe(true);
    expect(inputsOf('get-run').some((i) => i.includes('node_modules/standardwebhooks/'))).toBe(false);
  });

  it('the CBR steps do bundle it (the check above can fail)', () => {
    expect(inputsOf('create-vault').some((i) => i.includes('lib/cbr/'))).toBe(true);
  });

  it('every function file is wiring only (<= 40 lines)', () => {
    for (const f of readdirSync(join(root, 'functions'))) {
      const lines = readFileSync(join(root, 'functions', f), 'utf8').split('\n').length;
      expect(lines, f).toBeLessThanOrEqual(40);
    }
  });
});
