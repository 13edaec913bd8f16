/**
 * A copy of the service to package in a test: every project entry symlinked into a temp folder except
 * the build output and serverless.yml, which is written out (osls refuses a symlinked config) with the
 * first sample plan of plans/plans.yml deployed to `planStage` — the samples are deployed to no stage,
 * and a test of what a plan's schedule becomes needs one. remove() deletes the links, not their targets.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncPlans } from '../../lib/plans/sync';
import { PROJECT_ROOT } from '../../local/stack';

export function serviceCopy(prefix: string, planStage: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const entry of readdirSync(PROJECT_ROOT)) {
    if (['.serverless', '.esbuild', '.data', '.git', 'serverless.yml'].includes(entry)) continue;
    symlinkSync(join(PROJECT_ROOT, entry), join(dir, entry));
  }
  const plans = readFileSync(join(PROJECT_ROOT, 'plans/plans.yml'), 'utf8').replace('# stages: [prod]', `stages: [${planStage}]`);
  writeFileSync(join(dir, 'serverless.yml'), syncPlans(readFileSync(join(PROJECT_ROOT, 'serverless.yml'), 'utf8'), plans));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
