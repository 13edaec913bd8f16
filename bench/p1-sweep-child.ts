/**
 * One measured checker sweep in a fresh process (P1). bench/p1-checker-throughput.ts bundles this file
 * with the deployment's esbuild settings (as Lambda runs it: no tsx loader in the measured process) and
 * fork()s `node --expose-gc <bundle> '<json>'` with { url, concurrency, rps, burst, warmup }.
 *
 * The process holds only what the checker Lambda would: the CBR client and the sweep's own data. The
 * run store is lib/store/memory.ts in the PARENT process, reached over the IPC channel (IpcRunStore),
 * and messages are serialised and counted, not kept (CountingBus). With `warmup`, one sweep runs first
 * on a small store (JIT, keep-alive sockets), then the parent switches to the measured store. Prints a
 * JSON line: the sweep's result, wall and CPU time, HTTP attempts, latency seen, peak RSS and heap.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { callRecorder, checkerDeps, CountingBus, IpcRunStore, runSweep } from './p1-world';

interface Args {
  url: string;
  concurrency: number;
  rps: number;
  burst: number;
  warmup: boolean;
}

function toParent(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (e: Error | null) => (e ? reject(e) : resolve())));
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const store = new IpcRunStore();
  const checker = { url: args.url, concurrency: args.concurrency, rps: args.rps, burst: args.burst };
  if (args.warmup) {
    const rec = callRecorder();
    await runSweep(checkerDeps(store, { ...checker, onCall: rec.onCall }), rec);
    // The parent swaps in the measured store before it acknowledges.
    await new Promise<void>((resolve) => {
      const onMessage = (m: unknown) => {
        if ((m as { kind?: string })?.kind !== 'measure') return;
        process.off('message', onMessage);
        resolve();
      };
      process.on('message', onMessage);
      void toParent({ kind: 'warm' });
    });
  }
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  const mb = (b: number) => b / 1048576;
  const before = process.memoryUsage();
  // Sample the heap while the sweep runs (peak RSS alone cannot say what holds the memory).
  const peak = { heapUsed: 0, rss: 0 };
  const spaces: Record<string, number> = {};
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.rss = Math.max(peak.rss, m.rss);
    for (const sp of getHeapSpaceStatistics()) spaces[sp.space_name] = Math.max(spaces[sp.space_name] ?? 0, mb(sp.space_used_size));
  }, 100);
  const rec = callRecorder();
  const bus = new CountingBus();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const f = await runSweep(checkerDeps(store, { ...checker, onCall: rec.onCall }, bus), rec);
  loop.disable();
  clearInterval(sample);
  process.stdout.write(
    `${JSON.stringify({
      ...f,
      sent: bus.sent,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      rssBeforeSweepMb: mb(before.rss),
      heapBeforeSweepMb: mb(before.heapUsed),
      peakHeapUsedMb: mb(peak.heapUsed),
      peakSpacesMb: spaces,
      // How long callbacks (e.g. a CBR answer that has arrived) waited for this process's event loop:
      // the histogram holds the sampling timer's whole interval, so its 5 ms resolution is taken off.
      loopDelayMs: { mean: Math.max(0, loop.mean / 1e6 - 5), p99: Math.max(0, loop.percentile(99) / 1e6 - 5) },
    })}\n`,
  );
  process.disconnect();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
  process.disconnect();
});
