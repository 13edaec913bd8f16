/**
 * `osls package` run offline: no AWS credentials reach it (so a variable that would call AWS fails
 * loudly instead of using someone's real account) and nothing but the service directory is read.
 * osls 4 packages without network (tooling.md §2); the `serverless` v4 package cannot.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LocalRuntimeError } from './errors';
import { packagedStage, packagePaths, readTemplate } from './template';

const require = createRequire(import.meta.url);

const CONFIG_FILES = ['serverless.yml', 'serverless.yaml', 'serverless.json', 'serverless.ts', 'serverless.js', 'package.json'];

/**
 * The files the packaged template is built from: the config, package.json, every `${file(...)}` and
 * the config-like files next to each of those (a `${file(x.js)}` resolver may read a plans file there).
 */
export function packageInputs(serviceDir: string): string[] {
  const inputs = new Set(CONFIG_FILES.map((f) => join(serviceDir, f)).filter((f) => existsSync(f)));
  for (const config of [...inputs].filter((f) => /serverless\.(ya?ml|json|ts|js)$/.test(f))) {
    for (const m of readFileSync(config, 'utf8').matchAll(/\$\{file\(([^)~:]+)\)/g)) {
      const file = resolve(serviceDir, m[1]!.trim());
      if (!existsSync(file)) continue;
      inputs.add(file);
      const dir = dirname(file);
      if (dir === serviceDir) continue;
      for (const sibling of readdirSync(dir)) {
        if (/\.(ya?ml|json|[cm]?[jt]s)$/.test(sibling)) inputs.add(join(dir, sibling));
      }
    }
  }
  return [...inputs];
}

/** True when .serverless/ holds a template for `stage` newer than every input it is built from. */
export function isPackageFresh(serviceDir: string, stage: string): boolean {
  const { template } = packagePaths(serviceDir);
  if (!existsSync(template)) return false;
  const builtAt = statSync(template).mtimeMs;
  if (packageInputs(serviceDir).some((f) => statSync(f).mtimeMs > builtAt)) return false;
  try {
    return packagedStage(readTemplate(serviceDir).template) === stage;
  } catch {
    return false;
  }
}

/** The environment osls runs with: the caller's, minus every way to find AWS credentials. */
export function offlineEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE|DEFAULT_PROFILE|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|CONTAINER_.*|EC2_METADATA_.*)$/.test(key)) delete env[key];
  }
  env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  env.AWS_CONFIG_FILE = '/dev/null';
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return env;
}

/**
 * Runs `osls package --stage <stage>` in `serviceDir` (extra args appended) and resolves with its
 * output; rejects with the tail of that output when it fails.
 *
 * osls runs with a temp folder of its own, removed when it exits: serverless-esbuild copies every
 * function's bundle into `<tmpdir>/<function>-<pid>-<time>-<hex>/` to zip it and then fails to remove
 * the (non-empty) folder, which left one folder per function (~3 MB a package) in the system temp folder.
 */
export async function packageService(serviceDir: string, stage: string, extraArgs: string[] = []): Promise<{ ms: number; output: string }> {
  const bin = require.resolve('osls/bin/serverless.js');
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'cbr-flow-package-'));
  let output = '';
  let code: number | null;
  try {
    const child = spawn(process.execPath, [bin, 'package', '--stage', stage, ...extraArgs], {
      cwd: serviceDir,
      env: { ...offlineEnv(), TMPDIR: scratch, TMP: scratch, TEMP: scratch },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    code = await new Promise<number | null>((done, fail) => {
      child.on('error', fail);
      child.on('close', done);
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const clean = output.split('\n').filter((l) => !/Unknown user config "nodedir"/.test(l)).join('\n').trim();
  if (code !== 0) {
    throw new LocalRuntimeError(`\`osls package --stage ${stage}\` failed (exit ${code}):\n${clean.split('\n').slice(-25).join('\n')}`, { where: serviceDir });
  }
  return { ms: Date.now() - started, output: clean };
}
