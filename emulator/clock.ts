/**
 * The emulator's notion of "now". Every status the emulator reports (protecting -> available, deleting ->
 * gone, token expiry, X-Sdk-Date window, AK lock-out) is derived from this clock on each read, so a manual
 * clock makes tests deterministic and instant: create a checkpoint, `clock.advance(10_000)`, read it again.
 *
 * Injected latency, hangs and Retry-After are real wall-clock behaviour on the socket and do not use it.
 */
export interface EmulatorClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Move time forward (both kinds: a system clock keeps an offset). Negative values are rejected. */
  advance(ms: number): void;
  /** Jump to an absolute epoch time (manual and system clocks both keep it as an offset). */
  set(epochMs: number): void;
  readonly kind: 'system' | 'manual' | 'custom';
}

export type ClockOption = 'system' | 'manual' | { now(): number };

export function createClock(spec: ClockOption = 'system', startMs?: number): EmulatorClock {
  let offset = 0;
  let base: () => number;
  let kind: EmulatorClock['kind'];
  if (spec === 'manual') {
    const frozen = startMs ?? Date.now();
    base = () => frozen;
    kind = 'manual';
  } else if (spec === 'system') {
    base = Date.now;
    kind = 'system';
    if (startMs !== undefined) offset = startMs - Date.now();
  } else {
    const source = spec;
    base = () => source.now();
    kind = 'custom';
  }
  return {
    kind,
    now: () => base() + offset,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`clock.advance: ms must be a finite number >= 0, got ${ms}`);
      offset += ms;
    },
    set(epochMs: number) {
      if (!Number.isFinite(epochMs)) throw new RangeError(`clock.set: epochMs must be finite, got ${epochMs}`);
      offset = epochMs - base();
    },
  };
}
