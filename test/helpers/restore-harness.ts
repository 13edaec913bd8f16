/**
 * The restore tests' world on loopback: the CBR emulator over HTTP (8 s checkpoints, 30 s restores) and
 * dynalite through DynamoRunStore, one virtual clock (`harness.now`, mutable) driving the use-case, the
 * store and the emulator; cbr-flow's own CBR client; a vault holding the given servers. Registers
 * beforeAll/afterAll (start, stop) and beforeEach (clears the emulator's faults, builds fresh `deps`).
 * Fields set by the hooks (emu, store, client, vaultId, deps) are read through the returned object.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../emulator/index';
import { createCbrClient, type CbrClient } from '../../lib/cbr/client';
import { DEFAULT_RESTORE_SETTINGS, type RestoreDeps } from '../../lib/restore/restore';
import { checkRestores } from '../../lib/restore/track';
import { DynamoRunStore } from '../../lib/store/dynamodb/store';
import { createRunsTable } from '../../lib/store/dynamodb/table';
import { cbrFactory } from '../../lib/wiring/cbr-factory';
import { DEFAULT_SETTINGS } from '../../lib/wiring/deps';
import { startLocalDynamo, type LocalServer } from '../../local/servers';

export interface RestoreHarness<D extends RestoreDeps = RestoreDeps> {
  /** The virtual clock's time (ms); tests move it directly or through advance(). */
  now: number;
  readonly clock: { now(): number };
  emu: Emulator;
  store: DynamoRunStore;
  client: CbrClient;
  vaultId: string;
  /** Rebuilt before each test. */
  deps: D;
  readonly logs: Array<[string, string]>;
  readonly log: (level: string, msg: string) => void;
  advance(ms: number): void;
  /** RestoreBackup calls the emulator has answered so far. */
  restoreCalls(): number;
  /** CBR's restore operation logs. */
  restoreLogs(): Promise<Awaited<ReturnType<CbrClient['listOpLogs']>>['operation_logs']>;
  /** A checkpoint of the server, 8 s later its backup. */
  backupOf(serverId: string): Promise<Awaited<ReturnType<CbrClient['listBackups']>>['backups'][number]>;
  /** Sweeps (one ListOpLogs per due restore) until the restore is finished, moving the clock to its next look. */
  trackUntilDone(restoreId: string, maxSweeps?: number): Promise<NonNullable<Awaited<ReturnType<DynamoRunStore['getRestore']>>>>;
}

type BaseDeps = Omit<RestoreDeps, 'cbr'> & { cbr: ReturnType<typeof cbrFactory> };

export function useRestoreHarness<D extends RestoreDeps = RestoreDeps>(o: {
  /** The runs table's name. */
  table: string;
  vault: string;
  /** Servers the vault protects. */
  resources: string[];
  drillTargets: string[];
  start: number;
  /** Default: records into harness.logs. */
  log?: (level: string, msg: string) => void;
  /** Options for the deps' CBR factory (e.g. a no-wait sleep). */
  cbrOptions?: { sleep?: (ms: number) => Promise<void> };
  /** Extends the restore deps (called before each test); base.cbr is the whole CBR factory (also a drill's backups). */
  deps?: (base: BaseDeps) => D;
}): RestoreHarness<D> {
  let dynamo: LocalServer | undefined;
  let ddb: DynamoDBClient | undefined;
  const logs: Array<[string, string]> = [];
  const log = o.log ?? ((level: string, msg: string) => void logs.push([level, msg]));
  const h = {
    now: o.start,
    clock: { now: () => h.now },
    logs,
    log,
    advance: (ms: number) => void (h.now += ms),
    restoreCalls: () => h.emu.state.requestCounts.byOperation.RestoreBackup ?? 0,
    restoreLogs: async () => (await h.client.listOpLogs({ operation_type: 'restore' })).operation_logs,
    async backupOf(serverId: string) {
      const cp = (await h.client.createCheckpoint({ checkpoint: { vault_id: h.vaultId, parameters: { resources: [serverId] } } })).checkpoint;
      h.advance(8_000);
      return (await h.client.listBackups({ checkpoint_id: cp.id })).backups[0]!;
    },
    async trackUntilDone(restoreId: string, maxSweeps = 20) {
      for (let i = 0; i < maxSweeps; i++) {
        const r = (await h.store.getRestore(restoreId))!;
        if (['COMPLETED', 'FAILED', 'EXPIRED'].includes(r.state)) return r;
        h.now = Math.max(h.now, r.due!.at);
        await checkRestores(h.deps, log);
      }
      return (await h.store.getRestore(restoreId))!;
    },
  } as RestoreHarness<D>;

  beforeAll(async () => {
    [h.emu, dynamo] = await Promise.all([startEmulator({ clock: h.clock, timing: { checkpointMs: 8_000, restoreMs: 30_000 } }), startLocalDynamo()]);
    ddb = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await createRunsTable(ddb, o.table);
    h.store = new DynamoRunStore(ddb, o.table, h.clock);
    h.client = createCbrClient({ region: DEMO.region, projectId: DEMO.projectId, endpoint: h.emu.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, now: () => new Date(h.now) });
    const billing = { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 5000 } as const;
    h.vaultId = (await h.client.createVault({ vault: { name: o.vault, billing, resources: o.resources.map((id) => ({ id, type: 'OS::Nova::Server' })) } })).vault!.id;
  });
  afterAll(async () => {
    ddb?.destroy();
    await Promise.all([h.emu?.stop(), dynamo?.stop()]);
  });
  beforeEach(() => {
    h.emu.faults.clear();
    const base: BaseDeps = {
      store: h.store,
      cbr: cbrFactory({ CBR_ENDPOINT: h.emu.url, IAM_ENDPOINT: h.emu.url, CBR_TIMEOUT_MS: 5_000 }, async () => ({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }), { now: () => new Date(h.now), ...o.cbrOptions }),
      clock: h.clock,
      newToken: () => Math.random().toString(36).slice(2),
      settings: { ...DEFAULT_SETTINGS, firstCheckDelayMs: 10_000 },
      restore: { ...DEFAULT_RESTORE_SETTINGS, drillTargets: new Set(o.drillTargets), graceMs: 120_000 },
      log,
    };
    h.deps = o.deps ? o.deps(base) : (base as D);
  });
  return h;
}
