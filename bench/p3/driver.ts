/**
 * P3 child process (bundled to plain CJS and run by bare `node`, so no loader is timed): loads one
 * sender bundle and measures it against the emulator. Same driver, same process type for both clients.
 *   mode 'cold': require time + first request of a fresh process.
 *   mode 'load': warm-up, then `sequential` requests one after another (CPU = process.cpuUsage delta,
 *                user + system, divided by the count; latency p50/p99), then `total` requests with
 *                `concurrency` in flight (req/s and CPU per request under load).
 * With `profilePath`, the sequential phase alone is CPU-profiled (node:inspector) and written there.
 * Prints one JSON object on stdout.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { CreateSender, SenderOptions } from './sender';

interface DriverArgs {
  bundle: string;
  sender: SenderOptions;
  mode: 'cold' | 'load';
  warmup?: number;
  sequential?: number;
  concurrency?: number;
  total?: number;
  profilePath?: string;
}

const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;

function q(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as DriverArgs;
  const t0 = process.hrtime.bigint();
  const mod = require(args.bundle) as { createSender: CreateSender };
  const t1 = process.hrtime.bigint();
  const send = mod.createSender(args.sender);
  const status = await send();
  const t2 = process.hrtime.bigint();
  const out: Record<string, unknown> = { importMs: Number(t1 - t0) / 1e6, firstRequestMs: Number(t2 - t1) / 1e6, status };
  if (args.mode === 'load') {
    for (let i = 0; i < (args.warmup ?? 200); i++) await send();
    const n = args.sequential ?? 1000;
    let session: Session | undefined;
    if (args.profilePath) {
      session = new Session();
      session.connect();
      await post(session, 'Profiler.enable');
      await post(session, 'Profiler.setSamplingInterval', { interval: 100 });
      await post(session, 'Profiler.start');
    }
    const lat: number[] = new Array(n);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await send();
      lat[i] = performance.now() - s;
    }
    const seqWallMs = performance.now() - w0;
    const seqCpu = cpuUs(process.cpuUsage(c0));
    if (session) {
      const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
      writeFileSync(args.profilePath!, JSON.stringify(profile));
      session.disconnect();
    }
    lat.sort((a, b) => a - b);
    Object.assign(out, { sequential: n, cpuUsPerRequest: seqCpu / n, p50Ms: q(lat, 0.5), p99Ms: q(lat, 0.99), seqWallMs });

    const total = args.total ?? 4000;
    const c = args.concurrency ?? 16;
    let next = 0;
    let errors = 0;
    const c1 = process.cpuUsage();
    const w1 = performance.now();
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (next < total) {
          next++;
          try {
            await send();
          } catch {
            errors++;
          }
        }
      }),
    );
    const wall = performance.now() - w1;
    Object.assign(out, { concurrency: c, total, errors, rps: (total / wall) * 1000, cpuUsPerRequestConcurrent: cpuUs(process.cpuUsage(c1)) / total });
  }
  process.stdout.write(JSON.stringify(out));
  // Keep-alive sockets would hold the process open: the numbers are out, leave now.
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(String(e instanceof Error ? (e.stack ?? e.message) : e));
  process.exit(1);
});
