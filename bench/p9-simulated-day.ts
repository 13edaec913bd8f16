/**
 * P9: a simulated day. `tenants` x `regions` daily plans (one vault and one plan per project; a Huawei
 * project id belongs to one region, so each (tenant, region) is its own project id), each protecting
 * k servers (29.4 on average, docs/scale.md A2) shared with one peer project (A3), fire once over 24
 * virtual hours; every run goes through the real edges and use-cases (start-run's plan trigger,
 * lib/pipeline/edge/sqs.ts for the four steps, notify-run-finished for the events queue, the checker
 * with its sweep lease and 10 s sweeps of serverless.yml) against the CBR emulator over loopback (the
 * lib/cbr client of lib/wiring/cbr-factory.ts), an in-process run store (lib/store/memory.ts, every
 * call counted) and in-process queues (batches of up to 10 per queue, as the event-source mappings).
 *
 * Time: the emulator's manual clock is the pipeline's clock. It stands still while an invocation runs
 * and jumps to the next event: a plan firing (the plan's cron, as lib/plans/plans.ts hands it to
 * EventBridge Scheduler, occurrence computed by local/schedule.ts), a message becoming visible, or the
 * checker's minute tick and in-invocation sleeps (as bench P8). An invocation's own duration is
 * modelled: each CBR call takes L (A4, 150 ms; the checker overlaps C = CHECK_CONCURRENCY of them),
 * each store call 8 ms and each SendMessage 20 ms (A6); a message it sends becomes visible at the
 * modelled moment it was sent. Every CBR call is stamped with its modelled moment, which gives the
 * peak requests per second per project (sliding 1 s window).
 *
 * Schedules: docs/scale.md A8 (plans spread over the day): each plan's cron minute and hour are drawn
 * uniformly (seeded). Vaults exist before the day, with their servers bound (a schedule's steady
 * state, as docs/scale.md's c_run assumes); seeding is not counted. Each vault's backup is scripted to take
 * 9-11 min (T = 10 min ± 10 %, A5), so the backup end and the detection lag are known per run.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createCbrClient } from '../lib/cbr/client';
import type { CallEvent } from '../lib/cbr/http';
import type { Message } from '../lib/contracts';
import { addResources } from '../lib/pipeline/add-resources';
import { checkStatusExclusive, checkStatusWindow } from '../lib/pipeline/check-status';
import { createVault } from '../lib/pipeline/create-vault';
import { notifyHandler } from '../lib/pipeline/edge/notify-run-finished';
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { startRunHandler } from '../lib/pipeline/edge/start-run';
import { runIdForPlan } from '../lib/pipeline/start-run';
import { forEachLimited } from '../lib/pipeline/limit';
import { shareBackups } from '../lib/pipeline/share-backup';
import { startCheckpoint } from '../lib/pipeline/start-checkpoint';
import { Plan, scheduleEventOf } from '../lib/plans/plans';
import { CBR_REGIONS } from '../lib/cbr/regions';
import type { Logger, MessageBus, QueueName } from '../lib/ports';
import { MemoryRunStore } from '../lib/store/memory';
import { cbrFactory } from '../lib/wiring/cbr-factory';
import { DEFAULT_SETTINGS, type PipelineDeps, type PipelineSettings } from '../lib/wiring/deps';
import { parseScheduleExpression } from '../local/schedule';
import { DEMO, startEmulator } from '../emulator';
import { mulberry32 } from '../emulator/random';
import { makeContext, makeSqsRecord } from '../test/helpers/factories';
import { serverId } from './p1-emulator';
import { quantile, round } from './lib/stats';
import type { Benchmark, BenchContext, BenchRow } from './types';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** docs/scale.md's assumptions, as the simulation uses them. */
export const SCALE = {
  /** A2: servers per run (10^6 resources / 34,000 runs). */
  k: 1e6 / 34_000,
  /** A4: CBR call latency from Lambda, ms. */
  latencyMs: 150,
  /** A5: backup duration, ms. */
  backupMs: 10 * MIN,
  /** A6: DynamoDB call and SQS SendMessage, ms. */
  storeMs: 8,
  sendMs: 20,
} as const;

