/**
 * Issue 6 §2: crash windows. For every crash point of lib/wiring/deps.ts (after a step's CBR call
 * succeeded and before its state write, and after its state write before its hand-off), one run is
 * killed exactly there (the invocation dies: nothing after the point runs, its batch is never
 * acknowledged, SQS redelivers it after the visibility timeout; a killed sweep is simply the next
 * minute's job). Each crashed run must end exactly like the same run without a crash: same state,
 * one vault, one checkpoint, one backup per resource, one member per (backup, project), one
 * run.finished. All runs go at once, so kills also hit batch-mates of other runs.
 *
 * Two windows no redelivery heals (the checker's expiry: a sweep is not redelivered; the last failed
 * receive: its message is in the DLQ) have their own cases below: the run ends, the invocation dies
 * before run.finished, and the checker announces it (the run stays in the due index until announced).
 * So does the webhook retry after start-run died: the same webhook-id, no Idempotency-Key, same run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { CRASH_POINTS, type CrashPoint } from '../../lib/wiring/deps';
import { checkpointName } from '../../lib/pipeline/common';
import { runIdForKey, runIdForWebhook } from '../../lib/pipeline/start-run';
import type { RunRecord } from '../../lib/store/run';
import { emulatorStateOf, makeServers, PEER2, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

let h: Harness;
const servers = makeServers(40, 'crash');
/** Windows without redelivery: a normal run never reaches them; tested one by one below. */
const UNREDELIVERED: ReadonlyArray<CrashPoint> = ['check-status:expire-after-record', 'record-failure:after-record'];
/**
 * Windows of the two-sided and time-boxed shares (issue 15): they need a receiver with its own
 * credentials and the share sweep after a lifetime, so test/integration/pipeline/two-sided-shares.test.ts
 * kills invocations there (with duplicate delivery) and counts acceptances and revocations in CBR.
 */
const SHARE15: ReadonlyArray<CrashPoint> = ['share-backup:after-accept', 'share-sweep:after-cbr'];
/**
 * Windows of cross-region copies (issue 15): they need a second emulated region, so
 * test/reliability/replication.test.ts kills the checker there (with duplicate delivery) and counts replicas.
 */
const REPL15: ReadonlyArray<CrashPoint> = ['replicate:after-intent', 'replicate:after-cbr'];
const LOOPED = CRASH_POINTS.filter((p) => !UNREDELIVERED.includes(p) && !SHARE15.includes(p) && !REPL15.includes(p));

beforeAll(async () => {
  h = await startHarness({
    emulator: {
      seed: 6002,
      timing: { checkpointMs: [6_000, 10_000] },
      projects: [...DEMO.projects, PEER2],
      credentials: [...DEMO.credentials],
      users: [...DEMO.users],
      resources: [...DEMO.resources, ...servers],
    },
  });
});
afterAll(async () => h?.stop());

/** What a user would compare: the run's end and CBR's objects for it (ids left out). */
async function outcome(run: RunRecord) {
  const snap = h.emulator.state.snapshot();
  const vaults = snap.vaults.filter((v) => v.name === run.request.vault.name);
  const state = emulatorStateOf(h.emulator, new Set(vaults.map((v) => v.id as string)));
  const finished = h.events.filter((e) => e.type === 'run.finished' && e.runId === run.runId);
  return {
    state: run.state,
    vaults: vaults.length,
    checkpoints: state.checkpoints.length,
    backupsPerResource: run.request.resources.map((r) => state.backups.filter((b) => b.resource_id === r.id).length),
    membersPerBackup: state.backups.map((b) => state.members.filter((m) => m.backup_id === b.id).map((m) => m.dest_project_id as string).sort()),
    recordedShares: run.shares.length,
    runFinishedIds: new Set(finished.map((e) => e.id)).size,
    runFinishedState: [...new Set(finished.map((e) => (e.data as { state: string }).state))],
  };
}

describe('a kill at every crash point converges to the uncrashed result', () => {
  it('each crash point, killed once, then redelivered', async () => {
    const started = performance.now();
    let n = 0;
    const bodyFor = (label: string, extra: Parameters<typeof runBody>[2] = {}) => {
      const i = n++;
      return runBody(`crash_${label.replace(/[^a-z0-9]/gi, '_')}`, [servers[2 * i]!.id, servers[2 * i + 1]!.id], { shareWith: [DEMO.peerProjectId, PEER2.id], ...extra });
    };
    // A reuse-mode run of a vault that does not exist fails in create-vault (through endRun).
    const failingExtra = { vault: { mode: 'reuse' as const, name: 'crash_no_such_vault' } };

    // Baselines: the same shapes without a crash.
    const baseline = await h.startRun(bodyFor('baseline'));
    const baselineFailed = await h.startRun({ ...bodyFor('baseline_failed'), ...failingExtra });

    const crashed = new Map<CrashPoint, string>();
    for (const point of LOOPED) {
      if (point === 'start-run:after-record') {
        // The webhook dies after recording the run; the caller retries with its Idempotency-Key.
        const body = bodyFor(point);
        const key = `retry-${point}`;
        h.crashAt(point, { runId: runIdForKey(DEMO.projectId, key) });
        const first = await h.startRun(body, { idempotencyKey: key });
        expect(first.crashed).toBe(true);
        const again = await h.startRun(body, { idempotencyKey: key });
        expect(again).toMatchObject({ crashed: false, statusCode: 202, body: { created: false } });
        crashed.set(point, again.runId!);
        continue;
      }
      const body = point === 'end-run:after-record' ? { ...bodyFor(point), vault: { mode: 'reuse' as const, name: 'crash_no_such_vault_2' } } : bodyFor(point);
      const { runId } = await h.startRun(body);
      h.crashAt(point, { runId: runId! });
      crashed.set(point, runId!);
    }

    const drive = await h.drive();
    expect(drive.done).toBe(true);

    // Every armed crash happened, once.
    expect(h.crashes.map((c) => c.point).sort()).toEqual([...LOOPED].sort());

    const expected = await outcome(await h.run(baseline.runId!));
    expect(expected).toMatchObject({ state: 'COMPLETED', vaults: 1, checkpoints: 1, backupsPerResource: [1, 1], recordedShares: 4, runFinishedIds: 1 });
    const expectedFailed = await outcome(await h.run(baselineFailed.runId!));
    expect(expectedFailed).toMatchObject({ state: 'FAILED', vaults: 0, runFinishedIds: 1, runFinishedState: ['FAILED'] });

    const rows: string[] = [];
    for (const [point, runId] of crashed) {
      const run = await h.run(runId);
      const got = await outcome(run);
      expect(got, point).toEqual(point === 'end-run:after-record' ? expectedFailed : expected);
      rows.push(`${point}=${run.state}`);
    }
    const ops = h.emulator.state.requestCounts.byOperation;
    console.log(
      `[reliability] crash windows: points=${crashed.size} killedInvocations=${h.delivery.killed} ${rows.join(' ')} ` +
        `CreateVault=${ops.CreateVault} CreateCheckpoint=${ops.CreateCheckpoint} virtual=${Math.round(drive.virtualMs / 1000)}s wall=${Math.round(performance.now() - started)}ms`,
    );
  }, 180_000);
});

