import { describe, expect, it } from 'vitest';
import { backoffMs, finishWindow, nextCheckAt, type CheckScheduleSettings } from '../../../lib/pipeline/check-schedule';
import { loadConfig, settingsFrom } from '../../../lib/config';

const S: CheckScheduleSettings = { checkSchedule: 'progress', checkBaseDelayMs: 30_000, checkMaxDelayMs: 300_000, sweepIntervalMs: 10_000, estimateMaxDelayMs: 900_000 };
const T0 = 1_800_000_000_000;
const MIN = 60_000;

/** A backup of `durationMs` that reports whole-percent progress rounded down, as the emulator does. */
const progressOf = (durationMs: number, elapsed: number): number => Math.min(99, Math.floor((elapsed * 100) / durationMs));

/** Looks the schedule makes at one backup until it is seen finished: their times and the lag. */
function simulate(durationMs: number, s: CheckScheduleSettings, firstDelayMs = 30_000): { looks: number; lagMs: number } {
  let now = T0 + firstDelayMs;
  for (let checks = 1; checks < 1000; checks++) {
    if (now - T0 >= durationMs) return { looks: checks, lagMs: now - T0 - durationMs };
    now = nextCheckAt({ now, createdAt: T0, checks, progress: [progressOf(durationMs, now - T0)] }, s).at;
  }
  throw new Error('never finished');
}

describe('check schedule (issue 17, P8)', () => {
  it('backoff: base · 2^(checks-1), capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((c) => backoffMs(c, 30_000, 300_000))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    expect(nextCheckAt({ now: T0, createdAt: T0 - MIN, checks: 3, progress: [50] }, { ...S, checkSchedule: 'backoff' })).toEqual({ at: T0 + 120_000, basis: 'backoff' });
  });

  it('a whole-percent progress puts the end between elapsed·100/(p+1) and elapsed·100/p', () => {
    expect(finishWindow(0, 60_000, 25)).toEqual({ lo: (60_000 * 100) / 26, hi: 240_000 });
    expect(finishWindow(0, 60_000, 100)).toEqual({ lo: 60_000, hi: 60_000 });
  });

  it('looks next at the earliest end of the slowest backup, and never before one sweep interval', () => {
    // 2 min in: one backup at 40 % (ends in 4:52..5:00), the other at 80 % (ends in 2:28..2:30).
    const next = nextCheckAt({ now: T0 + 2 * MIN, createdAt: T0, checks: 2, progress: [40, 80] }, S);
    expect(next.basis).toBe('progress');
    expect(next.at).toBe(T0 + Math.ceil((2 * MIN * 100) / 41));
    expect(next.finish).toEqual({ lo: T0 + Math.round((2 * MIN * 100) / 41), hi: T0 + 5 * MIN });
    // Nearly done: the next look one sweep interval later, not at once.
    expect(nextCheckAt({ now: T0 + 10 * MIN, createdAt: T0, checks: 6, progress: [99] }, S).at).toBe(T0 + 10 * MIN + 10_000);
  });

  it('caps the gap a low progress asks for at CHECK_ESTIMATE_MAX_DELAY_SECONDS', () => {
    const next = nextCheckAt({ now: T0 + MIN, createdAt: T0, checks: 2, progress: [1] }, S);
    expect(next.at).toBe(T0 + MIN + 900_000);
  });

  it('falls back to the backoff when a backup has no usable progress (absent, null from CBR, 0)', () => {
    for (const progress of [[], [undefined], [50, undefined], [0]]) {
      expect(nextCheckAt({ now: T0 + MIN, createdAt: T0, checks: 2, progress }, S)).toEqual({ at: T0 + MIN + 60_000, basis: 'backoff' });
    }
  });

  it('notices linear backups of 2 to 60 min within one sweep interval, with fewer looks than the backoff', () => {
    for (const minutes of [2, 3.3, 7, 10, 17.5, 30, 45, 60]) {
      const d = minutes * MIN;
      const progress = simulate(d, S);
      const backoff = simulate(d, { ...S, checkSchedule: 'backoff' });
      expect(progress.lagMs, `${minutes} min`).toBeLessThanOrEqual(10_000);
      expect(progress.looks, `${minutes} min`).toBeLessThanOrEqual(backoff.looks);
    }
    // Today's backoff notices a 10-minute backup 3 minutes late (issue 17).
    expect(simulate(10 * MIN, { ...S, checkSchedule: 'backoff' }).lagMs).toBe(3 * MIN);
  });

  it('is configured from the environment, with a clear error for a bad value', () => {
    const env = {
      TABLE_NAME: 'runs',
      ...Object.fromEntries(['INTAKE', 'VAULT', 'RESOURCES', 'CHECKPOINT', 'SHARE', 'EVENTS'].map((q) => [`${q}_QUEUE_URL`, `http://127.0.0.1:9324/q/${q}`])),
      CBR_CREDENTIALS_JSON: '{}',
      WEBHOOK_AUTH: 'off',
    };
    const defaults = settingsFrom(loadConfig(env));
    expect(defaults).toMatchObject({ checkSchedule: 'progress', estimateMaxDelayMs: 900_000, sweepWindowMs: 0, sweepIntervalMs: 10_000 });
    const set = settingsFrom(loadConfig({ ...env, CHECK_SCHEDULE: 'backoff', CHECK_SWEEP_WINDOW_SECONDS: '50', CHECK_SWEEP_INTERVAL_SECONDS: '5', CHECK_ESTIMATE_MAX_DELAY_SECONDS: '600' }));
    expect(set).toMatchObject({ checkSchedule: 'backoff', sweepWindowMs: 50_000, sweepIntervalMs: 5_000, estimateMaxDelayMs: 600_000 });
    expect(() => loadConfig({ ...env, CHECK_SCHEDULE: 'eta' })).toThrow(/CHECK_SCHEDULE/);
  });
});
