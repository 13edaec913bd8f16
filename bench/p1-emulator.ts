/**
 * The emulator side of P1/P2: an emulator whose catalogue holds the worlds' servers, seeded through the
 * CBR API (vaults, then one checkpoint per run), either in process (tests) or in its own process
 * (benchmarks, bench/p1-emulator-child.ts) so the measured checker never shares a core with it.
 *
 * Emulator clock: manual, backups take 60-120 s; after seeding it is advanced by 66 s so ~10% of the
 * checkpoints are finished (a sweep exercises both paths: reschedule and hand-off to share-backup).
 * The X-Sdk-Date window is widened so the frozen clock never rejects a signature.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createCbrClient } from '../lib/cbr/client';
import { forEachLimited } from '../lib/pipeline/limit';
import { DEMO, startEmulator } from '../emulator';
import type { Emulator, EmulatorOptions, FaultRuleInput, RequestCounts } from '../emulator';
import { childEnv } from './lib/child';
import { PROJECT, REGION, saveWorld, type SeedRun, type World } from './p1-world';

/** Emulated backup duration and how far the clock is moved after seeding (~10% finished). */
export const CHECKPOINT_MS: [number, number] = [60_000, 120_000];
export const ADVANCE_MS = 66_000;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
/** Deterministic server ids: a UUID per (world, index). */
export const serverId = (world: number, i: number) => `${hex(world, 8)}-${hex(i >>> 16, 4)}-4${hex(i & 0xfff, 3)}-8000-${hex(i, 12)}`;
export const runIdOf = (world: number, i: number) => `${hex(world, 8)}${hex(i, 24)}`;

/** Emulator options holding the servers of the given worlds (`sizes[w]` servers in world w). */
export function emulatorOptions(sizes: number[], extra: EmulatorOptions = {}): EmulatorOptions {
  const resources = sizes.flatMap((n, w) =>
    Array.from({ length: n }, (_, i) => ({ id: serverId(w, i), projectId: PROJECT, type: 'OS::Nova::Server' as const, name: `srv-${w}-${i}`, sizeGb: 40 })),
  );
  return {
    clock: 'manual',
    timing: { checkpointMs: CHECKPOINT_MS },
    limits: { sdkDateSkewMs: 30 * 24 * 3600_000, maxVaultResources: 1000 },
    resources,
    ...extra,
  };
}

/**
 * Creates `vaults` vaults holding `runs` servers between them (round-robin) and one checkpoint per
 * server, through the CBR API (our client, `concurrency` in flight). Call before adding faults.
 */
export async function seedWorld(
  emu: { url: string; createdAt: number },
  o: { world: number; runs: number; vaults: number; concurrency?: number; /** Vault of run i (default i mod vaults). */ vaultOf?: (i: number) => number },
): Promise<World> {
  const client = createCbrClient({ region: REGION, projectId: PROJECT, endpoint: emu.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk } });
  const createdAt = emu.createdAt;
  const members = Array.from({ length: o.vaults }, () => [] as number[]);
  const vaultOf = o.vaultOf ?? ((i: number) => i % o.vaults);
  for (let i = 0; i < o.runs; i++) members[vaultOf(i)]!.push(i);
  const vaultIds: string[] = new Array<string>(o.vaults);
  const c = o.concurrency ?? 16;
  await forEachLimited(
    members.map((m, v) => ({ m, v })),
    c,
    async ({ m, v }) => {
      const r = await client.createVault({
        vault: {
          name: `bench_${o.world}_${v}`,
          billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100_000, charging_mode: 'post_paid' },
          resources: m.map((i) => ({ id: serverId(o.world, i), type: 'OS::Nova::Server' })),
        },
      });
      vaultIds[v] = r.vault!.id;
    },
  );
  const runs: SeedRun[] = new Array<SeedRun>(o.runs);
  await forEachLimited(
    Array.from({ length: o.runs }, (_, i) => i),
    c,
    async (i) => {
      const v = vaultOf(i);
      const runId = runIdOf(o.world, i);
      const checkpointName = `cbrflow_${runId}`;
      const r = await client.createCheckpoint({ checkpoint: { vault_id: vaultIds[v]!, parameters: { resources: [serverId(o.world, i)], name: checkpointName, incremental: true } } });
      runs[i] = { runId, vaultId: vaultIds[v]!, vaultName: `bench_${o.world}_${v}`, checkpointId: r.checkpoint.id, checkpointName, resourceId: serverId(o.world, i) };
    },
  );
  return { projectId: PROJECT, region: REGION, createdAt, vaults: o.vaults, runs };
}

