/**
 * When the checker looks at a protecting checkpoint again (issue 17, P8 detection lag).
 *
 * `backoff` (CHECK_SCHEDULE=backoff, the schedule before issue 17): base · 2^(checks-1), capped at
 * CHECK_MAX_DELAY_SECONDS: a 10-minute backup was noticed about 3 minutes late.
 *
 * `progress` (default): CBR reports each protecting backup's `extend_info.progress` (0..100) in the same
 * ListBackups the checker already makes (status=protecting is added to its filter, no extra call). A
 * progress p observed `elapsed` ms after the checkpoint started, read as a whole percentage rounded
 * down, puts the end of that backup in (start + elapsed·100/(p+1), start + elapsed·100/p]: the next look
 * is at the earliest possible end of the slowest backup of the checkpoint, so a linear backup is never
 * looked at after it finished; a look that comes too early (p = 99) narrows the window to 1 % of the
 * elapsed time, then the checker looks every sweep interval until it is done. Never sooner than one
 * sweep interval, never later than CHECK_ESTIMATE_MAX_DELAY_SECONDS (a backup whose progress is not
 * linear is still looked at), and without a usable progress (absent, null, 0) the backoff applies.
 * Pure: tested in test/unit/pipeline/check-schedule.test.ts.
 */
import { backoffCeilingMs } from '../retry';

export type CheckScheduleMode = 'progress' | 'backoff';

export interface CheckScheduleSettings {
  checkSchedule: CheckScheduleMode;
  checkBaseDelayMs: number;
  checkMaxDelayMs: number;
  /** Spacing of the checker's sweeps inside one invocation: the shortest gap between two looks. */
  sweepIntervalMs: number;
  /** The longest gap a progress estimate may put between two looks. */
  estimateMaxDelayMs: number;
}

export interface CheckScheduleInput {
  now: number;
  /** When the checkpoint was started (the run record's clock). */
  createdAt: number;
  /** Looks at this run so far, this one included (>= 1). */
  checks: number;
  /** The progress CBR reported for each backup of the checkpoint still protecting (undefined: none). */
  progress: ReadonlyArray<number | undefined>;
}

export interface NextCheck {
  at: number;
  basis: 'progress' | 'backoff';
  /** The window the progress puts the checkpoint's end in (progress basis only). */
  finish?: { lo: number; hi: number };
}

/** The checker's backoff (no jitter: a look is scheduled, not raced): lib/retry.ts's ceiling. */
export function backoffMs(checks: number, base: number, max: number): number {
  return backoffCeilingMs(checks, { baseDelayMs: base, maxDelayMs: max });
}

/** The window a whole-percent progress `p` seen `elapsed` ms after the start puts the end in. */
export function finishWindow(createdAt: number, elapsed: number, p: number): { lo: number; hi: number } {
  if (p >= 100) return { lo: createdAt + elapsed, hi: createdAt + elapsed };
  return { lo: createdAt + (elapsed * 100) / (p + 1), hi: createdAt + (elapsed * 100) / p };
}

export function nextCheckAt(i: CheckScheduleInput, s: CheckScheduleSettings): NextCheck {
  const backoff: NextCheck = { at: i.now + backoffMs(i.checks, s.checkBaseDelayMs, s.checkMaxDelayMs), basis: 'backoff' };
  if (s.checkSchedule !== 'progress' || i.progress.length === 0) return backoff;
  const elapsed = i.now - i.createdAt;
  if (!(elapsed > 0)) return backoff;
  let lo = -Infinity;
  let hi = -Infinity;
  for (const p of i.progress) {
    if (p === undefined || !Number.isFinite(p) || p <= 0) return backoff;
    const w = finishWindow(i.createdAt, elapsed, Math.min(100, Math.floor(p)));
    lo = Math.max(lo, w.lo);
    hi = Math.max(hi, w.hi);
  }
  const at = Math.min(i.now + s.estimateMaxDelayMs, Math.max(i.now + s.sweepIntervalMs, Math.ceil(lo)));
  return { at, basis: 'progress', finish: { lo: Math.round(lo), hi: Math.round(hi) } };
}
