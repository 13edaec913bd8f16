/**
 * Requests per second the emulator sustains on loopback with no injected latency.
 *   npx tsx emulator/bench-rps.ts [--seconds 5] [--concurrency 32]
 * The emulator runs in its own process (as under a real benchmark), the load generator here: an undici
 * Pool with keep-alive, `concurrency` requests in flight. Two passes, each AK/SK-verified by the emulator:
 *   pre-signed   each connection replays a request signed once (client CPU ~ 0: measures the emulator)
 *   signed-each  every request signed afresh (what a real client does)
 * The mix alternates ShowCheckpoint and ShowVault on a small state (1 vault, 4 servers, 1 checkpoint).
 * A third pass runs the same load against a bare node:http server answering a same-sized JSON body: the
 * ceiling of this machine at this moment, so the emulator's figure can be read as a ratio.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { DEMO } from './demo';
import { canonicalRequest, formatSdkDate, signatureFor } from './sigv';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '32' } } });
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);

function sign(method: string, path: string, host: string, body = ''): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    host,
    'x-project-id': DEMO.projectId,
    'x-sdk-date': formatSdkDate(Date.now()),
  };
  const signed = ['content-type', 'host', 'x-project-id', 'x-sdk-date'];
  const cr = canonicalRequest({ method, rawPath: path, rawQuery: '', headers, body: Buffer.from(body) }, signed)!;
  const { host: _h, ...rest } = headers;
  return { ...rest, authorization: `SDK-HMAC-SHA256 Access=${DEMO.ak}, SignedHeaders=${signed.join(';')}, Signature=${signatureFor(DEMO.sk, headers['x-sdk-date']!, cr)}` };
}

const BARE = `
const { createServer } = require('node:http');
const body = JSON.stringify({ filler: 'x'.repeat(1500) });
const s = createServer((req, res) => { req.resume(); req.on('end', () => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': 'a'.repeat(32) });
  res.end(body); }); });
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: 'http://127.0.0.1:' + s.address().port })));
process.on('SIGTERM', () => process.exit(0));`;

/** utime+stime of a process in ms (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100 on Linux
  } catch {
    return undefined;
  }
}

async function load(
  url: string,
  mode: string,
  next: (k: number) => { path: string; headers: Record<string, string> },
  serverPid?: number,
): Promise<number> {
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
  let done = 0;
  let errors = 0;
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const worker = async (w: number) => {
    let i = w;
    while (performance.now() < end) {
      const { path, headers } = next(i++);
      const t0 = performance.now();
      const r = await pool.request({ method: 'GET', path, headers });
      await r.body.dump();
      if (r.statusCode === 200) done++;
      else errors++;
      latencies.push(performance.now() - t0);
    }
  };
  const cpu0 = cpuMs(serverPid);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = cpuMs(serverPid);
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2);
  const rps = done / secs;
  console.log(
    `${mode.padEnd(14)} ${rps.toFixed(0).padStart(7)} req/s  (${done} ok, ${errors} errors, ${secs.toFixed(1)} s, concurrency ${CONCURRENCY}, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms` +
      (cpu0 !== undefined && cpu1 !== undefined ? `, server CPU ${(((cpu1 - cpu0) * 1000) / Math.max(1, done)).toFixed(0)} µs/request)` : ')'),
  );
  return rps;
}

async function startChild(args: string[]): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'emulator/cli.ts', '--json', '--checkpoint-ms', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const { url } = JSON.parse(line) as { url: string };
  const host = new URL(url).host;
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      const r = await pool.request({ method, path, headers: sign(method, path, host, text), ...(text ? { body: text } : {}) });
      const json = (await r.body.json()) as Record<string, any>;
      if (r.statusCode !== 200) throw new Error(`${method} ${path}: ${r.statusCode} ${JSON.stringify(json)}`);
      return json;
    };
    const base = `/v3/${DEMO.projectId}`;
    const vault = (
      await call('POST', `${base}/vaults`, {
        vault: {
          name: 'bench',
          billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 10_000 },
          resources: DEMO.servers.map((s) => ({ id: s.id, type: 'OS::Nova::Server' })),
        },
      })
    ).vault;
    const checkpoint = (await call('POST', `${base}/checkpoints`, { checkpoint: { vault_id: vault.id } })).checkpoint;
    const paths = [`${base}/checkpoints/${checkpoint.id}`, `${base}/vaults/${vault.id}`];

    const presigned = paths.map((p) => sign('GET', p, host));
    const pre = await load(url, 'pre-signed', (k) => ({ path: paths[k % 2]!, headers: presigned[k % 2]! }), child.pid);
    await load(url, 'signed-each', (k) => ({ path: paths[k % 2]!, headers: sign('GET', paths[k % 2]!, host) }), child.pid);
    const bare = await startChild(['-e', BARE]);
    try {
      const ceiling = await load(bare.url, 'bare node:http', () => ({ path: '/', headers: presigned[0]! }), bare.pid);
      console.log(`emulator (pre-signed) = ${((pre / ceiling) * 100).toFixed(0)} % of a bare node:http server on this machine now`);
    } finally {
      await bare.stop();
    }
  } finally {
    await pool.close();
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
