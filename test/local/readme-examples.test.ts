/**
 * The README's examples, run in the order written against one `npm start -- --serve` stack: every
 * `npx cbr-flow …`, `node examples/…` and `python3 examples/…` line of its bash blocks, as a reader
 * would type them from the project root (`npx cbr-flow` is bin/cbr-flow.mjs; `<runId>` is the run the
 * latest example started; lines that set AWS credentials, like `AWS_PROFILE=ops npx cbr-flow … --stage
 * prod`, address a real account and are skipped). The stack runs as a child process on a temporary data folder and port
 * (CBR_FLOW_DATA_DIR tells the CLI and the programs where it is, as the README says), so the project's
 * own .data/ is never touched. Every command must exit 0 and every run it starts must COMPLETE (but the
 * one the cancel example cancels, whose retry must): the examples do not collide (no resource bound to
 * another vault, no request refused).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const RUN_ID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/;

/** The example command lines of the README's bash blocks, in order (continuations joined, comments dropped). */
function readmeCommands(readme: string): string[] {
  const commands: string[] = [];
  for (const [, body] of readme.matchAll(/^```bash\n([\s\S]*?)^```$/gm)) {
    const joined = body!.replace(/\\\n\s*/g, '');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (/^(npx cbr-flow|node examples\/|python3 examples\/)/.test(line)) commands.push(line);
    }
  }
  return commands;
}

/** A command line as argv (the examples use no quoting). */
function argvOf(line: string, runId: string | undefined): [string, string[]] {
  const words = line.split(/\s+/).map((w) => (w === '<runId>' ? (runId ?? '<no run started yet>') : w));
  if (words[0] === 'npx' && words[1] === 'cbr-flow') return [process.execPath, [join(ROOT, 'bin/cbr-flow.mjs'), ...words.slice(2)]];
  if (words[0] === 'node') return [process.execPath, words.slice(1)];
  return [words[0]!, words.slice(1)];
}

const dirs: string[] = [];
let stack: ChildProcess | undefined;
afterAll(() => {
  if (stack?.exitCode === null) stack.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('README examples', () => {
  it('finds the examples: the quick start, both signing programs, list filters, cancel and retry, dlq, vaults, coverage, ensure-fresh, retention', () => {
    expect(readmeCommands(README).map((c) => c.split(' ').slice(0, c.startsWith('npx') ? 3 : 2).join(' '))).toEqual([
      'npx cbr-flow run',
      'npx cbr-flow list',
      'npx cbr-flow status',
      'node examples/post-run.mjs',
      'python3 examples/post_run.py',
      'npx cbr-flow list',
      'npx cbr-flow list',
      'npx cbr-flow run',
      'npx cbr-flow cancel',
      'npx cbr-flow retry',
      'npx cbr-flow dlq',
      'npx cbr-flow dlq',
      'npx cbr-flow vaults',
      'npx cbr-flow vaults',
      'npx cbr-flow coverage',
      'npx cbr-flow coverage',
      'npx cbr-flow ensure-fresh',
      'npx cbr-flow hold',
      'npx cbr-flow holds',
      'npx cbr-flow retention',
      'npx cbr-flow retention',
    ]);
  });

  it('run one after the other against `npm start -- --serve`, and every run they start COMPLETES', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-readme-'));
    dirs.push(dataDir);
    const env: NodeJS.ProcessEnv = { ...process.env, CBR_FLOW_DATA_DIR: dataDir };
    delete env.CBR_FLOW_URL;
    delete env.CBR_ENDPOINT;
    const output: string[] = [];
    stack = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs'), '--serve', '--port', '0', '--data', dataDir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    stack.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
    stack.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    const ready = Date.now() + 120_000;
    while (!existsSync(join(dataDir, 'stack.json'))) {
      if (stack.exitCode !== null || Date.now() > ready) throw new Error(`the stack did not start:\n${output.join('')}`);
      await sleep(200);
    }

    let latest: string | undefined;
    const started: string[] = [];
    const cancelled = new Set<string>();
    for (const line of readmeCommands(README)) {
      const [file, args] = argvOf(line, latest);
      const result = await promisify(execFile)(file, args, { cwd: ROOT, env, timeout: 120_000 }).catch((err: { code: number; stdout: string; stderr: string }) => err);
      const text = `${result.stdout}${result.stderr}`;
      expect('code' in result ? result.code : 0, `${line}\n${text}`).toBe(0);
      if ((line === 'npx cbr-flow list' || line.startsWith('npx cbr-flow status')) && latest) expect(text, line).toContain(latest.slice(0, 8));
      if (line.startsWith('npx cbr-flow cancel')) cancelled.add(latest!);
      if (/^(npx cbr-flow (run|retry)|node examples|python3 examples)/.test(line)) {
        const runId = [...text.matchAll(new RegExp(RUN_ID, 'g'))].map((m) => m[0]).find((id) => !started.includes(id));
        expect(runId, `${line} started no run:\n${text}`).toBeDefined();
        started.push(runId!);
        latest = runId;
      }
    }
    expect(started).toHaveLength(5);
    expect(cancelled.size).toBe(1);
    // Every run must end COMPLETED (the run --watch examples already waited); the cancelled one FAILED, its retry COMPLETED.
    for (const runId of started) {
      const watched = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/cbr-flow.mjs'), 'watch', runId], { cwd: ROOT, env, timeout: 120_000 })
        .catch((err: { code: number; stdout: string; stderr: string }) => err);
      expect(`${watched.stdout}`, `${watched.stderr}`).toMatch(new RegExp(`run ${runId} ${cancelled.has(runId) ? 'FAILED' : 'COMPLETED'}`));
    }
  }, 300_000);
});
