/** A manual clock for lib/cbr/rate-limit.ts: timers fire only when the test advances time. */
import type { LimiterClock } from '../../../lib/cbr/rate-limit';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeLimiterClock implements LimiterClock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Pending (not cancelled) timers. */
  pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Moves time to `target`, firing due timers in order and letting promise callbacks run after each. */
  async advanceTo(target: number): Promise<void> {
    await settle();
    for (;;) {
      this.timers = this.timers.filter((x) => !x.cancelled);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = Math.max(this.t, target);
    await settle();
  }

  /** Moves time WITHOUT firing timers: a busy event loop runs a timer late. */
  lag(ms: number): void {
    this.t += ms;
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
}

/** Lets every queued promise callback (and the ones they queue) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
