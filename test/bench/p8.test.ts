// P8 at a small size: the real checker over the emulator on its manual clock. With the progress
// schedule and 10 s sweeps every backup is noticed within 15 s of becoming available, with no more
// ListBackups per checkpoint than the backoff schedule, which notices them minutes late.
import { describe, expect, it } from 'vitest';
import { durations, measureLag, NEW, TODAY } from '../../bench/p8-detection-lag';

describe('P8 detection lag', () => {
  it('draws log-normal durations inside 2-60 min, deterministically per seed', () => {
    const d = durations(500, 3);
    expect(d).toEqual(durations(500, 3));
    for (const x of d) expect(x.durationMs).toBeGreaterThanOrEqual(120_000), expect(x.durationMs).toBeLessThanOrEqual(3_600_000);
    const sorted = d.map((x) => x.durationMs).sort((a, b) => a - b);
    expect(sorted[250]!).toBeGreaterThan(7 * 60_000);
    expect(sorted[250]!).toBeLessThan(14 * 60_000);
  });

  it('notices backups within 15 s (p95) with fewer ListBackups per checkpoint than the backoff schedule', async () => {
    const today = await measureLag({ runs: 60, seed: 5, schedule: TODAY });
    const neu = await measureLag({ runs: 60, seed: 5, schedule: NEW });
    expect(neu.runs).toBe(60);
    expect(neu.lagMs.p95).toBeLessThanOrEqual(15_000);
    expect(neu.lagMs.max).toBeLessThanOrEqual(20_000);
    expect(today.lagMs.p95).toBeGreaterThan(60_000);
    expect(neu.callsPerCheckpoint).toBeLessThanOrEqual(today.callsPerCheckpoint);
    expect(neu.sweeps).toBeGreaterThan(neu.invocations); // several sweeps inside one invocation
    expect(today.sweeps).toBe(today.invocations);
  }, 60_000);
});
