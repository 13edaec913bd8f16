/**
 * What a person sees from `npm start`: `--help` lists every flag; `--serve` prints its start-up phases as
 * they happen, writes its URL to the data folder (where the CLI finds it), and prints one human line per
 * event of a run, in order, while the handlers' JSON log lines go to <data>/local.log only; the dashboard's
 * address it prints signs the browser in.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/cli/client';
import { readLocalIssuer } from '../../local/jwt-issuer';
import { demoRunRequest } from '../../local/start';
import { readLocalWebhookKeys } from '../../local/webhook-keys';

const START = join(import.meta.dirname, '../../scripts/start.mjs');
const BIN = join(import.meta.dirname, '../../bin/cbr-flow.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.CBR_ENDPOINT;
  delete env.CBR_FLOW_URL;
  return env;
}

describe('npm start console', () => {
  it('--help prints every flag, one line each, and exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [START, '--help'], { env: cleanEnv(), timeout: 60_000 });
    for (const flag of ['--serve', '--demo', '--port <n>', '--data <dir>', '--reset', '--no-auth', '--rate-scale <x>', '--timeout <s>', '--verbose', '--scenario <name>', '--help']) {
      expect(stdout.split('\n').filter((l) => l.trimStart().startsWith(`${flag} `))).toHaveLength(1);
    }
  }, 60_000);

  it('--scenario with an unknown name exits 2 naming the known ones, before starting anything', async () => {
    const result = await promisify(execFile)(process.execPath, [START, '--scenario', 'nope'], { env: cleanEnv(), timeout: 60_000 })
      .catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect('code' in result ? result.code : 0).toBe(2);
    expect(result.stderr).toContain('--scenario: unknown scenario "nope" (one of ');
    for (const known of ['dr', 'retention']) expect(result.stderr).toMatch(new RegExp(`one of [^)]*\\b${known}\\b`));
  }, 60_000);

  it('--reset names each file and folder it removes and what it held', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-reset-'));
    dirs.push(dataDir);
    mkdirSync(join(dataDir, 'dynamodb'));
    writeFileSync(join(dataDir, 'emulator-state.json'), '{}');
    writeFileSync(join(dataDir, 'webhook-keys.json'), '{}');
    const child = spawn(process.execPath, [START, '--reset', '--serve', '--port', '0', '--data', dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 600 && !stdout.includes('reset:'); i++) await sleep(100);
    child.kill('SIGTERM');
    await exited;
    const line = stdout.split('\n').find((l) => l.startsWith('reset:')) ?? stdout;
    expect(line).toContain(`reset: removed ${dataDir}: `);
    expect(line).toContain('dynamodb (the run store: every run)');
    expect(line).toContain("emulator-state.json (the emulator's vaults, checkpoints and backups)");
    expect(line).toContain('webhook-keys.json (the local webhook key)');
  }, 90_000);

  it('--serve: phases, stack.json for the CLI, one line per run event in order, JSON logs only in the log file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cbr-flow-console-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [START, '--serve', '--port', '0', '--data', dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stdout += b.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const stackFile = join(dataDir, 'stack.json');
      for (let i = 0; i < 1200 && !existsSync(stackFile); i++) {
        if (child.exitCode !== null) throw new Error(`the stack exited:\n${stdout}`);
        await sleep(100);
      }
      const { url } = JSON.parse(readFileSync(stackFile, 'utf8')) as { url: string };
      // The phases came before "ready", in order.
      const order = ['CBR emulator', 'backends:', 'functions:', 'ready in'].map((p) => stdout.indexOf(p));
      expect(order.every((i) => i >= 0), stdout).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);

      // The CLI finds the stack through stack.json (no --endpoint, no CBR_FLOW_URL).
      const list = await promisify(execFile)(process.execPath, [BIN, 'list'], { env: cleanEnv({ CBR_FLOW_DATA_DIR: dataDir }), timeout: 60_000 });
      expect(list.stderr).not.toContain('cannot reach');

      const issuer = await readLocalIssuer(dataDir);
      const api = new ApiClient(url, { webhookKeys: readLocalWebhookKeys(dataDir), bearerToken: await issuer?.mint({ sub: 'console-test', projects: '*' }, 600) });
      const { runId } = await api.startRun(demoRunRequest());
      const short = runId.slice(0, 8);
      for (let i = 0; i < 1200 && !stdout.includes(`run ${short}  COMPLETED`); i++) await sleep(100);

      const lines = stdout.split('\n').filter((l) => l.includes(`run ${short}`));
      const expected = ['requested', 'vault-created', 'resources-bound', 'checkpoint-started', 'checkpoint-available', 'share-backup', 'COMPLETED in'];
      const at = expected.map((word) => lines.findIndex((l) => l.includes(word)));
      expect(at.every((i) => i >= 0), lines.join('\n')).toBe(true);
      expect([...at].sort((a, b) => a - b), lines.join('\n')).toEqual(at);
      // Each event once.
      expect(lines.filter((l) => l.includes('vault-created'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('COMPLETED in'))).toHaveLength(1);
      // No JSON log line on the console; they are in the log file.
      expect(stdout).not.toContain('{"level"');
      expect(readFileSync(join(dataDir, 'local.log'), 'utf8')).toContain('"msg":"step done"');

      // The dashboard's address, printed with its sign-in token (README "Dashboard"): the page, and with the
      // token its data, which list the run just done.
      const dashboard = /^ {2}dashboard {2}(http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+\.[\w-]+\.[\w-]+)$/m.exec(stdout);
      expect(dashboard, stdout).not.toBeNull();
      expect(dashboard![1]).toBe(url);
      const page = await fetch(`${url}/`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('<title>cbr-flow dashboard</title>');
      const data = await fetch(`${url}/dashboard/data`, { headers: { authorization: `Bearer ${dashboard![2]}` } });
      expect(data.status).toBe(200);
      expect(((await data.json()) as { runs: { runId: string; state: string }[] }).runs).toContainEqual(expect.objectContaining({ runId, state: 'COMPLETED' }));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
  }, 300_000);
});
