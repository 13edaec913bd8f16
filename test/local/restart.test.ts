/**
 * Killing the local stack mid-run and starting it again: `npm start -- --serve` as a child process on a
 * temporary data folder, a run posted through the HTTP API, SIGKILL once the run is past resources.bound,
 * a restart on the same folder, and the run COMPLETES within a minute of the restart with exactly one
 * vault and one checkpoint in the (persisted) emulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient, type RunView } from '../../local/cli/client';
import { readLocalIssuer } from '../../local/jwt-issuer';
import { demoRunRequest } from '../../local/start';
import { isTerminal, type RunState } from '../../lib/store/run';
import { readLocalWebhookKeys } from '../../local/webhook-keys';

const START = join(import.meta.dirname, '../../scripts/start.mjs');

interface Stack { child: ChildProcess; output: string[]; exited: Promise<number | null> }

function startStack(dataDir: string): Stack {
  const env = { ...process.env };
  delete env.CBR_ENDPOINT;
  delete env.CBR_FLOW_URL;
  const child = spawn(process.execPath, [START, '--serve', '--port', '0', '--data', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** The URL the stack writes to its data folder once ready. */
async function stackUrl(dataDir: string, stack: Stack, timeoutMs: number): Promise<string> {
  const file = join(dataDir, 'stack.json');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (stack.child.exitCode !== null) throw new Error(`the stack exited (${stack.child.exitCode}):\n${stack.output.join('')}`);
    if (existsSync(file)) {
      const { url, pid } = JSON.parse(readFileSync(file, 'utf8')) as { url: string; pid: number };
      if (pid === stack.child.pid) return url;
    }
    await sleep(100);
  }
  throw new Error(`the stack was not ready within ${timeoutMs} ms:\n${stack.output.join('')}`);
}

async function client(dataDir: string, url: string): Promise<ApiClient> {
  const issuer = await readLocalIssuer(dataDir);
  return new ApiClient(url, { webhookKeys: readLocalWebhookKeys(dataDir), bearerToken: await issuer?.mint({ sub: 'restart-test', projects: '*' }, 600) });
}

async function until(api: ApiClient, runId: string, done: (run: RunView) => boolean, timeoutMs: number): Promise<RunView> {
  const end = Date.now() + timeoutMs;
  let run = await api.getRun(runId);
  while (!done(run)) {
    if (Date.now() > end) throw new Error(`run ${runId} still ${run.state}/${run.step} after ${timeoutMs} ms: ${JSON.stringify(run.timeline.slice(-5))}`);
    await sleep(100);
    run = await api.getRun(runId);
  }
  return run;
}

const finished = (r: RunView): boolean => isTerminal(r.state as RunState);

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('local stack restart', () => {
  it('a run killed after resources.bound completes after a restart, with one vault and one checkpoint', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-restart-'));
    dirs.push(dataDir);
    const first = startStack(dataDir);
    children.push(first.child);
    const api1 = await client(dataDir, await stackUrl(dataDir, first, 120_000));
    const { runId } = await api1.startRun(demoRunRequest());
    const atKill = await until(api1, runId, (r) => r.step === 'start-checkpoint' || r.step === 'check-status' || finished(r), 60_000);
    expect(atKill.state).toBe('RUNNING');
    first.child.kill('SIGKILL');
    await first.exited;

    const restartedAt = Date.now();
    const second = startStack(dataDir);
    children.push(second.child);
    const api2 = await client(dataDir, await stackUrl(dataDir, second, 120_000));
    const readyAfter = Date.now() - restartedAt;
    const done = await until(api2, runId, finished, 60_000);
    const restartToCompleted = Date.now() - restartedAt;
    console.log(`restart test: killed at step ${atKill.step}; restart -> ready ${(readyAfter / 1000).toFixed(1)} s, -> ${done.state} ${(restartToCompleted / 1000).toFixed(1)} s`);
    expect(done.state, JSON.stringify(done.timeline)).toBe('COMPLETED');
    expect(restartToCompleted).toBeLessThan(60_000);

    second.child.kill('SIGTERM');
    expect(await second.exited).not.toBeNull();
    const saved = JSON.parse(readFileSync(join(dataDir, 'emulator-state.json'), 'utf8')) as { vaults: Array<{ name: string }>; checkpoints: unknown[] };
    expect(saved.vaults.filter((v) => v.name === 'cbr-flow-demo')).toHaveLength(1);
    expect(saved.checkpoints).toHaveLength(1);
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  }, 300_000);
});