/** In-process emulator holding the servers of `sizes` worlds (tests). */
export async function startWorldEmulator(sizes: number[], extra: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator(emulatorOptions(sizes, extra));
}

/** The emulator in its own process (bench/p1-emulator-child.ts), driven over IPC. */
export class EmulatorProcess {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly startTime: number,
  ) {}

  static async start(root: string, sizes: number[]): Promise<EmulatorProcess> {
    const child = fork(join(root, 'bench/p1-emulator-child.ts'), [], { execArgv: ['--import', 'tsx'], env: childEnv(), cwd: root, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const startTime = Date.now();
    const boot = new EmulatorProcess(child, '', startTime);
    child.on('message', (m) => boot.onMessage(m as { id: number; ok: boolean; value?: unknown; error?: string }));
    child.on('exit', (code) => {
      for (const p of boot.pending.values()) p.reject(new Error(`emulator process exited (${code})`));
      boot.pending.clear();
    });
    const { url } = (await boot.call('start', { sizes, startTime })) as { url: string };
    const emu = new EmulatorProcess(child, url, startTime);
    child.removeAllListeners('message');
    child.on('message', (m) => emu.onMessage(m as { id: number; ok: boolean; value?: unknown; error?: string }));
    // Never keep the bench process alive: the child exits on its own when the IPC channel closes.
    emu.idle();
    return emu;
  }

  private onMessage(m: { id: number; ok: boolean; value?: unknown; error?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.idle();
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`emulator: ${m.error}`));
  }

  private idle(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  call(cmd: string, arg?: unknown): Promise<unknown> {
    const id = ++this.seq;
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, arg });
    });
  }

  counts(): Promise<RequestCounts> {
    return this.call('counts') as Promise<RequestCounts>;
  }
  async resetCounts(): Promise<void> {
    await this.call('resetCounts');
  }
  async addFault(rule: FaultRuleInput): Promise<void> {
    await this.call('addFault', rule);
  }
  async clearFaults(): Promise<void> {
    await this.call('clearFaults');
  }
  async advance(ms: number): Promise<void> {
    await this.call('advance', ms);
  }
  /** Start (true) or stop recording request arrival times; `arrivals()` returns and stops. */
  async record(on: boolean): Promise<void> {
    await this.call('record', on);
  }
  arrivals(): Promise<Array<{ at: number; operation: string; status: number }>> {
    return this.call('arrivals') as Promise<Array<{ at: number; operation: string; status: number }>>;
  }
  /** CPU time (ms) the emulator process has used so far. */
  cpuMs(): Promise<number> {
    return this.call('cpu') as Promise<number>;
  }
  stop(): void {
    this.child.disconnect();
  }
}

export interface BenchWorlds {
  emu: EmulatorProcess;
  /** N runs, one per vault (the worst spread: every run needs its own ListBackups). */
  spread: World;
  spreadFile: string;
  /** N runs over N/100 vaults (100 runs per vault). */
  packed: World;
  packedFile: string;
}

const worlds = new Map<boolean, Promise<BenchWorlds>>();

/**
 * P1 and P2 share one seeded emulator process per size (seeding 30 000 CBR objects through the API
 * is the slow part of both). Created on first use; it dies with the bench process.
 */
export function benchWorlds(o: { root: string; outDir: string; small: boolean; log(m: string): void }): Promise<BenchWorlds> {
  let w = worlds.get(o.small);
  if (!w) {
    w = (async () => {
      const n = o.small ? 200 : 10_000;
      const packedVaults = n / 100;
      const t0 = performance.now();
      const emu = await EmulatorProcess.start(o.root, [n, n]);
      const target = { url: emu.url, createdAt: emu.startTime };
      const spread = await seedWorld(target, { world: 0, runs: n, vaults: n });
      const packed = await seedWorld(target, { world: 1, runs: n, vaults: packedVaults });
      await emu.advance(ADVANCE_MS);
      const spreadFile = join(o.outDir, `p1-world-spread-${n}.json`);
      const packedFile = join(o.outDir, `p1-world-packed-${n}.json`);
      saveWorld(spreadFile, spread);
      saveWorld(packedFile, packed);
      o.log(`P1/P2: seeded ${n} runs / ${n} vaults and ${n} runs / ${packedVaults} vaults in the emulator in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return { emu, spread, spreadFile, packed, packedFile };
    })();
    w.catch(() => worlds.delete(o.small));
    worlds.set(o.small, w);
  }
  return w;
}
