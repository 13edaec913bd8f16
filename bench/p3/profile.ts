/**
 * Where P3's CPU per request goes: CPU-profiles the sequential phase of each client (non-minified
 * bundles, so esbuild's module comments map every sample to its package) and prints self time per
 * package / node built-in and the hottest functions.
 *   npx tsx bench/p3/profile.ts [requests=3000]
 * Profiles land in node_modules/.cache/cbr-flow-bench/p3/*.cpuprofile (open them in Chrome DevTools).
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO, startEmulator } from '../../emulator/index';
import { setUpCheckpoint, swapModules, VARIANTS } from '../p3-client-vs-sdk';
import { bundle, deploySettings } from '../lib/bundle';
import { childEnv, runNode } from '../lib/child';
import { renderProfile, summariseProfile } from '../lib/profile';

const root = join(import.meta.dirname, '../..');
const dir = join(root, 'node_modules/.cache/cbr-flow-bench/p3');
mkdirSync(dir, { recursive: true });
const n = Number(process.argv[2] ?? 3000);
const settings = deploySettings(root);
const driver = join(dir, 'driver.cjs');
await build({ entryPoints: [join(root, 'bench/p3/driver.ts')], outfile: driver, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent' });

const emu = await startEmulator();
try {
  const checkpointId = await setUpCheckpoint(emu);
  const sender = { endpoint: emu.url, region: DEMO.region, projectId: DEMO.projectId, ak: DEMO.ak, sk: DEMO.sk, checkpointId };
  for (const v of VARIANTS) {
    const b = await bundle({ root, entry: join(root, v.entry), outfile: join(dir, `${v.id}.plain.cjs`), settings, minify: false, plugins: v.swaps ? [swapModules(root, v.swaps)] : [] });
    const profilePath = join(dir, `${v.id}.cpuprofile`);
    const { stdout } = await runNode([driver, JSON.stringify({ bundle: b.outfile, sender, mode: 'load', warmup: 500, sequential: n, total: 16, concurrency: 16, profilePath })], { env: childEnv(), timeoutMs: 300_000 });
    const r = JSON.parse(stdout) as { cpuUsPerRequest: number };
    console.log(`\n${v.label}: process.cpuUsage ${r.cpuUsPerRequest.toFixed(1)} µs/request with the profiler on`);
    console.log(renderProfile(v.id, summariseProfile(profilePath, b.outfile), n));
  }
} finally {
  await emu.stop();
}
