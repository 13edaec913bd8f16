/**
 * Issue 6 §9: load. LOAD_RUNS runs (default 500) are started through the webhook within one (virtual)
 * minute against the local stack — emulator, dynalite, local-aws-sqs, the real handlers driven by the
 * harness — and must all complete. Reported: the checker's work per sweep (due runs, vault groups,
 * ListBackups pages, duration), CBR calls per run, memory and wall time.
 *
 * Memory: the servers run in this process, so the heap at the end includes CBR's, DynamoDB's and the
 * queues' state for 500 runs. What must stay flat is what a warm Lambda container keeps across
 * invocations: after the stack is stopped and dropped, the heap (after a full GC) must be back near its
 * starting size (< 4 MB more) — anything the handlers' modules accumulate per run (caches, registries,
 * listeners) would stay behind. A warm-up round first pays for module loading and most JIT code.
 *
 * CI runs the default 500 (about 50 s on 2 cores); LOAD_RUNS=N changes the size.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const RUNS = Number(process.env.LOAD_RUNS ?? 500);
const RUNS_PER_VAULT = 5;
const WAVES = 10; // RUNS / WAVES webhooks every 6 virtual seconds: all started within a minute
const servers = makeServers(RUNS, 'load');
let h: Harness | undefined;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function memory() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 };
}

afterAll(async () => h?.stop());

describe('load', () => {
  it(`${RUNS} runs started within a minute all complete; the checker keeps up; memory stays flat`, async () => {
    // Warm-up: a small run on a throwaway stack loads and JIT-compiles every module first, so the
    // baseline below already includes one-time initialisation.
    const warm = await startHarness({ emulator: { seed: 6008, resources: [...DEMO.resources, ...servers] } });
    await Promise.all(servers.slice(0, 30).map((s, i) => warm.startRun(runBody(`warm_v${Math.floor(i / RUNS_PER_VAULT)}`, [s.id]))));
    expect((await warm.drive()).done).toBe(true);
    await warm.stop();
    await new Promise((r) => setTimeout(r, 200));
    const baseline = memory();
    h = await startHarness({ pollers: 8, retainInfoLogs: false, emulator: { seed: 6009, resources: [...DEMO.resources, ...servers] } });
    const before = memory();
    const started = performance.now();
    let runIds: string[] = [];
    const perWave = Math.ceil(RUNS / WAVES);
    for (let w = 0; w < WAVES; w++) {
      const wave = Array.from({ length: Math.min(perWave, RUNS - w * perWave) }, (_, k) => w * perWave + k);
      const accepted = await Promise.all(wave.map((i) => h!.startRun(runBody(`load_v${Math.floor(i / RUNS_PER_VAULT)}`, [servers[i]!.id]))));
      for (const a of accepted) {
        expect(a.statusCode).toBe(202);
        runIds.push(a.runId!);
      }
      h.clock.advance(60_000 / WAVES);
    }
    const startMs = performance.now() - started;
    const drive = await h.drive({ runIds, maxRealMs: 600_000 });
    expect(drive.done).toBe(true);

    let runs = await Promise.all(runIds.map((id) => h!.run(id)));
    const states = runs.reduce<Record<string, number>>((m, r) => ((m[r.state] = (m[r.state] ?? 0) + 1), m), {});
    expect(states).toEqual({ COMPLETED: RUNS });
    const peak = memory();

    // The checker kept up: every sweep finished far within its 60 s period, and no run waited for a
    // status check longer than the backoff cap after its checkpoint finished.
    const sweeps = drive.sweeps.filter((s) => s.due > 0);
    const maxSweepMs = Math.max(...sweeps.map((s) => s.ms));
    const maxDue = Math.max(...sweeps.map((s) => s.due));
    expect(sweeps.every((s) => !s.killed && s.errors === 0)).toBe(true);
    expect(maxSweepMs).toBeLessThan(30_000);
    const lags = runs.map((r) => {
      const cp = r.checkpoints[0]!;
      return cp.finishedAt! - cp.createdAt!;
    });
    const maxLagS = Math.max(...lags) / 1000;
    expect(maxLagS).toBeLessThanOrEqual((h.settings.firstCheckDelayMs + h.settings.checkMaxDelayMs) / 1000 + 60);

    const calls = h.emulator.state.requestCounts;
    const listPages = sweeps.reduce((n, s) => n + s.listCalls, 0);
    // Stop and drop the stack (and this test's own copies of the runs); what is left is what the
    // handler modules keep.
    const summary = { total: calls.total, byOperation: JSON.stringify(calls.byOperation), driveMs: drive.realMs, pumpMs: drive.pumpMs, sweepMs: drive.sweepMs, virtualMs: drive.virtualMs };
    await h.stop();
    h = undefined;
    runs = [];
    runIds = [];
    lags.length = 0;
    await new Promise((r) => setTimeout(r, 200));
    const residual = memory();
    const residualKbPerRun = ((residual.heapMb - baseline.heapMb) * 1024) / RUNS;
    // Measured: ~1-2 MB, all of it JIT-compiled code, converging to 0 on further rounds (a per-run leak
    // of 8 KB would already fail at 500 runs).
    expect(residual.heapMb - baseline.heapMb).toBeLessThan(4);
    console.log(
      `[reliability] load: runs=${RUNS} completed=${states.COMPLETED} vaults=${RUNS / RUNS_PER_VAULT} startedIn=${Math.round(startMs)}ms(real)/60s(virtual) ` +
        `drive=${Math.round(summary.driveMs)}ms (pump ${Math.round(summary.pumpMs)} sweeps ${Math.round(summary.sweepMs)}) virtual=${Math.round(summary.virtualMs / 1000)}s | ` +
        `sweeps=${sweeps.length} maxDuePerSweep=${maxDue} maxSweepMs=${Math.round(maxSweepMs)} listBackupsPages=${listPages} maxCheckLag=${maxLagS}s | ` +
        `cbrCalls=${summary.total} perRun=${(summary.total / RUNS).toFixed(2)} ${summary.byOperation} | ` +
        `heap baseline=${baseline.heapMb.toFixed(1)}MB stackUp=${before.heapMb.toFixed(1)} peak=${peak.heapMb.toFixed(1)} (servers' state included) ` +
        `afterStop=${residual.heapMb.toFixed(1)}MB (${residualKbPerRun.toFixed(2)}KB/run kept) rss ${baseline.rssMb.toFixed(0)}->${peak.rssMb.toFixed(0)}->${residual.rssMb.toFixed(0)}MB`,
    );
  }, 900_000);
});
