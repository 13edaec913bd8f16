/**
 * P8: detection lag — the time between a backup becoming available in CBR and the checker noticing it
 * (the checkpoint's finishedAt in the run record) — and CBR calls per checkpoint, for N runs whose
 * backups take log-normal durations (median 10 min, clamped to 2-60 min), started at random moments
 * over an hour, one server and one vault per run (so calls per checkpoint are the schedule's own, not
 * per-vault batching luck). The real checker (lib/pipeline/check-status.ts, the client and token
 * bucket of lib/wiring/cbr-factory.ts) against the emulator over loopback, on the emulator's manual
 * clock: EventBridge's minute ticks and the checker's sleeps move the clock, so an hour of virtual time
 * runs in seconds. Same world, same durations, measured twice:
 *   - today: CHECK_SCHEDULE=backoff, one sweep per minute (the schedule before issue 17);
 *   - new:   CHECK_SCHEDULE=progress, CHECK_SWEEP_WINDOW_SECONDS=50, CHECK_SWEEP_INTERVAL_SECONDS=10
 *            (serverless.yml's settings for the check-status function).
 * The sweeps themselves take no virtual time (the clock is frozen while one runs); in Lambda a sweep of
 * a few vaults takes tens of ms, which adds to the lag.
 */
import { createCbrClient } from '../lib/cbr/client';
import { checkStatusWindow, type SweepResult } from '../lib/pipeline/check-status';
import { forEachLimited } from '../lib/pipeline/limit';
import { MemoryRunStore } from '../lib/store/memory';
import { dueShardOf } from '../lib/store/run';
import { DEFAULT_SETTINGS, type PipelineSettings } from '../lib/wiring/deps';
import { DEMO } from '../emulator/demo';
import { mulberry32 } from '../emulator/random';
import { runIdOf, serverId, startWorldEmulator } from './p1-emulator';
import { checkerDeps, CountingBus, PROJECT, REGION, runRecordOf, type World } from './p1-world';
import { quantile, round } from './lib/stats';
import type { Benchmark, BenchContext, BenchRow } from './types';

const MIN = 60_000;
const TICK_MS = MIN; // EventBridge rate(1 minute)

export type Schedule = Pick<PipelineSettings, 'checkSchedule' | 'sweepWindowMs' | 'sweepIntervalMs'>;
export const TODAY: Schedule = { checkSchedule: 'backoff', sweepWindowMs: 0, sweepIntervalMs: 10_000 };
export const NEW: Schedule = { checkSchedule: 'progress', sweepWindowMs: 50_000, sweepIntervalMs: 10_000 };

export interface LagFigures {
  runs: number;
  lagMs: { p50: number; p95: number; max: number; mean: number };
  /** ListBackups requests the emulator received, per checkpoint. */
  callsPerCheckpoint: number;
  listBackups: number;
  /** Checker invocations and sweeps (each sweep reads the due index: DUE_SHARDS queries). */
  invocations: number;
  sweeps: number;
  /** Virtual time the checker invocations lasted (their sweeps and the sleeps between them: Lambda bills both). */
  checkerBilledMs: number;
  virtualMinutes: number;
  wallMs: number;
}

/** Backup durations: log-normal, median 10 min, sigma 0.8, redrawn until inside [2, 60] min. */
export function durations(n: number, seed: number): Array<{ startMs: number; durationMs: number }> {
  const rand = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: n }, () => {
    let d: number;
    do d = Math.exp(Math.log(10 * MIN) + 0.8 * normal());
    while (d < 2 * MIN || d > 60 * MIN);
    return { startMs: Math.floor(rand() * 60 * MIN), durationMs: Math.round(d) };
  });
}

