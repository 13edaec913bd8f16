/**
 * Issue 6 §4: checkpoints that never finish or fail. The emulator scripts one checkpoint to stay
 * `protecting` forever and one to end in `error` with a reason; the runs must end EXPIRED (within
 * the completion window plus one checker period) and FAILED (with CBR's reason and code), and both
 * must announce run.finished on the events queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { checkpointName } from '../../lib/pipeline/common';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

let h: Harness;
const servers = makeServers(4, 'stuck');
const CHECKER_PERIOD_MS = 60_000;

beforeAll(async () => {
  h = await startHarness({ emulator: { seed: 6004, resources: [...DEMO.resources, ...servers] } });
});
afterAll(async () => h?.stop());

describe('stuck and failed checkpoints', () => {
  it('a checkpoint that never completes ends EXPIRED in time; one that ends in error ends FAILED with CBR\'s reason; both announce run.finished', async () => {
    h.clock.advance(17_000); // not on a minute boundary: the checker's period really matters
    const windowMinutes = 5;
    const stuck = await h.startRun(runBody('stuck_never', [servers[0]!.id, servers[1]!.id], { completionWindowMinutes: windowMinutes }));
    const failing = await h.startRun(runBody('stuck_error', [servers[2]!.id, servers[3]!.id]));
    const [stuckRun, failingRun] = await Promise.all([h.run(stuck.runId!), h.run(failing.runId!)]);
    h.emulator.faults.scriptCheckpoint({ match: { name: checkpointName(stuckRun, 1) }, outcome: 'never' });
    h.emulator.faults.scriptCheckpoint({ match: { name: checkpointName(failingRun, 1) }, outcome: 'error', reason: 'snapshot quota exceeded on the storage pool', code: 'BackupService.0002' });

    const drive = await h.drive();
    expect(drive.done).toBe(true);

    // The stuck one: EXPIRED no later than window + one checker period, never earlier than the window.
    const expired = await h.run(stuck.runId!);
    const windowMs = windowMinutes * 60_000;
    expect(expired.state).toBe('EXPIRED');
    expect(expired.finishedAt! - expired.createdAt).toBeGreaterThanOrEqual(windowMs);
    expect(expired.finishedAt! - expired.createdAt).toBeLessThanOrEqual(windowMs + CHECKER_PERIOD_MS);
    expect(expired.reason).toMatch(/completion window of 5 minutes/);
    expect(expired.reason).toContain(expired.checkpoints[0]!.id!);
    expect(h.emulator.state.snapshot().checkpoints.find((c) => c.id === expired.checkpoints[0]!.id)).toMatchObject({ status: 'protecting' });

    // The failed one: FAILED with CBR's reason and code (from the task log), nothing shared.
    const failed = await h.run(failing.runId!);
    expect(failed.state).toBe('FAILED');
    expect(failed.reason).toContain('snapshot quota exceeded on the storage pool');
    expect(failed.lastError).toMatchObject({ code: 'BackupService.0002', message: 'snapshot quota exceeded on the storage pool' });
    expect(failed.shares).toEqual([]);
    expect(h.emulator.state.requestCounts.byOperation.AddMember ?? 0).toBe(0);

    // Both announced on the events queue.
    const finished = (runId: string) => h.events.filter((e) => e.type === 'run.finished' && e.runId === runId);
    expect(new Set(finished(stuck.runId!).map((e) => e.id)).size).toBe(1);
    expect(finished(stuck.runId!)[0]!.data).toMatchObject({ state: 'EXPIRED', reason: expect.stringContaining('completion window') });
    expect(new Set(finished(failing.runId!).map((e) => e.id)).size).toBe(1);
    expect(finished(failing.runId!)[0]!.data).toMatchObject({
      state: 'FAILED',
      reason: expect.stringContaining('snapshot quota exceeded'),
      error: { code: 'BackupService.0002', message: 'snapshot quota exceeded on the storage pool' },
    });

    console.log(
      `[reliability] stuck/failed: expired after ${Math.round((expired.finishedAt! - expired.createdAt) / 1000)}s (window ${windowMs / 1000}s + period ${CHECKER_PERIOD_MS / 1000}s) ` +
        `failed reason="${failed.lastError!.code}: ${failed.lastError!.message}" sweeps=${drive.sweeps.length} wall=${Math.round(drive.realMs)}ms`,
    );
  }, 60_000);
});
