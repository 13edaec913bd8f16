// P1/P2 at a small size, as assertions on structure (counts, order, gaps), never on speed: the checker
// over the emulator on loopback costs one paged ListBackups per vault, never more than one call per
// pending checkpoint, never lets more requests through than its token bucket allows, and pauses for
// Retry-After on a 429 without losing a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator';
import { ADVANCE_MS, seedWorld, startWorldEmulator } from '../../bench/p1-emulator';
import { timedSweep, type World } from '../../bench/p1-world';
import { maxInWindow } from '../../bench/p2-calls-per-checkpoint';

let emu: Emulator;
let packed: World; // 300 runs in 3 vaults
let spread: World; // 120 runs in 120 vaults
let uneven: World; // 60 runs in 12 vaults of sizes 1, 2, ..., 10, 5, 0 (one empty vault)
const arrivals: Array<{ at: number; operation: string }> = [];

beforeAll(async () => {
  emu = await startWorldEmulator([300, 120, 60], {
    log: (e) => arrivals.push({ at: performance.now() - e.durationMs, operation: e.operation }),
  });
  const target = { url: emu.url, createdAt: emu.clock.now() };
  packed = await seedWorld(target, { world: 0, runs: 300, vaults: 3 });
  spread = await seedWorld(target, { world: 1, runs: 120, vaults: 120 });
  // run i goes to the vault v with v(v+1)/2 <= i < (v+1)(v+2)/2: sizes 1, 2, 3, ...
  uneven = await seedWorld(target, { world: 2, runs: 60, vaults: 12, vaultOf: (i) => Math.floor((Math.sqrt(8 * i + 1) - 1) / 2) });
  emu.clock.advance(ADVANCE_MS); // ~10% of the backups are finished, the rest still protecting
}, 60_000);
afterAll(() => emu?.stop());

/** Runs finished in the emulator (their one backup available or error). */
function finishedIn(world: World): number {
  const ids = new Set(world.runs.map((r) => r.checkpointId));
  return emu.state.snapshot().backups.filter((b) => ids.has(String(b.checkpoint_id)) && (b.status === 'available' || b.status === 'error')).length;
}

async function sweepCounting(world: World, o: { rps?: number; burst?: number; runs?: World['runs']; onCall?: Parameters<typeof timedSweep>[1]['onCall'] } = {}) {
  emu.state.resetRequestCounts();
  const f = await timedSweep(world, { url: emu.url, concurrency: 8, rps: o.rps ?? 0, burst: o.burst ?? 1, ...(o.onCall ? { onCall: o.onCall } : {}) }, o.runs);
  return { f, counts: structuredClone(emu.state.requestCounts) };
}

describe('P2: CBR calls per pending checkpoint per sweep', () => {
  it('100 runs per vault: one ListBackups per vault, 0.01 calls per pending checkpoint, every run checked', async () => {
    const { f, counts } = await sweepCounting(packed);
    expect(f.result).toMatchObject({ due: 300, vaults: 3, checked: 300, errors: 0 });
    expect(counts.byOperation).toEqual({ ListBackups: 3 });
    expect(counts.total / f.result.due).toBeLessThanOrEqual(0.05);
    // Batching loses nothing: exactly the runs whose backup finished were handed to share-backup.
    const finished = finishedIn(packed);
    expect(finished).toBeGreaterThan(0);
    expect(finished).toBeLessThan(300);
    expect(f.result.finished).toBe(finished);
    expect(f.result.rescheduled).toBe(300 - finished);
  });

  it('one run per vault (the worst spread): exactly one call per pending checkpoint, never more', async () => {
    const { f, counts } = await sweepCounting(spread);
    expect(f.result).toMatchObject({ due: 120, vaults: 120, checked: 120, errors: 0 });
    expect(counts.total).toBe(120);
    expect(counts.total / f.result.due).toBeLessThanOrEqual(1);
    expect(f.result.finished).toBe(finishedIn(spread));
  });

  it('uneven spread: one call per vault that has due runs, so at most one per pending checkpoint', async () => {
    const { f, counts } = await sweepCounting(uneven);
    const vaultsWithRuns = new Set(uneven.runs.map((r) => r.vaultId)).size;
    expect(vaultsWithRuns).toBe(11); // sizes 1..10 hold 55 runs, the 11th the last 5, the 12th none
    expect(f.result.checked).toBe(60);
    expect(counts.byOperation).toEqual({ ListBackups: 11 });
    expect(counts.total).toBeLessThanOrEqual(f.result.due);
  });
});

describe('P2: the checker under the per-project rate limit', () => {
  it('never lets more than burst + rate * T requests reach CBR in any window T', async () => {
    const rate = 20;
    const burst = 5;
    const runs = spread.runs.slice(0, 40);
    arrivals.length = 0;
    const { f } = await sweepCounting(spread, { rps: rate, burst, runs });
    expect(f.result).toMatchObject({ due: 40, checked: 40, errors: 0 });
    const t = arrivals.filter((a) => a.operation === 'ListBackups').map((a) => a.at);
    expect(t).toHaveLength(40);
    t.sort((a, b) => a - b);
    // Arrival = grant + transit; transit varies (event loops, a loaded CI box), so allow 100 ms of
    // jitter. Without the limit all 40 would arrive within a few tens of ms.
    const jitterMs = 100;
    for (let i = 0; i < t.length; i++) {
      for (let j = i; j < t.length; j++) expect(j - i + 1, `arrivals ${i}..${j}`).toBeLessThanOrEqual(burst + (rate * (t[j]! - t[i]! + jitterMs)) / 1000);
    }
    expect(maxInWindow(t, 1000)).toBeLessThanOrEqual(rate + burst + 2);
    expect(t[t.length - 1]! - t[0]!).toBeGreaterThanOrEqual(((40 - burst) / rate) * 1000 - jitterMs);
  });

  it('on a 429 with Retry-After: sends nothing until it has passed, retries, loses no run', async () => {
    emu.faults.add({ id: 'p2-429', operations: ['ListBackups'], error: { rate: 1, statuses: [429], retryAfterSeconds: 1 }, times: 2 });
    const sends: Array<{ at: number; end: number; status?: number | undefined }> = [];
    const runs = spread.runs.slice(40, 70);
    try {
      const { f, counts } = await sweepCounting(spread, {
        rps: 50,
        burst: 5,
        runs,
        onCall: (e) => {
          const end = performance.now();
          sends.push({ at: end - e.durationMs, end, status: e.status });
        },
      });
      expect(f.result).toMatchObject({ due: 30, checked: 30, errors: 0 });
      expect(counts.byStatus).toMatchObject({ 429: 2, 200: 30 });
      const first429 = sends.filter((s) => s.status === 429).sort((a, b) => a.end - b.end)[0]!;
      const after = sends.filter((s) => s.at > first429.end).map((s) => s.at - first429.end);
      expect(after.length).toBeGreaterThan(0);
      expect(Math.min(...after)).toBeGreaterThanOrEqual(1000);
    } finally {
      emu.faults.clear();
    }
  });
});
