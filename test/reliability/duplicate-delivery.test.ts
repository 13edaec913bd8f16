/**
 * Issue 6 §1: at-least-once delivery. 50 concurrent runs (15 of them sharing 5 vault names), every
 * queue message delivered 2 or 3 times — concurrently in one batch, in a parallel invocation, or
 * re-sent to arrive after later steps ran — and batches shuffled. CBR (the emulator) must end with
 * exactly one vault per name, one checkpoint per run, one member per (backup, project), and every run
 * COMPLETED with one run.finished (one stable id) each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { checkpointName } from '../../lib/pipeline/common';
import { emulatorStateOf, makeServers, PEER2, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const RUNS = 50;
const servers = makeServers(RUNS * 2, 'dup');
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    emulator: {
      seed: 6001,
      projects: [...DEMO.projects, PEER2],
      credentials: [...DEMO.credentials],
      users: [...DEMO.users],
      resources: [...DEMO.resources, ...servers],
    },
  });
});
afterAll(async () => h?.stop());

const vaultNameOf = (i: number) => `dup_v${i < 35 ? i : 35 + (i % 5)}`;

describe('duplicate and out-of-order delivery', () => {
  it('50 concurrent runs, every message delivered 2-3 times: one vault per name, one checkpoint per run, one member per (backup, project)', async () => {
    const started = performance.now();
    const bodies = Array.from({ length: RUNS }, (_, i) =>
      runBody(vaultNameOf(i), [servers[2 * i]!.id, servers[2 * i + 1]!.id], { shareWith: i % 2 ? [DEMO.peerProjectId, PEER2.id] : [DEMO.peerProjectId] }),
    );
    const accepted = await Promise.all(bodies.map((b) => h.startRun(b)));
    expect(accepted.map((a) => a.statusCode)).toEqual(Array(RUNS).fill(202));
    const runIds = accepted.map((a) => a.runId!);

    h.duplicates = { seed: 42, minCopies: 2, maxCopies: 3 };
    const drive = await h.drive({ runIds });
    expect(drive.done).toBe(true);

    const runs = await Promise.all(runIds.map((id) => h.run(id)));
    // A run that did not complete is named with its last error, so a failure here says why.
    expect(runs.map((r) => r.state), JSON.stringify(runs.filter((r) => r.state !== 'COMPLETED').map((r) => ({ runId: r.runId, state: r.state, step: r.step, lastError: r.lastError })))).toEqual(Array(RUNS).fill('COMPLETED'));

    // CBR's own state.
    const vaultIds = new Set(runs.map((r) => r.vault!.id));
    const emu = emulatorStateOf(h.emulator, vaultIds);
    const names = new Set(bodies.map((b) => b.vault.name));
    expect(vaultIds.size).toBe(names.size);
    expect(emu.vaults.map((v) => v.name).sort()).toEqual([...names].sort()); // exactly one vault per name
    expect(emu.checkpoints).toHaveLength(RUNS); // one checkpoint per run
    for (const run of runs) {
      const mine = emu.checkpoints.filter((c) => c.id === run.checkpoints[0]!.id);
      expect(mine, run.runId).toHaveLength(1);
      const backups = emu.backups.filter((b) => b.checkpoint_id === run.checkpoints[0]!.id);
      expect(backups.map((b) => b.name)).toEqual([checkpointName(run, 1), checkpointName(run, 1)]);
      expect(backups.map((b) => b.resource_id).sort()).toEqual(run.request.resources.map((r) => r.id).sort());
      for (const b of backups) {
        const members = emu.members.filter((m) => m.backup_id === b.id).map((m) => m.dest_project_id);
        expect(members.sort(), `members of ${String(b.id)}`).toEqual([...run.request.shareWith].sort()); // one per (backup, project)
      }
      // Each of the run's resources bound once, to its own vault.
      const vault = emu.vaults.find((v) => v.id === run.vault!.id)!;
      const bound = (vault.resources as Array<{ id: string }>).map((r) => r.id);
      for (const r of run.request.resources) expect(bound.filter((id) => id === r.id)).toHaveLength(1);
    }
    const members = emu.members.length;
    expect(members).toBe(runs.reduce((n, r) => n + 2 * r.request.shareWith.length, 0));

    // One run.finished per run (copies carry the same id), COMPLETED.
    const finished = h.events.filter((e) => e.type === 'run.finished');
    const byRun = new Map<string, Set<string>>();
    for (const e of finished) byRun.set(e.runId, (byRun.get(e.runId) ?? new Set()).add(e.id));
    expect(byRun.size).toBe(RUNS);
    for (const ids of byRun.values()) expect(ids.size).toBe(1);
    for (const e of finished) expect(e.data).toMatchObject({ state: 'COMPLETED' });

    const ops = h.emulator.state.requestCounts.byOperation;
    expect(ops.CreateVault).toBe(names.size);
    expect(ops.CreateCheckpoint).toBe(RUNS);
    for (const q of ['vault', 'resources', 'checkpoint', 'share'] as const) expect((await h.depth(q, true)).visible, `${q} DLQ`).toBe(0);

    const d = h.delivery;
    console.log(
      `[reliability] duplicates: runs=${RUNS} vaultNames=${names.size} messages=${d.received} deliveries=${d.records + d.lateCopies} ` +
        `extraCopies=${d.extraCopies} (late ${d.lateCopies}) run.finished copies=${finished.length} ` +
        `vaults=${emu.vaults.length} checkpoints=${emu.checkpoints.length} members=${members} ` +
        `CreateVault=${ops.CreateVault} CreateCheckpoint=${ops.CreateCheckpoint} AddMember=${ops.AddMember} cbrCalls=${h.emulator.state.requestCounts.total} ` +
        `virtual=${Math.round(drive.virtualMs / 1000)}s wall=${Math.round(performance.now() - started)}ms`,
    );
  }, 180_000);
});
