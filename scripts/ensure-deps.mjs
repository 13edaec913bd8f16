// Makes `npm start` and `npm test` work as the first command on a fresh clone: when node_modules is
// missing or does not hold what package-lock.json pins (someone pulled a lockfile change), it runs
// `npm ci` and says why. Plain Node on purpose: it runs before any dependency is installed.
// Compares package-lock.json with npm's own record of what it installed (node_modules/.package-lock.json);
// optional packages (other platforms' binaries) may be absent.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Why node_modules needs `npm ci`, or undefined when it matches package-lock.json. */
export function whyInstall(dir = root) {
  const installed = join(dir, 'node_modules/.package-lock.json');
  if (!existsSync(installed)) return 'node_modules is missing';
  const want = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(installed, 'utf8')).packages ?? {};
  const stale = Object.entries(want).filter(([path, p]) => path !== '' && !p.optional && have[path]?.version !== p.version);
  if (stale.length === 0) return undefined;
  const names = stale.slice(0, 3).map(([path, p]) => `${path.replace(/^.*node_modules\//, '')}@${p.version}`).join(', ');
  return `node_modules does not match package-lock.json (${stale.length} package${stale.length === 1 ? '' : 's'}: ${names}${stale.length > 3 ? ', …' : ''})`;
}

export function ensureDeps(dir = root) {
  const why = whyInstall(dir);
  if (!why) return;
  console.error(`[cbr-flow] ${why}: running npm ci (once)`);
  execSync('npm ci --no-audit --no-fund', { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) ensureDeps();
