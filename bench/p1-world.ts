/**
 * The world P1 and P2 measure, checker side: N runs waiting in the checker's due index, each with a
 * real checkpoint in the emulator (bench/p1-emulator.ts seeds them: one server per run, runs spread
 * over V vaults), and the checker wired exactly as functions/check-status is
 * (lib/wiring/cbr-factory.ts: one CBR client per project, the token bucket from
 * CBR_RATE_LIMIT_RPS / _BURST), except for the run store: the in-memory adapter (lib/store/memory.ts),
 * so the figures are the checker's own, not DynamoDB's. Imports no emulator code (it is bundled into
 * the measured process).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { CallEvent } from '../lib/cbr/http';
import { RunRequest } from '../lib/contracts/run-request';
import { checkStatus, type SweepResult } from '../lib/pipeline/check-status';
import { cbrFactory } from '../lib/wiring/cbr-factory';
import { DEFAULT_SETTINGS, type PipelineDeps, type PipelineSettings } from '../lib/wiring/deps';
import type { Message } from '../lib/contracts';
import { systemClock, type MessageBus, type QueueName, type RunPage, type RunQuery, type RunStore, type SaveResult } from '../lib/ports';
import { MemoryRunStore } from '../lib/store/memory';
import { dueShardOf, RunRecord, type VaultLease } from '../lib/store/run';
import { DEMO } from '../emulator/demo';

export const REGION = DEMO.region;
export const PROJECT = DEMO.projectId;

export interface SeedRun {
  runId: string;
  vaultId: string;
  vaultName: string;
  checkpointId: string;
  checkpointName: string;
  resourceId: string;
}

export interface World {
  projectId: string;
  region: string;
  /** Emulator time the checkpoints were created at (ms). */
  createdAt: number;
  vaults: number;
  runs: SeedRun[];
}

export function saveWorld(file: string, world: World): void {
  writeFileSync(file, JSON.stringify(world));
}
export function loadWorld(file: string): World {
  return JSON.parse(readFileSync(file, 'utf8')) as World;
}

/** The run record start-checkpoint would have left: step check-status, one protecting checkpoint, due now. */
export function runRecordOf(world: World, r: SeedRun, now: number, settings: PipelineSettings): RunRecord {
  const request = RunRequest.parse({
    projectId: world.projectId,
    region: world.region,
    vault: { mode: 'create', name: r.vaultName, billing: { chargingMode: 'post_paid', size: 100_000 } },
    resources: [{ id: r.resourceId, type: 'OS::Nova::Server' }],
  });
  return RunRecord.parse({
    runId: r.runId,
    version: 3,
    state: 'RUNNING',
    step: 'check-status',
    request: { ...request, region: world.region },
    source: { kind: 'invoke' },
    createdAt: world.createdAt,
    updatedAt: world.createdAt,
    deadlineAt: now + 4 * 3600_000,
    progressAt: world.createdAt,
    due: { shard: dueShardOf(r.runId, settings.dueShards), at: now - 1_000 },
    vault: { id: r.vaultId, name: r.vaultName, created: true },
    boundResourceIds: [r.resourceId],
    checkpoints: [{ seq: 1, name: r.checkpointName, id: r.checkpointId, status: 'protecting', resourceIds: [r.resourceId], createdAt: world.createdAt }],
    // The timeline the earlier steps leave (same events and details as lib/pipeline writes), so records
    // have their real size (~1.8 KB of JSON).
    timeline: [
      { at: world.createdAt - 4_000, step: 'create-vault', event: 'requested', detail: 'via invoke' },
      { at: world.createdAt - 3_000, step: 'create-vault', event: 'vault-created', detail: r.vaultId },
      { at: world.createdAt - 2_000, step: 'add-resources', event: 'resources-bound', detail: 'added 1 of 1' },
      { at: world.createdAt - 1_000, step: 'start-checkpoint', event: 'intent', detail: `${r.checkpointName} (1 resources)` },
      { at: world.createdAt, step: 'start-checkpoint', event: 'checkpoint-started', detail: r.checkpointId },
    ],
  });
}

export async function storeOf(world: World, settings: PipelineSettings, runs: SeedRun[] = world.runs): Promise<MemoryRunStore> {
  const store = new MemoryRunStore(systemClock);
  const now = systemClock.now();
  for (const r of runs) await store.create(runRecordOf(world, r, now, settings));
  return store;
}

