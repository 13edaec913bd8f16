/**
 * Seeded pseudo-random numbers so a run with injected faults can be replayed with the same seed.
 * mulberry32 is hand-written (10 lines) rather than a dependency: it is the standard tiny PRNG, and the
 * emulator must stay dependency-free apart from zod.
 */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.float();
}

const HEX = '0123456789abcdef';

export class Rng {
  /** mulberry32's whole state (one 32-bit word), kept here so it can be saved and restored. */
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  reseed(seed: number): void {
    this.a = seed >>> 0;
  }
  /** The stream's position: `restore(position())` continues exactly where it was (ids are never drawn twice). */
  position(): number {
    return this.a;
  }
  restore(position: number): void {
    this.a = position >>> 0;
  }
  private next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }
  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** Approximately normal (Box-Muller). */
  normal(mean: number, stdDev: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + stdDev * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  hex(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += HEX[Math.floor(this.next() * 16)];
    return out;
  }
  /** RFC 4122 version-4 shaped UUID drawn from the seeded stream (so ids replay with the seed). */
  uuid(): string {
    const h = this.hex(32);
    const variant = HEX[8 + Math.floor(this.next() * 4)];
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