export interface DayOptions {
  tenants: number;
  /** First `regions` of lib/cbr/regions.ts (34 = all). */
  regions: number;
  seed?: number;
  /** Settings over serverless.yml's (progress schedule, 50 s window of 10 s sweeps). */
  settings?: Partial<PipelineSettings>;
}

export interface DayFigures {
  runs: number;
  servers: number;
  states: Record<string, number>;
  /** CBR requests the emulator answered, by operation (seeding excluded). */
  cbr: Record<string, number>;
  cbrStatuses: Record<string, number>;
  /** Store calls by method. */
  store: Record<string, number>;
  /** SQS messages sent, by queue. */
  sqs: Record<string, number>;
  /** Lambda invocations by function. */
  lambda: Record<string, number>;
  sweeps: number;
  /** Lambda-billed time of the checker's invocations (modelled, ms). */
  checkerBilledMs: number;
  /** Largest run record written (JSON bytes, ≈ the DynamoDB item). */
  maxRecordBytes: number;
  /** Σ ⌈record bytes / 1 KB⌉ over the run records written (create, save): DynamoDB's write units on the table alone. */
  recordKb: number;
  /** Highest CBR requests in any 1 s window of one project (modelled moments), and which project. */
  peakRps: number;
  peakProject: string;
  lagMs: { p50: number; p95: number; max: number };
  errors: number;
  virtualHours: number;
  wallMs: number;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
/** Project id of (tenant, region): 32 lowercase hex. */
const projectIdOf = (tenant: number, region: number) => `9${hex(tenant, 15)}${hex(region, 16)}`;

/** Lambda invocation in flight, for the modelled clock. */
interface Invocation {
  fn: string;
  start: number;
  calls: number;
  storeCalls: number;
  sends: number;
}

export async function simulateDay(o: DayOptions): Promise<DayFigures> {
  const t0 = performance.now();
  const rand = mulberry32(o.seed ?? 9);
  const regions = CBR_REGIONS.slice(0, o.regions);
  const dayStart = Date.UTC(2026, 11, 5, 0, 0, 0);

  // The plans: one per (tenant, region), k servers each (29 or 30, averaging 29.4), cron drawn over the day.
  interface SimPlan {
    plan: Plan;
    projectId: string;
    servers: string[];
    /** How long its backup takes: T = 10 min ± 10 % (uniform). */
    backupMs: number;
    firesAt: number;
    trigger: Record<string, unknown>;
  }
  const plans: SimPlan[] = [];
  let serverTotal = 0;
  for (let t = 0; t < o.tenants; t++) {
    for (let r = 0; r < regions.length; r++) {
      const i = plans.length;
      const k = Math.floor(SCALE.k * (i + 1)) - Math.floor(SCALE.k * i);
      const projectId = projectIdOf(t, r);
      const servers = Array.from({ length: k }, (_, j) => serverId(i, j));
      serverTotal += k;
      const plan = Plan.parse({
        name: `p9-t${t}-${regions[r]}`.slice(0, 32),
        cron: `${Math.floor(rand() * 60)} ${Math.floor(rand() * 24)} * * *`,
        timezone: 'UTC',
        request: {
          projectId,
          region: regions[r],
          vault: { mode: 'create', name: `p9_${t}_${r}`, billing: { chargingMode: 'post_paid', size: 100_000 } },
          resources: servers.map((id) => ({ id, type: 'OS::Nova::Server' })),
          shareWith: [DEMO.peerProjectId],
        },
      });
      const schedule = scheduleEventOf(plan, 'cbr-flow').schedule;
      const firesAt = parseScheduleExpression(schedule.rate[0]!, schedule.timezone, plan.name);
      if (firesAt.kind === 'rate') throw new Error('P9: plans are cron schedules');
      const at = firesAt.next(new Date(dayStart - 1))!.getTime();
      const backupMs = Math.round(SCALE.backupMs * (0.9 + 0.2 * rand()));
      plans.push({ plan, projectId, servers, backupMs, firesAt: at, trigger: { ...schedule.input, scheduledTime: new Date(at).toISOString() } });
    }
  }
  plans.sort((a, b) => a.firesAt - b.firesAt);

  const emu = await startEmulator({
    clock: 'manual',
    startTime: dayStart - 60 * MIN,
    seed: o.seed ?? 9,
    limits: { sdkDateSkewMs: 30 * 24 * 3600_000 },
    projects: [
      ...DEMO.projects,
      ...plans.map((p) => ({ id: p.projectId, name: `${p.plan.request.region}_${p.plan.name.slice(3, 20)}`, domainName: DEMO.domainName })),
    ],
    resources: plans.flatMap((p) => p.servers.map((id, j) => ({ id, projectId: p.projectId, type: 'OS::Nova::Server' as const, name: `${p.plan.name}-${j}`, sizeGb: 40 }))),
  });
  try {
    // Steady state: every plan's vault exists with its servers bound.
    await forEachLimited(plans, 16, async (p) => {
      const client = createCbrClient({ region: p.plan.request.region!, projectId: p.projectId, endpoint: emu.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk } });
      const v = p.plan.request.vault as { name: string };
      const created = await client.createVault({
        vault: {
          name: v.name,
          billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100_000, charging_mode: 'post_paid' },
          resources: p.servers.map((id) => ({ id, type: 'OS::Nova::Server' })),
        },
      });
      if (!created.vault) throw new Error('P9: CreateVault answered without a vault (post-paid vaults are created at once)');
      // The day's checkpoint in this vault takes backupMs (emulated clock).
      emu.faults.scriptCheckpoint({ match: { vaultId: created.vault.id }, outcome: 'available', durationMs: p.backupMs });
    });
    emu.clock.set(dayStart);
    emu.state.resetRequestCounts();