export interface CheckerOptions {
  url: string;
  concurrency: number;
  /** CBR_RATE_LIMIT_RPS (0 = none) and CBR_RATE_LIMIT_BURST. */
  rps: number;
  burst: number;
  onCall?: (e: CallEvent) => void;
}

/**
 * Stands in for SQS: serialises each message (as the SDK would) and counts it per queue, keeping
 * nothing (a MemoryBus would hold every message in the measured process).
 */
export class CountingBus implements MessageBus {
  readonly sent: Partial<Record<QueueName, number>> = {};
  bytes = 0;
  async send(queue: QueueName, message: Message): Promise<void> {
    this.bytes += JSON.stringify(message).length;
    this.sent[queue] = (this.sent[queue] ?? 0) + 1;
  }
}

/** The checker's deps as functions/check-status builds them (lib/wiring/cbr-factory.ts), on the given store. */
export function checkerDeps(store: RunStore, o: CheckerOptions, bus: MessageBus = new CountingBus()): PipelineDeps {
  const settings: PipelineSettings = { ...DEFAULT_SETTINGS, defaultRegion: REGION, checkConcurrency: o.concurrency };
  let token = 0;
  return {
    store,
    bus,
    clock: systemClock,
    cbr: cbrFactory(
      { CBR_ENDPOINT: o.url, IAM_ENDPOINT: o.url, CBR_TIMEOUT_MS: 10_000, CBR_RATE_LIMIT_RPS: o.rps, CBR_RATE_LIMIT_BURST: o.burst },
      async () => ({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }),
      o.onCall ? { onCall: o.onCall } : {},
    ),
    settings,
    newToken: () => `bench-${++token}`,
  };
}

export interface SweepFigures {
  result: SweepResult;
  wallMs: number;
  /** CPU time of this process during the sweep (user + system). */
  cpuMs: number;
  /** HTTP attempts the client made (onCall), by status. */
  attempts: number;
  statuses: Record<string, number>;
  /** Per HTTP attempt as the client saw it (send to last byte), ms. */
  latencyMs: { mean: number; p50: number; p99: number };
}

/** Counts the client's HTTP attempts (and their durations) while a checker runs. */
export function callRecorder(next?: (e: CallEvent) => void) {
  const calls = { attempts: 0, statuses: {} as Record<string, number>, durations: [] as number[] };
  const onCall = (e: CallEvent): void => {
    calls.attempts++;
    calls.durations.push(e.durationMs);
    const k = String(e.status ?? e.errorCode ?? 'none');
    calls.statuses[k] = (calls.statuses[k] ?? 0) + 1;
    next?.(e);
  };
  return { calls, onCall };
}

/** One timed checkStatus() sweep with the given deps (whose client reports to `rec`). */
export async function runSweep(deps: PipelineDeps, rec: ReturnType<typeof callRecorder>): Promise<SweepFigures> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await checkStatus(deps);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const d = [...rec.calls.durations].sort((a, b) => a - b);
  const latencyMs = { mean: d.reduce((a, b) => a + b, 0) / Math.max(1, d.length), p50: d[Math.floor(d.length / 2)] ?? Number.NaN, p99: d[Math.min(d.length - 1, Math.ceil(d.length * 0.99) - 1)] ?? Number.NaN };
  return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, attempts: rec.calls.attempts, statuses: rec.calls.statuses, latencyMs };
}

/** One sweep, in process, over a fresh in-memory store holding `runs` (default: the whole world), all due now. */
export async function timedSweep(world: World, o: CheckerOptions, runs?: SeedRun[], bus?: MessageBus): Promise<SweepFigures> {
  const rec = callRecorder(o.onCall);
  const store = await storeOf(world, { ...DEFAULT_SETTINGS }, runs);
  return runSweep(checkerDeps(store, { ...o, onCall: rec.onCall }, bus), rec);
}

// ---------------------------------------------------------------------------------------------------
// The run store out of process (P1): in production the store is DynamoDB, not the checker's heap. The
// measured checker talks to lib/store/memory.ts living in the parent bench process over the IPC
// channel, every record JSON-serialised both ways (as DynamoDB items are marshalled).

