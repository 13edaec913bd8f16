/**
 * The `cbr-flow` CLI's failure paths: bad input and an unreachable endpoint give a clear message and
 * a non-zero exit, both through the real bin entry (a child process) and through main() in-process.
 */
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../../local/cli';

const BIN = join(import.meta.dirname, '../../bin/cbr-flow.mjs');
const RUN_ID = '3b241101-e2bb-4255-8caf-4136c566a962';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function runBin(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function runMain(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => stdin };
  const code = await main(args, env, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('cbr-flow CLI', () => {
  it('bin: rejects an invalid run request before sending it, naming each bad field (exit 2)', async () => {
    const r = await runBin(['run', '--project', 'not-hex', '--vault', 'v', '--vault-size', '5', '--server', 'nope', '--endpoint', 'http://127.0.0.1:9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid run request');
    expect(r.stderr).toContain('--project "not-hex": must be a 32-character lowercase hex project id');
    expect(r.stderr).toContain('--vault-size "5" (GB)');
    expect(r.stderr).toContain('--server "nope": must be a UUID');
  });

  it('bin: reports an unreachable endpoint with exit 3 (from CBR_FLOW_URL)', async () => {
    const port = await closedPort();
    const r = await runBin(['list'], { CBR_FLOW_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`cannot reach cbr-flow at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });

  it('rejects unknown commands, unknown flags, missing or malformed run ids and bad endpoints (exit 2)', async () => {
    expect(await runMain(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "frobnicate"') });
    expect(await runMain(['list', '--bogus'])).toMatchObject({ code: 2, err: expect.stringContaining("Unknown option '--bogus'") });
    expect(await runMain(['status'])).toMatchObject({ code: 2, err: expect.stringContaining('status: expected exactly one <runId> or <restoreId>, got 0') });
    expect(await runMain(['watch', '../etc/passwd'])).toMatchObject({ code: 2, err: expect.stringContaining('is not a run id') });
    expect(await runMain(['list', '--endpoint', 'ftp://host'])).toMatchObject({ code: 2, err: expect.stringContaining('must be an http(s) URL') });
    expect(await runMain(['list', '--limit', '0'])).toMatchObject({ code: 2, err: expect.stringContaining('--limit: "0" is not a positive integer') });
    expect(await runMain([])).toMatchObject({ code: 2, err: expect.stringContaining('missing command') });
  });

  it('explains what a run needs when flags are missing or contradictory, and reads bad files clearly (exit 2)', async () => {
    expect(await runMain(['run', '--vault', 'v'])).toMatchObject({ code: 2, err: expect.stringContaining('--project is required') });
    const project = '0605767b5780d5762fc5c0118072a564';
    expect(await runMain(['run', '--project', project, '--vault', 'v'])).toMatchObject({ code: 2, err: expect.stringContaining('--vault-size <GB> is required') });
    expect(await runMain(['run', '--project', project, '--vault', 'v', '--reuse-vault', 'w'])).toMatchObject({ code: 2, err: expect.stringContaining('either --vault or --reuse-vault') });
    expect(await runMain(['run', '--file', '/nonexistent/run.json'])).toMatchObject({ code: 2, err: expect.stringContaining('cannot read /nonexistent/run.json (ENOENT)') });
    expect(await runMain(['run', '--file', '-'], {}, '{not json')).toMatchObject({ code: 2, err: expect.stringContaining('is not valid JSON') });
    expect(await runMain(['run', '--file', '-', '--project', project], {}, '{}')).toMatchObject({ code: 2, err: expect.stringContaining('--file cannot be combined with --project') });
    const noResources = await runMain(['run', '--file', '-'], {}, JSON.stringify({ projectId: project, vault: { mode: 'reuse', name: 'v' }, resources: [] }));
    expect(noResources).toMatchObject({ code: 2, err: expect.stringContaining('resources: at least one resource is required') });
  });

  it('watch gives up with exit 3 when the endpoint stays unreachable', async () => {
    const port = await closedPort();
    const r = await runMain(['watch', RUN_ID, '--interval', '0.02', '--reconnect', '0.3', '--endpoint', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(3);
    expect(r.out.match(/lost contact with the API \(cannot reach cbr-flow/g)).toHaveLength(1); // said once
    expect(r.err).toMatch(/gave up on run .*: the API at http:\/\/127\.0\.0\.1:\d+ was unreachable for 0\.\d+s/);
  });

  it('reads send the bearer token (CBR_FLOW_TOKEN or --token-file); a refused token is exit 2 saying why; a file without a JWT is refused before sending', async () => {
    const seen: Array<string | undefined> = [];
    const server = createHttpServer((req, res) => {
      seen.push(req.headers.authorization);
      const ok = req.headers.authorization === 'Bearer aaa.bbb.ccc';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { runs: [] } : { message: 'Unauthorized' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'cbr-flow-cli-'));
    try {
      expect(await runMain(['list', '--endpoint', endpoint], { CBR_FLOW_TOKEN: 'aaa.bbb.ccc' })).toMatchObject({ code: 0, out: 'no runs yet' });
      writeFileSync(join(dir, 'token'), 'aaa.bbb.ccc\n');
      expect(await runMain(['list', '--endpoint', endpoint, '--token-file', join(dir, 'token')])).toMatchObject({ code: 0 });
      expect(seen).toEqual(['Bearer aaa.bbb.ccc', 'Bearer aaa.bbb.ccc']);
      const refused = await runMain(['status', RUN_ID, '--endpoint', endpoint], { CBR_FLOW_TOKEN: 'old.expired.token' });
      expect(refused).toMatchObject({ code: 2, err: expect.stringContaining('refused as unauthenticated (HTTP 401): the token was not accepted') });
      writeFileSync(join(dir, 'bad'), 'whsec_notajwt');
      const bad = await runMain(['list', '--endpoint', endpoint, '--token-file', join(dir, 'bad')]);
      expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('does not hold a JWT') });
      expect(seen).toHaveLength(3);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