    const settings: PipelineSettings = { ...DEFAULT_SETTINGS, defaultRegion: DEMO.region, sweepWindowMs: 50_000, sweepIntervalMs: 10_000, ...o.settings };
    const C = settings.checkConcurrency;
    let current: Invocation = { fn: 'seed', start: dayStart, calls: 0, storeCalls: 0, sends: 0 };
    /** Modelled time the current invocation has spent so far. */
    const elapsed = (inv: Invocation) =>
      inv.fn === 'check-status'
        ? Math.ceil(inv.calls / C) * SCALE.latencyMs + inv.storeCalls * SCALE.storeMs
        : inv.calls * SCALE.latencyMs + inv.storeCalls * SCALE.storeMs + inv.sends * SCALE.sendMs;

    // The store, every call counted.
    const storeCounts: Record<string, number> = {};
    let maxRecordBytes = 0;
    let recordKb = 0;
    const memory = new MemoryRunStore(emu.clock);
    const store = new Proxy(memory, {
      get(target, p, receiver) {
        const v = Reflect.get(target, p, receiver) as unknown;
        if (typeof v !== 'function' || typeof p !== 'string') return v;
        return (...args: unknown[]) => {
          storeCounts[p] = (storeCounts[p] ?? 0) + 1;
          if (p === 'create' || p === 'save') {
            const bytes = Buffer.byteLength(JSON.stringify(args[0]));
            maxRecordBytes = Math.max(maxRecordBytes, bytes);
            recordKb += Math.ceil(bytes / 1024);
          }
          current.storeCalls++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });

    // The queues: a message becomes visible at the modelled moment it was sent (plus its delay).
    const sqs: Record<string, number> = {};
    const queues = new Map<QueueName, Array<{ at: number; message: Message }>>();
    let finished = 0;
    const bus: MessageBus = {
      async send(queue, message, opts = {}) {
        const at = current.start + elapsed(current) + SCALE.sendMs + (opts.delaySeconds ?? 0) * 1000;
        current.sends++;
        sqs[queue] = (sqs[queue] ?? 0) + 1;
        if (message.type === 'run.finished') finished++;
        let q = queues.get(queue);
        if (!q) queues.set(queue, (q = []));
        q.push({ at, message: structuredClone(message) });
      },
    };

    // CBR calls stamped with their modelled moment, per project.
    const stamps = new Map<string, number[]>();
    const statuses: Record<string, number> = {};
    const onCall = (e: CallEvent) => {
      const inv = current;
      const at = inv.fn === 'check-status' ? inv.start + Math.floor(inv.calls / C) * SCALE.latencyMs : inv.start + elapsed(inv);
      inv.calls++;
      const project = /^\/v3\/([0-9a-f]{32})\//.exec(e.path)?.[1] ?? 'unknown';
      let s = stamps.get(project);
      if (!s) stamps.set(project, (s = []));
      s.push(at);
      const k = String(e.status ?? e.errorCode ?? 'none');
      statuses[k] = (statuses[k] ?? 0) + 1;
    };

    let errors = 0;
    const log: Logger = (level) => {
      if (level === 'error') errors++;
    };
    let token = 0;
    const deps: PipelineDeps = {
      store,
      bus,
      clock: emu.clock,
      // serverless.yml's client, without its real-time token bucket: its rate is checked on the modelled moments instead.
      cbr: cbrFactory({ CBR_ENDPOINT: emu.url, IAM_ENDPOINT: emu.url, CBR_TIMEOUT_MS: 10_000, CBR_RATE_LIMIT_RPS: 0 }, async () => ({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }), {
        now: () => new Date(emu.clock.now()),
        onCall,
      }),
      settings,
      newToken: () => `p9-${++token}`,
    };
    type SqsFn = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;
    const startRun = startRunHandler(deps, { webhookAuth: { mode: 'off', stage: 'local' }, log });
    const consumers: Partial<Record<QueueName, { fn: string; handler: SqsFn }>> = {
      intake: { fn: 'start-run', handler: startRun as unknown as SqsFn },
      vault: { fn: 'create-vault', handler: sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, deps, log) },
      resources: { fn: 'add-resources', handler: sqsStepHandler({ type: 'vault.ready', step: 'add-resources', run: addResources }, deps, log) },
      checkpoint: { fn: 'start-checkpoint', handler: sqsStepHandler({ type: 'resources.bound', step: 'start-checkpoint', run: startCheckpoint }, deps, log) },
      share: { fn: 'share-backup', handler: sqsStepHandler({ type: 'checkpoint.finished', step: 'share-backup', run: shareBackups }, deps, log) },
      events: {
        fn: 'notify-run-finished',
        handler: notifyHandler({ store, clock: emu.clock, keys: undefined, settings: { allowLoopback: false, maxAttempts: 1, timeoutMs: 5_000 }, log }, { maxReceiveCount: settings.maxReceiveCount, log }),
      },
    };
    const lambda: Record<string, number> = {};
    const ctx = makeContext('cbr-flow-p9');

    /** Runs `fn` as one invocation of `name` starting now (the clock stands still meanwhile). */
    const invoke = async <R>(name: string, fn: () => Promise<R>): Promise<R> => {
      const outer = current;
      current = { fn: name, start: emu.clock.now(), calls: 0, storeCalls: 0, sends: 0 };
      lambda[name] = (lambda[name] ?? 0) + 1;
      try {
        return await fn();
      } finally {
        current = outer;
      }
    };

    let nextPlan = 0;
    /** Plays every event up to `to` in time order (plan firings, visible messages in batches of 10), then sets the clock to `to`. */
    const advanceTo = async (to: number): Promise<void> => {
      for (;;) {
        let at = nextPlan < plans.length ? plans[nextPlan]!.firesAt : Infinity;
        let queue: QueueName | undefined;
        for (const [q, msgs] of queues) {
          for (const m of msgs) {
            if (m.at < at) {
              at = m.at;
              queue = q;
            }
          }
        }
        if (at > to) break;
        if (at > emu.clock.now()) emu.clock.set(at);
        if (queue === undefined) {
          const p = plans[nextPlan++]!;
          await invoke('start-run', () => startRun(p.trigger, ctx));
          continue;
        }
        const msgs = queues.get(queue)!;
        const now = emu.clock.now();
        const batch = msgs.filter((m) => m.at <= now).slice(0, 10);
        queues.set(queue, msgs.filter((m) => !batch.includes(m)));
        const consumer = consumers[queue];
        if (!consumer) throw new Error(`P9: no consumer for queue ${queue}`);
        const out = await invoke(consumer.fn, () => consumer.handler({ Records: batch.map((m) => makeSqsRecord(m.message)) }, ctx));
        if (out && 'batchItemFailures' in out && out.batchItemFailures.length > 0) throw new Error(`P9: ${consumer.fn} failed ${out.batchItemFailures.length} record(s)`);
      }
      if (to > emu.clock.now()) emu.clock.set(to);
    };

    // The day: EventBridge's minute tick of the checker (one invocation: sweeps every 10 s within 50 s).
    let sweeps = 0;
    let checkerBilledMs = 0;
    for (let tick = dayStart + MIN; ; tick += MIN) {
      await advanceTo(tick);
      if (tick > dayStart + DAY && finished >= plans.length && [...queues.values()].every((q) => q.length === 0)) break;
      if (tick > dayStart + DAY + 6 * 60 * MIN) throw new Error(`P9: ${plans.length - finished} runs not finished 6 h after the day`);
      // Billed: from the tick to the end of its last sweep (the sleeps between sweeps included, as Lambda bills them).
      checkerBilledMs += await invoke('check-status', async () => {
        await checkStatusExclusive(deps, log, async () => {
          sweeps++;
          return checkStatusWindow(deps, log, {
            sleep: async (ms) => {
              const checker = current;
              await advanceTo(emu.clock.now() + ms);
              current = { ...checker, start: emu.clock.now(), calls: 0, storeCalls: 0 };
              sweeps++;
            },
          });
        });
        return emu.clock.now() - tick + elapsed(current);
      });
    }

    // Outcomes and detection lag (backup end = checkpoint creation + its scripted duration).
    const states: Record<string, number> = {};
    const lags: number[] = [];
    for (const p of plans) {
      const run = memory.runs.get(runIdForPlan(p.plan.name, p.trigger.scheduledTime as string));
      const state = run?.state ?? 'MISSING';
      states[state] = (states[state] ?? 0) + 1;
      const cp = run?.checkpoints[0];
      if (run && cp?.status === 'available' && cp.finishedAt !== undefined && cp.createdAt !== undefined) {
        const lag = cp.finishedAt - (cp.createdAt + p.backupMs);
        if (lag < 0) throw new Error(`P9: run ${run.runId} noticed its backup ${-lag} ms before it ended`);
        lags.push(lag);
      }
    }

    // Peak requests per second per project: most stamps within any 1 s window.
    let peakRps = 0;
    let peakProject = '';
    for (const [project, s] of stamps) {
      s.sort((a, b) => a - b);
      for (let i = 0, j = 0; i < s.length; i++) {
        while (s[i]! - s[j]! >= 1000) j++;
        if (i - j + 1 > peakRps) {
          peakRps = i - j + 1;
          peakProject = project;
        }
      }
    }

    return {
      runs: plans.length,
      servers: serverTotal,
      states,
      cbr: { ...emu.state.requestCounts.byOperation },
      cbrStatuses: statuses,
      store: storeCounts,
      sqs,
      lambda,
      sweeps,
      checkerBilledMs,
      maxRecordBytes,
      recordKb,
      peakRps,
      peakProject,
      lagMs: { p50: quantile(lags, 0.5), p95: quantile(lags, 0.95), max: Math.max(...lags) },
      errors,
      virtualHours: (emu.clock.now() - dayStart) / 3600_000,
      wallMs: performance.now() - t0,
    };
  } finally {
    await emu.stop();
  }
}

