/**
 * The README's programs and request are the files in examples/ (which the local-stack tests run), so
 * what a reader copies is what was run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunRequest } from '../../lib/contracts/run-request';

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const file = (path: string) => readFileSync(join(root, path), 'utf8');

/** The fenced blocks of one language, in order. */
function blocks(lang: string): string[] {
  return [...readme.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]!);
}

describe('README examples are the files in examples/', () => {
  it('the Node and Python signing programs are complete and identical to examples/', () => {
    expect(blocks('js')).toContain(file('examples/post-run.mjs'));
    expect(blocks('python')).toContain(file('examples/post_run.py'));
  });

  it('the run request is examples/run-request.json, and a valid request', () => {
    const request = file('examples/run-request.json');
    expect(blocks('json')).toContain(request);
    expect(() => RunRequest.parse(JSON.parse(request))).not.toThrow();
  });
});
