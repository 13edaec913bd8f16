/**
 * P2: CBR calls per pending checkpoint per sweep, and the client-side rate limit.
 *
 * 1. Calls per sweep, counted by the emulator (state.requestCounts: every request it received), for
 *    10 000 pending checkpoints over 100 vaults (goal <= 0.05 per checkpoint: one paged ListBackups
 *    per vault) and over 10 000 vaults (the worst spread: never more than 1).
 * 2. The rate limit as deployed (CBR_RATE_LIMIT_RPS / _BURST defaults of lib/config.ts, one token
 *    bucket per project): a sweep that needs R requests, request arrival times recorded BY THE EMULATOR.
 *    A token bucket lets at most `burst + rate * T` through in any window T, so the 1 s figure is
 *    compared with rate + burst, and the sustained rate (after the initial burst) with the rate.
 * 3. Back-off: the same sweep with 429 + Retry-After: 1 injected on the first ListBackups calls. The
 *    figure is the gap between the client receiving the first 429 and its next request (>= 1 s), and
 *    the sweep still checks every run (the 429ed calls are retried).
 * The checker runs in this process (the figures are counts, not timings); the emulator in its own.
 */
import { Config } from '../lib/config';
import { round } from './lib/stats';
import { benchWorlds } from './p1-emulator';
import { timedSweep, type SweepFigures } from './p1-world';
import type { Benchmark, BenchContext, BenchRow } from './types';

/** The deployed defaults of the limit (what a function gets with no CBR_RATE_LIMIT_* variables). */
export function deployedRateLimit(): { rps: number; burst: number } {
  return { rps: Config.shape.CBR_RATE_LIMIT_RPS.parse(undefined), burst: Config.shape.CBR_RATE_LIMIT_BURST.parse(undefined) };
}