type StoreMethod = 'create' | 'get' | 'save' | 'listDue' | 'markAnnounced' | 'listRecent' | 'listRuns' | 'linkRetry' | 'getLease' | 'acquireLease' | 'resolveLease' | 'releaseLease' | 'putShareWatch' | 'deleteShareWatch' | 'listShareWatches' | 'recordShares';
interface StoreRequest {
  kind: 'store';
  id: number;
  method: StoreMethod;
  args: unknown[];
}
interface StoreReply {
  kind: 'store-reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** RunStore whose every call is a request to the parent process (bench only). */
export class IpcRunStore implements RunStore {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    process.on('message', (m: unknown) => {
      const r = m as StoreReply;
      if (r?.kind !== 'store-reply') return;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value === null ? undefined : r.value); // JSON IPC turns undefined into null
      else p.reject(new Error(r.error));
    });
  }

  private call<T>(method: StoreMethod, ...args: unknown[]): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      process.send!({ kind: 'store', id, method, args } satisfies StoreRequest);
    });
  }

  create(run: RunRecord) {
    return this.call<'created' | 'exists'>('create', run);
  }
  get(runId: string) {
    return this.call<RunRecord | undefined>('get', runId);
  }
  /** Like DynamoDB's PutItem (no ReturnValues), the answer carries only the outcome; the saved run is the one sent. */
  async save(run: RunRecord): Promise<SaveResult> {
    const r = await this.call<{ ok: true } | { ok: false; reason: 'stale' | 'terminal' | 'missing' }>('save', run);
    return r.ok ? { ok: true, run } : r;
  }
  listDue(shard: number, now: number, limit: number, cursor?: string) {
    return this.call<{ runs: RunRecord[]; cursor?: string }>('listDue', shard, now, limit, cursor);
  }
  markAnnounced(runId: string) {
    return this.call<void>('markAnnounced', runId);
  }
  listRecent(limit: number) {
    return this.call<RunRecord[]>('listRecent', limit);
  }
  listRuns(query: RunQuery) {
    return this.call<RunPage>('listRuns', query);
  }
  linkRetry(runId: string, retryRunId: string) {
    return this.call<Awaited<ReturnType<RunStore['linkRetry']>>>('linkRetry', runId, retryRunId);
  }
  getLease(key: string) {
    return this.call<VaultLease | undefined>('getLease', key);
  }
  acquireLease(key: string, holder: string, now: number, leaseMs: number) {
    return this.call<{ acquired: boolean; lease: VaultLease }>('acquireLease', key, holder, now, leaseMs);
  }
  resolveLease(key: string, holder: string, vaultId: string, now: number) {
    return this.call<void>('resolveLease', key, holder, vaultId, now);
  }
  releaseLease(key: string, holder: string, now: number) {
    return this.call<void>('releaseLease', key, holder, now);
  }
  putShareWatch(runId: string, at: number) {
    return this.call<void>('putShareWatch', runId, at);
  }
  deleteShareWatch(runId: string) {
    return this.call<void>('deleteShareWatch', runId);
  }
  listShareWatches(now: number, limit: number) {
    return this.call<Array<{ runId: string; at: number }>>('listShareWatches', now, limit);
  }
  recordShares(...args: Parameters<RunStore['recordShares']>) {
    return this.call<Awaited<ReturnType<RunStore['recordShares']>>>('recordShares', ...args);
  }
}

/**
 * DynamoDB returns at most 1 MB per Query page; a due-index page of ~1.8 KB records holds ~580 of them.
 * The memory store has no such cap, so the served listDue pages are capped at this many records.
 */
export const DUE_PAGE_ITEMS = 500;

/** Parent side: answers an IpcRunStore's requests from `store()` (which may change between sweeps). */
export function serveRunStore(child: { on(e: 'message', f: (m: unknown) => void): unknown; send(m: unknown): boolean }, store: () => RunStore): void {
  child.on('message', (m) => {
    const req = m as StoreRequest;
    if (req?.kind !== 'store') return;
    const target = store() as unknown as Record<StoreMethod, (...a: unknown[]) => Promise<unknown>>;
    const args = req.method === 'listDue' ? [req.args[0], req.args[1], Math.min(Number(req.args[2]), DUE_PAGE_ITEMS), req.args[3]] : req.args;
    target[req.method](...args).then(
      (result) => {
        const value = req.method === 'save' ? { ok: (result as SaveResult).ok, ...((result as SaveResult).ok ? {} : { reason: (result as { reason: string }).reason }) } : result;
        child.send({ kind: 'store-reply', id: req.id, ok: true, value: value ?? null } satisfies StoreReply);
      },
      (e: unknown) => child.send({ kind: 'store-reply', id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies StoreReply),
    );
  });
}
