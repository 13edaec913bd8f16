import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { defineConfig } from 'vitest/config';

// .ci/run sets VITEST_JSON_REPORT so CI can print a plain "N passed, N failed" line.
const jsonReport = process.env.VITEST_JSON_REPORT;

/**
 * One vitest project per folder of test/ (`npx vitest --project unit`); `vitest run` runs them all.
 * unit, contract: no servers, seconds. emulator: the CBR emulator over HTTP. local: the local runtime
 * (osls package, dynalite, local-aws-sqs, workers). integration, reliability: the whole pipeline on
 * loopback (test/helpers/pipeline-harness.ts). bench: benchmark harness checks. fidelity: the emulator
 * against recorded CBR responses. browser: the dashboard in Debian's chromium (playwright-core) on the local runtime.
 */
export const TEST_PROJECTS = ['unit', 'contract', 'emulator', 'local', 'integration', 'reliability', 'bench', 'fidelity', 'browser'] as const;

/** Every test file lives in exactly one project's folder; a file anywhere else would silently never run. */
function assertEveryTestFileHasAProject(root: string): void {
  const orphans: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.ts')) {
        const [top, ...rest] = relative(root, path).split(sep);
        if (rest.length === 0 || !(TEST_PROJECTS as readonly string[]).includes(top!)) orphans.push(relative(process.cwd(), path));
      }
    }
  };
  walk(root);
  if (orphans.length > 0) {
    throw new Error(`test files outside every vitest project (move them into test/<project>/ or add a project to TEST_PROJECTS in vitest.config.ts): ${orphans.join(', ')}`);
  }
}
assertEveryTestFileHasAProject(join(import.meta.dirname, 'test'));

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: jsonReport ? ['default', 'json'] : ['default'],
    outputFile: jsonReport ? { json: jsonReport } : undefined,
    projects: TEST_PROJECTS.map((name) => ({
      extends: true as const,
      // unit: no servers and no process-wide state a test relies on, so its files share one module
      // graph per worker (isolate: false) — the inner loop in ~10 s instead of ~45 s (re-importing zod,
      // the AWS SDK and middy for every file was most of the time). A test that needs fresh module
      // state (a cold start) imports after vi.resetModules().
      test: { name, include: [`test/${name}/**/*.test.ts`], ...(name === 'unit' ? { isolate: false } : {}) },
    })),
  },
});