/** Largest number of times inside any half-open window [t, t + windowMs). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export const p2: Benchmark = {
  id: 'P2',
  title: 'CBR calls per pending checkpoint per sweep, rate limit and 429 back-off',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const w = await benchWorlds(ctx);
    await w.emu.clearFaults();
    const concurrency = 8; // CHECK_CONCURRENCY default
    const rows: BenchRow[] = [];

    for (const [world, id, bound, label] of [
      [w.packed, 'P2.packed', 0.05, 'goal 0.05 per checkpoint'],
      [w.spread, 'P2.spread', 1, 'never more than 1 per checkpoint'],
    ] as const) {
      await w.emu.resetCounts();
      const f = await timedSweep(world, { url: w.emu.url, concurrency, rps: 0, burst: 1 });
      const counts = await w.emu.counts();
      if (f.result.checked !== f.result.due || f.result.errors > 0) throw new Error(`P2: sweep did not check every run: ${JSON.stringify(f.result)}`);
      const pending = f.result.due; // one protecting checkpoint per due run
      const ops = Object.entries(counts.byOperation)
        .map(([op, k]) => `${op} ${k}`)
        .join(', ');
      rows.push({
        id,
        figure: `P2 CBR calls per 1,000 pending checkpoints per sweep, ${pending} runs in ${world.vaults} vaults`,
        measured: round((counts.total / pending) * 1000, 2),
        unit: 'calls',
        bound: bound * 1000,
        boundLabel: label,
        goal: { kind: 'ratio', op: '<=', target: 1 },
        note: `counted by the emulator: ${counts.total} requests (${ops}) for ${pending} pending checkpoints; deterministic (one paged ListBackups per vault, ${f.result.finished} runs handed to share-backup)`,
      });
      ctx.log(`P2: ${world.vaults} vaults: ${counts.total} calls for ${pending} pending checkpoints`);
    }

    // Rate limit, as deployed.
    const { rps, burst } = deployedRateLimit();
    const r = ctx.small ? 30 : 200;
    const runs = w.spread.runs.slice(0, r); // r runs in r vaults: r ListBackups
    const sent: number[] = [];
    await w.emu.record(true);
    const limited = await timedSweep(w.spread, { url: w.emu.url, concurrency, rps, burst, onCall: (e) => sent.push(performance.now() - e.durationMs) }, runs);
    const arrivals = (await w.emu.arrivals()).filter((a) => a.operation === 'ListBackups').map((a) => a.at);
    if (limited.result.checked !== r || arrivals.length !== r || sent.length !== r) throw new Error(`P2: rate-limited sweep checked ${limited.result.checked}/${r} runs, ${arrivals.length} ListBackups seen`);
    // Sustained rate: the sends after the initial burst, first to last (so the cold first request's
    // signing time does not shorten the span); figures to 0.1 req/s, the resolution of a short sweep.
    const sorted = [...sent].sort((a, b) => a - b);
    const arrived = [...arrivals].sort((a, b) => a - b);
    const sustainedOf = (t: number[]) => ((r - burst - 1) / (t[r - 1]! - t[burst]!)) * 1000;
    rows.push({
      id: 'P2.rate.1s',
      figure: `P2 max CBR requests sent in any 1 s window (limit ${rps}/s, burst ${burst})`,
      measured: maxInWindow(sent, 1000),
      unit: 'req',
      bound: rps + burst,
      boundLabel: 'rate·1 s + burst',
      goal: { kind: 'ratio', op: '<=', target: 1 },
      note:
        `a sweep needing ${r} ListBackups at C=${concurrency} took ${round(limited.wallMs / 1000)} s; a token bucket allows burst + rate·T in any window T; ` +
        `send times from the client, the emulator saw at most ${maxInWindow(arrivals, 1000)} arrivals in any 1 s`,
    });
    rows.push({
      id: 'P2.rate.sustained',
      figure: `P2 sustained CBR request rate after the burst (limit ${rps}/s)`,
      measured: round(sustainedOf(sorted), 1),
      unit: 'req/s',
      bound: rps,
      boundLabel: 'CBR_RATE_LIMIT_RPS',
      goal: { kind: 'ratio', op: '<=', target: 1 },
      note: `the ${r - burst} requests after the burst: (count - 1) / (last send - first send); the emulator's arrivals give ${round(sustainedOf(arrived), 2)} req/s`,
    });

    // 429 back-off: one throttling episode hitting the requests of a full burst at once.
    await new Promise((resolve) => setTimeout(resolve, (burst / rps) * 1000 + 100)); // the bucket refills
    const retryAfterS = 1;
    await w.emu.addFault({ id: 'p2-429', operations: ['ListBackups'], error: { rate: 1, statuses: [429], retryAfterSeconds: retryAfterS }, times: 3 });
    const sends: Array<{ at: number; status?: number | undefined; end: number }> = [];
    const throttled: SweepFigures = await timedSweep(
      w.spread,
      {
        url: w.emu.url,
        concurrency,
        rps,
        burst,
        onCall: (e) => {
          const end = performance.now();
          sends.push({ at: end - e.durationMs, end, status: e.status });
        },
      },
      w.spread.runs.slice(r, 2 * r),
    );
    await w.emu.clearFaults();
    const first429 = sends.filter((s) => s.status === 429).sort((a, b) => a.end - b.end)[0];
    if (!first429) throw new Error('P2: the injected 429 was never seen');
    const next = sends.filter((s) => s.at > first429.end).sort((a, b) => a.at - b.at)[0]!;
    const gap = next.at - first429.end;
    const pauseEnd = first429.end + retryAfterS * 1000;
    const rateIn = (from: number, to: number) => (sends.filter((s) => s.at >= from && s.at < to).length / (to - from)) * 1000;
    const lastSend = Math.max(...sends.map((s) => s.at));
    rows.push({
      id: 'P2.429.pause',
      figure: `P2 pause after an injected 429 (Retry-After: ${retryAfterS} s)`,
      measured: round(gap),
      unit: 'ms',
      bound: retryAfterS * 1000,
      boundLabel: 'Retry-After',
      goal: { kind: 'ratio', op: '>=', target: 1 },
      note:
        `first ${throttled.statuses['429'] ?? 0} ListBackups answered 429 and retried; sweep checked ${throttled.result.checked}/${r} runs, ${throttled.result.errors} errors; ` +
        `then the rate is halved and climbs back: ${round(rateIn(pauseEnd, pauseEnd + 3000), 1)} req/s in the 3 s after the pause, ${round(rateIn(Math.max(pauseEnd + 3000, lastSend - 3000), lastSend), 1)} req/s in the last 3 s (client send times)`,
    });
    if (throttled.result.checked !== r || throttled.result.errors > 0) throw new Error(`P2: the 429 sweep lost runs: ${JSON.stringify(throttled.result)}`);
    return rows;
  },
};