/**
 * What docs/scale.md's formulas predict for a day of `runs` runs of k servers (sections 2-5, their
 * inputs M1-M4 and D1 as the page states them): the figures P9 is printed against.
 */
export function predicted(runs: number, k: number = SCALE.k) {
  /** D1: looks per checkpoint with CHECK_SCHEDULE=progress (bench P8). */
  const n = 3.4;
  const steps = runs * (3 + 2 * k);
  return {
    n,
    cbrSteps: steps,
    listBackups: runs * n,
    cbr: steps + runs * n,
    /** Section 5: 10 − 1 + n writes per run (M4 with markAnnounced); + 2 per checker invocation (the sweep lease). */
    writes: runs * (10 - 1 + n) + 2 * 1440,
    /** Section 5: 5 strongly consistent reads per run (M4 + notify-run-finished's). */
    reads: runs * 5,
    sqs: runs * 6,
    /** Section 3: steps V·M3, notify-run-finished 2V (the events queue), one checker every minute. */
    lambda: runs * 5 + runs * 2 + 1440,
    /** Section 5: write units on the table, Σ⌈item / 1 KB⌉ per run (P9's record sizes at k servers). */
    writeKbPerRun: 68.5,
    /** Section 3: the checker is billed until its last sweep of the minute's window: at most 50 s + a sweep, 1,440 times a day. */
    checkerBilledS: 1440 * 50,
    /** Section 2: one run sends about 1/L requests per second to its project while it shares. */
    rps: 1000 / SCALE.latencyMs,
  };
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const list = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
    .join(', ');

/** serverless.yml custom.cbrContainerRps (CBR_RATE_LIMIT_RPS): each container's token bucket per project. */
export const CONTAINER_RPS = 10;

export const p9: Benchmark = {
  id: 'P9',
  title: 'a simulated day: plans over 24 virtual hours through the real steps and checker, against docs/scale.md',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    // --full: one tenth of docs/scale.md's day (100 tenants x 34 regions = 3,400 runs, ~100,000 servers);
    // the default is a hundredth (340 runs), --small 34 runs.
    const tenants = ctx.full ? 100 : ctx.small ? 1 : 10;
    const f = await simulateDay({ tenants, regions: 34 });
    ctx.log(`P9: ${JSON.stringify(f)}`);
    const bad = Object.keys(f.states).filter((s) => s !== 'COMPLETED');
    if (bad.length || f.errors > 0) throw new Error(`P9: runs ended ${JSON.stringify(f.states)}, ${f.errors} error log lines`);
    const V = f.runs;
    const k = f.servers / V;
    const p = predicted(V, k);
    const scale = `${V.toLocaleString('en-US')} runs (${tenants} tenants x 34 regions, ${f.servers.toLocaleString('en-US')} servers, 1 share target), ${ctx.full ? 'one tenth' : tenants === 10 ? 'one hundredth (--full: one tenth)' : `1/${34_000 / V}`} of docs/scale.md's day`;
    const writes = ['create', 'save', 'markAnnounced', 'acquireLease', 'resolveLease', 'releaseLease', 'recordNotification'].reduce((a, m) => a + (f.store[m] ?? 0), 0);
    const reads = (f.store['get'] ?? 0) + (f.store['getLease'] ?? 0);
    const listBackups = f.cbr['ListBackups'] ?? 0;
    const label = 'docs/scale.md';
    return [
      {
        id: 'P9.cbr',
        figure: 'P9 CBR calls in the day',
        measured: sum(f.cbr),
        unit: 'calls',
        bound: round(p.cbr, 0),
        boundLabel: `${label}: V·(3 + 2k + n)`,
        note: `${scale}, ${round(f.virtualHours, 1)} virtual hours, ${round(f.wallMs / 1000)} s wall: ${list(f.cbr)} (HTTP statuses ${list(f.cbrStatuses)}); predicted steps V·(3 + 2k) = ${round(p.cbrSteps, 0).toLocaleString('en-US')}, checker V·n = ${round(p.listBackups, 0).toLocaleString('en-US')} (n = ${p.n} looks per checkpoint, D1)`,
      },
      {
        id: 'P9.listbackups',
        figure: 'P9 checker ListBackups per run',
        measured: round(listBackups / V, 2),
        unit: 'calls',
        bound: p.n,
        boundLabel: `${label} D1: n (progress schedule)`,
        note: `backups of 9-11 min (T = 10 min, A5), one vault per run; ${f.sweeps.toLocaleString('en-US')} sweeps in ${(f.lambda['check-status'] ?? 0).toLocaleString('en-US')} checker invocations (the minute tick + 10 s sweeps within 50 s), each reading the due index ${DEFAULT_SETTINGS.dueShards} times: ${(f.store['listDue'] ?? 0).toLocaleString('en-US')} due queries`,
      },
      {
        id: 'P9.store.writes',
        figure: 'P9 store writes in the day',
        measured: writes,
        unit: 'writes',
        bound: round(p.writes, 0),
        boundLabel: `${label}: V·(9 + n) + 2·1,440`,
        note: `by method: ${list(Object.fromEntries(Object.entries(f.store).filter(([m]) => m !== 'get' && m !== 'getLease' && m !== 'listDue' && m !== 'listRecent')))} (acquireLease/releaseLease: the checker's sweep lease every invocation, and create-vault's vault lease)`,
      },
      {
        id: 'P9.store.kb',
        figure: 'P9 run-record write units in the day (table only, Σ⌈item/1 KB⌉)',
        measured: f.recordKb,
        unit: 'WCU',
        bound: round(V * p.writeKbPerRun, 0),
        boundLabel: `${label} §5: ${p.writeKbPerRun}·V`,
        note: `largest record ${f.maxRecordBytes.toLocaleString('en-US')} B at ${round(k, 1)} servers (P7's 2-server run: ~3 KB); ${round(f.recordKb / V, 1)} KB-units per run over ${round(((f.store['create'] ?? 0) + (f.store['save'] ?? 0)) / V, 1)} record writes; each GSI with ProjectionType ALL writes the item again`,
      },
      {
        id: 'P9.checker.billed',
        figure: 'P9 checker billed time in the day',
        measured: round(f.checkerBilledMs / 1000, 0),
        unit: 's',
        bound: p.checkerBilledS,
        boundLabel: `${label} §3: ≤ 1,440 · 50 s`,
        note: `${(f.lambda['check-status'] ?? 0).toLocaleString('en-US')} invocations, ${round(f.checkerBilledMs / 1000 / Math.max(1, f.lambda['check-status'] ?? 0), 1)} s each on average: from the minute's tick to its last 10 s sweep (the sleeps between sweeps are billed), + the modelled sweep time (C = ${DEFAULT_SETTINGS.checkConcurrency} calls of L in flight, 8 ms per store call)`,
      },
      {
        id: 'P9.store.reads',
        figure: 'P9 store reads (strongly consistent GetItem) in the day',
        measured: reads,
        unit: 'reads',
        bound: p.reads,
        boundLabel: `${label}: 5·V`,
        note: `get ${f.store['get'] ?? 0}, getLease ${f.store['getLease'] ?? 0}; plus ${(f.store['listDue'] ?? 0).toLocaleString('en-US')} due-index queries (see the ListBackups row)`,
      },
      {
        id: 'P9.sqs',
        figure: 'P9 SQS messages sent in the day',
        measured: sum(f.sqs),
        unit: 'msgs',
        bound: p.sqs,
        boundLabel: `${label}: V·M2`,
        note: `by queue: ${list(f.sqs)}`,
      },
      {
        id: 'P9.lambda',
        figure: 'P9 Lambda invocations in the day',
        measured: sum(f.lambda),
        unit: 'inv',
        bound: p.lambda,
        boundLabel: `${label}: 7·V + 1,440`,
        note: `by function: ${list(f.lambda)}; batches of up to 10 (plans firing in the same minute share a batch), so the steps' 5·V and notify's 2·V are upper bounds`,
      },
      {
        id: 'P9.rps',
        figure: 'P9 peak CBR requests/s of one project (any 1 s window)',
        measured: f.peakRps,
        unit: 'req/s',
        bound: CONTAINER_RPS,
        boundLabel: `limit: CBR_RATE_LIMIT_RPS (cbrContainerRps); ${label} 1/L = ${round(p.rps, 1)}`,
        goal: { kind: 'ratio', op: '<=', target: 1 },
        note: `on the modelled moments of the calls (L = ${SCALE.latencyMs} ms each, A4; the checker overlaps ${DEFAULT_SETTINGS.checkConcurrency}): a run's share-backup is sequential, and a project has one plan a day, so no two containers call one project at once; the fleet-wide budget of a project is cbrProjectRps = 100 (serverless.yml). Peak project ${f.peakProject}`,
      },
      {
        id: 'P9.lag.p95',
        figure: 'P9 detection lag p95',
        measured: round(f.lagMs.p95 / 1000, 1),
        unit: 's',
        bound: 15,
        boundLabel: `goal of issue 17 (P8); ${label} D1`,
        goal: { kind: 'value', op: '<=', target: 15 },
        note: `backup available in the emulator -> the run's checkpoint finishedAt; p50 ${round(f.lagMs.p50 / 1000, 1)} s, max ${round(f.lagMs.max / 1000, 1)} s`,
      },
    ];
  },
};
