/**
 * A retention world on real protocols: the CBR emulator over HTTP (manual clock) driven by cbr-flow's
 * own client, a vault of servers, the run records a plan's runs would leave (memory store), and the
 * retention deps the sweep and the preview use. Backups are made like start-checkpoint makes them
 * (a checkpoint named `<checkpoint name>_<run id hex>`), or foreign (CBR's `manualbk_` name).
 */
import { createCbrClient, type CbrClient } from '../../lib/cbr/client';
import { newUuid } from '../../lib/contracts/ids';
import type { RetentionStore } from '../../lib/ports';
import type { RetentionRulesInput } from '../../lib/retention/rules';
import { DEFAULT_RETENTION_SETTINGS, type RetentionDeps, type RetentionSettings } from '../../lib/retention/sweep';
import { MemoryRetentionStore } from '../../lib/store/memory-retention';
import { MemoryRunStore } from '../../lib/store/memory';
import { RunRecord } from '../../lib/store/run';
import { DEMO, startEmulator, type Emulator } from '../../emulator/index';

export const DAY_MS = 86_400_000;

export interface RetentionWorld {
  emu: Emulator;
  client: CbrClient;
  vaultId: string;
  servers: string[];
  runs: MemoryRunStore;
  retention: RetentionStore;
  deps: RetentionDeps;
  /** One run of the plan now: a checkpoint of every server, completed; its run record stored. Returns the run id. */
  backup(opts?: { outcome?: 'available' | 'error' }): Promise<string>;
  /** A backup cbr-flow did not make (CBR names it manualbk_...). */
  foreignBackup(): Promise<void>;
  /** The vault's top-level backups now (id, name, resource, status). */
  list(): Promise<Array<{ id: string; name: string; resource_id: string; status: string; created_at: string }>>;
  advance(ms: number): void;
  stop(): Promise<void>;
}

export async function startRetentionWorld(o: {
  rules: RetentionRulesInput;
  plan?: string;
  servers?: number;
  start?: string;
  settings?: Partial<RetentionSettings>;
  vaultSizeGb?: number;
  /** Another RetentionStore (the DynamoDB adapter on dynalite); default: the memory one. */
  retention?: (clock: { now(): number }) => RetentionStore;
}): Promise<RetentionWorld> {
  const emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: [1_000, 1_000], backupDeleteMs: [1_000, 1_000] } });
  emu.clock.set(Date.parse(o.start ?? '2027-01-04T01:00:00Z'));
  const client = createCbrClient({
    region: DEMO.region,
    projectId: DEMO.projectId,
    endpoint: emu.url,
    auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk },
    now: () => new Date(emu.clock.now()),
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  const servers = DEMO.servers.slice(0, o.servers ?? 2).map((s) => s.id);
  const vaultName = `ret-${newUuid().slice(0, 8)}`;
  const created = await client.createVault({
    vault: {
      name: vaultName,
      billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: o.vaultSizeGb ?? 10_000 },
      resources: servers.map((id) => ({ id, type: 'OS::Nova::Server' })),
    },
  });
  const vaultId = created.vault!.id;
  const clock = { now: () => emu.clock.now() };
  const runs = new MemoryRunStore(clock);
  const retention = o.retention ? o.retention(clock) : new MemoryRetentionStore(clock);
  const deps: RetentionDeps = {
    runs,
    retention,
    cbr: () => client,
    clock,
    log: () => {},
    settings: { ...DEFAULT_RETENTION_SETTINGS, runTtlDays: 3650, ...o.settings },
    newToken: newUuid,
  };
  const prefix = 'daily';

  const world: RetentionWorld = {
    emu,
    client,
    vaultId,
    servers,
    runs,
    retention,
    deps,
    async backup(opts = {}) {
      const runId = newUuid();
      const now = emu.clock.now();
      const name = `${prefix}_${runId.replace(/-/g, '')}`;
      if (opts.outcome === 'error') emu.faults.scriptCheckpoint({ match: { name }, outcome: 'error', reason: 'disk snapshot failed' });
      const cp = await client.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters: { name, incremental: true } } });
      emu.clock.advance(2_000);
      const run = RunRecord.parse({
        runId,
        version: 1,
        state: 'COMPLETED',
        step: 'done',
        request: {
          projectId: DEMO.projectId,
          region: DEMO.region,
          vault: { mode: 'reuse', name: vaultName },
          resources: servers.map((id) => ({ id, type: 'OS::Nova::Server' })),
          checkpoint: { name: prefix, incremental: true },
          retention: o.rules,
        },
        source: o.plan ? { kind: 'schedule', plan: o.plan } : { kind: 'http' },
        createdAt: now,
        updatedAt: now,
        deadlineAt: now + 4 * 3_600_000,
        vault: { id: vaultId, name: vaultName, created: false },
        checkpoints: [{ seq: 1, name, id: cp.checkpoint.id, status: 'available', resourceIds: servers, backups: [] }],
      });
      runs.runs.set(runId, run);
      return runId;
    },
    async foreignBackup() {
      await client.createCheckpoint({ checkpoint: { vault_id: vaultId } });
      emu.clock.advance(2_000);
    },
    async list() {
      const out: Array<{ id: string; name: string; resource_id: string; status: string; created_at: string }> = [];
      for await (const b of client.paginateBackups({ vault_id: vaultId }, { pageSize: 1000 })) {
        if (!b.parent_id) out.push({ id: b.id, name: b.name ?? '', resource_id: b.resource_id ?? '', status: b.status, created_at: b.created_at ?? '' });
      }
      return out;
    },
    advance(ms) {
      emu.clock.advance(ms);
    },
    stop: () => emu.stop(),
  };
  return world;
}
