import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain .mjs script (it runs before any dependency is installed), no types
import { whyInstall } from '../../scripts/ensure-deps.mjs';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(lock: Record<string, unknown>, installed?: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cbr-flow-deps-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ packages: { '': { name: 'x' }, ...lock } }));
  if (installed) {
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules/.package-lock.json'), JSON.stringify({ packages: installed }));
  }
  return dir;
}

describe('npm start / npm test on a fresh or stale clone', () => {
  const lock = {
    'node_modules/zod': { version: '4.6.7' },
    'node_modules/knip': { version: '6.48.0', dev: true },
    'node_modules/@esbuild/win32-x64': { version: '0.25.0', optional: true },
  };
  it('installs when node_modules is missing', () => {
    expect(whyInstall(project(lock))).toBe('node_modules is missing');
  });
  it('installs when a pinned package is absent or at another version, naming it', () => {
    expect(whyInstall(project(lock, { 'node_modules/zod': { version: '4.6.7' } }))).toBe('node_modules does not match package-lock.json (1 package: knip@6.48.0)');
    expect(whyInstall(project(lock, { 'node_modules/zod': { version: '4.0.0' }, 'node_modules/knip': { version: '6.48.0' } }))).toMatch(/\(1 package: zod@4\.6\.7\)/);
  });
  it('does nothing when node_modules matches (optional binaries of other platforms may be absent)', () => {
    expect(whyInstall(project(lock, { 'node_modules/zod': { version: '4.6.7' }, 'node_modules/knip': { version: '6.48.0' } }))).toBeUndefined();
  });
});