describe('windows no redelivery heals: run.finished still arrives', () => {
  const body = (label: string, i: number, extra: Parameters<typeof runBody>[2] = {}) =>
    runBody(`crash_${label}`, [servers[34 + 2 * i]!.id, servers[35 + 2 * i]!.id], { shareWith: [DEMO.peerProjectId], ...extra });
  const finishedOf = (runId: string) => h.events.filter((e) => e.type === 'run.finished' && e.runId === runId);

  /** The checker's next sweeps after the announce grace: what re-announces a run whose announcer died. */
  async function sweepsLater(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      h.clock.set(h.clock.now() + 61_000);
      await h.sweep();
      await h.pump();
    }
  }

  it('the checker expires a run and dies before run.finished: the run stays due, and a later sweep announces it', async () => {
    const { runId } = await h.startRun(body('expire', 0, { completionWindowMinutes: 5 }));
    h.emulator.faults.scriptCheckpoint({ match: { name: checkpointName(await h.run(runId!), 1) }, outcome: 'never' });
    h.crashAt('check-status:expire-after-record', { runId: runId! });
    expect((await h.drive({ runIds: [runId!] })).done).toBe(true);
    expect(h.crashes.filter((c) => c.point === 'check-status:expire-after-record' && c.runId === runId)).toHaveLength(1);
    const ended = await h.run(runId!);
    expect(ended.state).toBe('EXPIRED');
    expect(ended).toMatchObject({ announcePending: true, due: expect.any(Object) });
    expect(finishedOf(runId!)).toHaveLength(0); // lost so far: the sweep died between record and publish

    await sweepsLater();
    const finished = finishedOf(runId!);
    expect(new Set(finished.map((e) => e.id)).size).toBe(1);
    expect(finished[0]!.data).toMatchObject({ state: 'EXPIRED', reason: expect.stringContaining('completion window') });
    const announced = await h.run(runId!);
    expect(announced.announcePending).toBeUndefined();
    expect(announced.due).toBeUndefined();
    expect(announced.state).toBe('EXPIRED');
  }, 120_000);

  it('the last failed receive fails the run and dies before run.finished (its message is in the DLQ): a later sweep announces it', async () => {
    h.emulator.faults.add({ id: 'show-vault-down', operations: ['ShowVault'], error: { rate: 1, statuses: [503] } });
    try {
      const { runId } = await h.startRun(body('dlq', 1));
      h.crashAt('record-failure:after-record', { runId: runId! });
      expect((await h.drive({ runIds: [runId!] })).done).toBe(true);
      expect(h.crashes.filter((c) => c.point === 'record-failure:after-record' && c.runId === runId)).toHaveLength(1);
      const ended = await h.run(runId!);
      expect(ended).toMatchObject({ state: 'FAILED', announcePending: true });
      expect(finishedOf(runId!)).toHaveLength(0);
      expect(await h.drainDlq('resources')).toHaveLength(1);

      await sweepsLater();
      const finished = finishedOf(runId!);
      expect(new Set(finished.map((e) => e.id)).size).toBe(1);
      expect(finished[0]!.data).toMatchObject({ state: 'FAILED', reason: expect.stringContaining('dead-letter queue') });
      expect((await h.run(runId!)).announcePending).toBeUndefined();
    } finally {
      h.emulator.faults.remove('show-vault-down');
    }
  }, 120_000);

  it("start-run dies after recording the run; the sender's retry (same webhook-id, no Idempotency-Key) gets the same run, not 401", async () => {
    const request = body('webhook_retry', 2);
    const webhookId = 'msg_crash_retry_1';
    const runId = runIdForWebhook(DEMO.projectId, webhookId);
    h.crashAt('start-run:after-record', { runId });
    expect(await h.startRun(request, { webhookId })).toMatchObject({ crashed: true });
    const retry = await h.startRun(request, { webhookId });
    expect(retry).toMatchObject({ crashed: false, statusCode: 202, runId, body: { created: false } });
    expect((await h.drive({ runIds: [runId] })).done).toBe(true);
    expect((await h.run(runId)).state).toBe('COMPLETED');
    expect(new Set(finishedOf(runId).map((e) => e.id)).size).toBe(1);
  }, 120_000);
});
