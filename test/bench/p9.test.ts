// P9 at a tiny size: 20 plans over a virtual day through the real steps and checker against the
// emulator. Every run completes, and the day's counters agree with each other and with what one run
// costs (the steps' CBR calls, six messages, one start-run and four step invocations at most).
import { describe, expect, it } from 'vitest';
import { predicted, simulateDay } from '../../bench/p9-simulated-day';

describe('P9 simulated day', () => {
  it('completes every run of a tiny day with consistent counters', async () => {
    const f = await simulateDay({ tenants: 1, regions: 20, seed: 4 });
    expect(f.runs).toBe(20);
    expect(f.states).toEqual({ COMPLETED: 20 });
    expect(f.errors).toBe(0);
    expect(f.virtualHours).toBeGreaterThanOrEqual(24);

    // CBR: per run ListVault, ShowVault twice (create-vault's, and start-checkpoint's capacity check), CreateCheckpoint, and per server ShowMembersDetail + AddMember (1 share target).
    const steps = ['ListVault', 'ShowVault', 'CreateCheckpoint'].map((op) => f.cbr[op] ?? 0);
    expect(steps).toEqual([20, 40, 20]);
    expect(f.cbr['AddMember']).toBe(f.servers);
    expect(f.cbr['ShowMembersDetail']).toBe(f.servers);
    const calls = Object.values(f.cbr).reduce((a, b) => a + b, 0);
    expect(calls).toBeGreaterThanOrEqual(f.runs * 4 + 2 * f.servers + f.runs); // + at least one ListBackups per run
    expect(f.cbr['ListBackups']!).toBeGreaterThanOrEqual(f.runs);
    expect(f.cbrStatuses).toEqual({ '200': calls });

    // Six messages and at most five step invocations per run; one checker invocation per minute of the day.
    expect(Object.values(f.sqs).reduce((a, b) => a + b, 0)).toBe(6 * f.runs);
    expect(f.lambda['start-run']).toBe(f.runs);
    for (const fn of ['create-vault', 'add-resources', 'start-checkpoint', 'share-backup']) {
      expect(f.lambda[fn]!).toBeGreaterThan(0);
      expect(f.lambda[fn]!).toBeLessThanOrEqual(f.runs);
    }
    expect(f.lambda['check-status']!).toBeGreaterThanOrEqual(1440);
    expect(f.sweeps).toBeGreaterThanOrEqual(f.lambda['check-status']!);
    expect(f.store['listDue']).toBe(4 * f.sweeps);
    expect(f.store['create']).toBe(f.runs);
    expect(f.store['markAnnounced']).toBe(f.runs);

    // One run alone in its project: at most 1/L requests in any second, under the container's bucket.
    expect(f.peakRps).toBeLessThanOrEqual(Math.ceil(predicted(f.runs).rps));
    expect(f.lagMs.max).toBeLessThanOrEqual(20_000);
    expect(f.lagMs.p50).toBeGreaterThanOrEqual(0);
  }, 120_000);
});
