// One checker invocation sweeps again, on its 10 s grid, for the runs that fall due within its window,
// and stops when the invocation's remaining time is too short (issue 17, P8).
import { describe, expect, it } from 'vitest';
import { checkStatusWindow } from '../../../lib/pipeline/check-status';
import { startRun } from '../../../lib/pipeline/start-run';
import type { Logger } from '../../../lib/wiring/log';
import { makeWorld, request } from './world';

const silent: Logger = () => {};

/** A run waiting in check-status, first look due 23 s from now (backups protecting, no progress in the fake CBR). */
async function waiting(settings: Parameters<typeof makeWorld>[0]) {
  const w = makeWorld({ firstCheckDelayMs: 23_000, sweepIntervalMs: 10_000, ...settings });
  const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
  await w.pump();
  const run = (await w.memory.get(runId))!;
  expect(run).toMatchObject({ step: 'check-status', due: { at: w.clock.now() + 23_000 } });
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    w.clock.advance(ms);
  };
  return { w, runId, sleeps, sleep, start: w.clock.now() };
}

describe('checkStatusWindow', () => {
  it('looks at a run due 23 s into the window at the 30 s sweep, then stops when nothing else falls due in it', async () => {
    const { w, runId, sleeps, sleep, start } = await waiting({ sweepWindowMs: 50_000 });
    const result = await checkStatusWindow(w.deps, silent, { sleep });
    expect(sleeps).toEqual([30_000]);
    expect(result).toMatchObject({ sweeps: 2, rescheduled: 1, errors: 0 });
    expect(result.nextDueAt).toBeUndefined();
    const run = (await w.memory.get(runId))!;
    // No progress from CBR: the backoff (30 s after the first look) puts the next look past the window.
    expect(run).toMatchObject({ checks: 1, due: { at: start + 30_000 + 30_000 } });
  });

  it('makes one sweep when the window is 0 (CHECK_SWEEP_WINDOW_SECONDS unset)', async () => {
    const { w, runId, sleeps, sleep } = await waiting({ sweepWindowMs: 0 });
    const result = await checkStatusWindow(w.deps, silent, { sleep });
    expect(sleeps).toEqual([]);
    expect(result).toMatchObject({ sweeps: 1, rescheduled: 0 });
    expect((await w.memory.get(runId))!.checks).toBe(0);
  });

  it('starts no further sweep when the invocation would have less than 5 s left', async () => {
    const { w, runId, sleeps, sleep } = await waiting({ sweepWindowMs: 50_000 });
    const result = await checkStatusWindow(w.deps, silent, { sleep, remainingMs: () => 34_000 });
    expect(sleeps).toEqual([]);
    expect(result.sweeps).toBe(1);
    expect((await w.memory.get(runId))!.checks).toBe(0); // still due: the next invocation looks at it
  });
});