/** One simulated hour of checkpoints through the checker with `schedule`; a fresh emulator and store. */
export async function measureLag(o: { runs: number; seed?: number; schedule: Schedule; /** Every backup takes this long (default: drawn). */ durationMs?: number }): Promise<LagFigures> {
  const t0 = performance.now();
  const plan = durations(o.runs, o.seed ?? 17)
    .map((p) => (o.durationMs === undefined ? p : { ...p, durationMs: o.durationMs }))
    .sort((a, b) => a.startMs - b.startMs);
  const emu = await startWorldEmulator([o.runs]);
  try {
    const client = createCbrClient({ region: REGION, projectId: PROJECT, endpoint: emu.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk } });
    const vaults: string[] = new Array<string>(o.runs);
    await forEachLimited(
      plan.map((_, i) => i),
      16,
      async (i) => {
        const r = await client.createVault({
          vault: {
            name: `p8_${i}`,
            billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100_000, charging_mode: 'post_paid' },
            resources: [{ id: serverId(0, i), type: 'OS::Nova::Server' }],
          },
        });
        if (!r.vault) throw new Error('P8: CreateVault answered without a vault (post-paid vaults are created at once)');
        vaults[i] = r.vault.id;
      },
    );
    const settings: PipelineSettings = { ...DEFAULT_SETTINGS, defaultRegion: REGION, ...o.schedule };
    const store = new MemoryRunStore(emu.clock);
    const deps = { ...checkerDeps(store, { url: emu.url, concurrency: settings.checkConcurrency, rps: 0, burst: 1 }, new CountingBus()), clock: emu.clock, settings };
    const origin = emu.clock.now();
    const doneAt = new Map<string, number>();
    let started = 0;

    /** Move the clock to `to`, starting every checkpoint whose moment comes on the way (as start-checkpoint would). */
    const advanceTo = async (to: number): Promise<void> => {
      while (started < plan.length && origin + plan[started]!.startMs <= to) {
        const i = started++;
        const p = plan[i]!;
        emu.clock.set(origin + p.startMs);
        const runId = runIdOf(0, i);
        const checkpointName = `cbrflow_${runId}`;
        emu.faults.scriptCheckpoint({ match: { name: checkpointName }, outcome: 'available', durationMs: p.durationMs });
        const r = await client.createCheckpoint({ checkpoint: { vault_id: vaults[i]!, parameters: { resources: [serverId(0, i)], name: checkpointName, incremental: true } } });
        const now = emu.clock.now();
        const world: World = { projectId: PROJECT, region: REGION, createdAt: now, vaults: 1, runs: [] };
        const record = runRecordOf(world, { runId, vaultId: vaults[i]!, vaultName: `p8_${i}`, checkpointId: r.checkpoint.id, checkpointName, resourceId: serverId(0, i) }, now, settings);
        record.due = { shard: dueShardOf(runId, settings.dueShards), at: now + settings.firstCheckDelayMs };
        await store.create(record);
        doneAt.set(runId, now + p.durationMs);
      }
      if (to > emu.clock.now()) emu.clock.set(to);
    };

    emu.state.resetRequestCounts();
    const totals = { invocations: 0, sweeps: 0, billedMs: 0 };
    const lags: number[] = [];
    const seen = new Set<string>();
    const lastEnd = origin + Math.max(...plan.map((p) => p.startMs + p.durationMs));
    for (let tick = origin + TICK_MS; seen.size < plan.length; tick += TICK_MS) {
      if (tick > lastEnd + 60 * MIN) throw new Error(`P8: ${plan.length - seen.size} runs never noticed`);
      await advanceTo(tick);
      const r: SweepResult = await checkStatusWindow(deps, () => {}, { sleep: (ms) => advanceTo(emu.clock.now() + ms) });
      totals.billedMs += emu.clock.now() - tick;
      totals.invocations++;
      totals.sweeps += r.sweeps ?? 1;
      if (r.errors > 0 || r.expired > 0) throw new Error(`P8: sweep errors ${JSON.stringify(r)}`);
      if (r.finished === 0) continue;
      for (const [runId, at] of doneAt) {
        if (seen.has(runId)) continue;
        const run = await store.get(runId);
        const finishedAt = run?.checkpoints[0]?.status === 'available' ? run.checkpoints[0].finishedAt : undefined;
        if (finishedAt === undefined) continue;
        if (finishedAt < at) throw new Error(`P8: run ${runId} noticed at ${finishedAt}, before its backup ended at ${at}`);
        seen.add(runId);
        lags.push(finishedAt - at);
      }
    }
    const listBackups = emu.state.requestCounts.byOperation['ListBackups'] ?? 0;
    return {
      runs: plan.length,
      lagMs: { p50: quantile(lags, 0.5), p95: quantile(lags, 0.95), max: Math.max(...lags), mean: lags.reduce((a, b) => a + b, 0) / lags.length },
      callsPerCheckpoint: listBackups / plan.length,
      listBackups,
      invocations: totals.invocations,
      sweeps: totals.sweeps,
      checkerBilledMs: totals.billedMs,
      virtualMinutes: (emu.clock.now() - origin) / MIN,
      wallMs: performance.now() - t0,
    };
  } finally {
    await emu.stop();
  }
}

const s = (ms: number) => round(ms / 1000, 1);

export const p8: Benchmark = {
  id: 'P8',
  title: 'detection lag: backup available -> checker notices, today vs progress schedule with 10 s sweeps',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const runs = ctx.small ? 100 : 1000;
    const today = await measureLag({ runs, schedule: TODAY });
    ctx.log(`P8 today: ${JSON.stringify(today)}`);
    const neu = await measureLag({ runs, schedule: NEW });
    ctx.log(`P8 new: ${JSON.stringify(neu)}`);
    const how = (f: LagFigures) =>
      `${f.runs} runs over ${round(f.virtualMinutes, 0)} virtual min, ${f.invocations} invocations, ${f.sweeps} sweeps, ${f.listBackups} ListBackups, ${round(f.wallMs / 1000)} s wall`;
    return [
      {
        id: 'P8.lag.p50',
        figure: 'P8 detection lag p50, progress schedule + 10 s sweeps',
        measured: s(neu.lagMs.p50),
        unit: 's',
        bound: s(today.lagMs.p50),
        boundLabel: 'today: backoff, 1 sweep/min',
        note: `log-normal backups (median 10 min, 2-60 min), one per vault, emulator manual clock; new: ${how(neu)}; today: ${how(today)}`,
      },
      {
        id: 'P8.lag.p95',
        figure: 'P8 detection lag p95, progress schedule + 10 s sweeps',
        measured: s(neu.lagMs.p95),
        unit: 's',
        bound: 15,
        boundLabel: `goal; today ${s(today.lagMs.p95)} s`,
        goal: { kind: 'value', op: '<=', target: 15 },
      },
      {
        id: 'P8.lag.max',
        figure: 'P8 detection lag max, progress schedule + 10 s sweeps',
        measured: s(neu.lagMs.max),
        unit: 's',
        bound: s(today.lagMs.max),
        boundLabel: 'today',
      },
      {
        id: 'P8.calls',
        figure: 'P8 ListBackups per checkpoint, progress schedule + 10 s sweeps',
        measured: round(neu.callsPerCheckpoint, 2),
        unit: 'calls',
        bound: round(today.callsPerCheckpoint, 2),
        boundLabel: 'today',
        goal: { kind: 'ratio', op: '<=', target: 1 },
        note: `counted by the emulator; each sweep also reads the due index (DUE_SHARDS queries): ${neu.sweeps} sweeps vs ${today.sweeps} today`,
      },
    ];
  },
};
