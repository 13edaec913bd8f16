// Reliability of restores (issue 18 item 5), on loopback: the CBR emulator over HTTP, dynalite through
// DynamoRunStore, one virtual clock. Whatever is delivered twice, concurrently, or dies half-way, CBR's
// RestoreBackup is called at most once per restore and never onto another target:
//   - the same request delivered 5 times at once (API Gateway/client retries): one record, one call;
//   - the request and the checker's sweep racing on a restore recorded without its intent: one call;
//   - a crash after the intent, before the call: never called (the checker ends it FAILED, outcome unknown);
//   - a crash after RestoreBackup, then the request and two sweeps at once: one call, COMPLETED;
//   - two sweeps at once on a running restore: one op log, the same terminal record.
// (test/integration/restore/restore.test.ts covers the sequential cases and the API faults.)
import { describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { startRestore, type RestoreDeps } from '../../lib/restore/restore';
import { checkRestores } from '../../lib/restore/track';
import { useRestoreHarness } from '../helpers/restore-harness';

const SERVER_A = DEMO.servers[0].id; // ecs-9f93-0002, one 40 GB system disk
const SERVER_B = DEMO.servers[1].id; // ecs-web-01, 40 + 100 GB
const SERVER_C = DEMO.servers[2].id; // ecs-db-01, 50 + 200 GB
const SERVER_D = DEMO.servers[3].id; // ecs-app-01, one 40 GB system disk: the declared drill target

const h = useRestoreHarness({ table: 'restores-rel', vault: 'restore-rel', resources: [SERVER_A, SERVER_B, SERVER_C], drillTargets: [SERVER_D], start: Date.UTC(2026, 11, 5, 12, 0, 0) });
const { log, restoreCalls, restoreLogs, backupOf, trackUntilDone } = h;

describe('restores: never a second RestoreBackup', () => {
  it('the same request delivered 5 times at once: one record, one RestoreBackup, every answer names the same restore', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const answers = await Promise.allSettled(Array.from({ length: 5 }, () => startRestore(h.deps, { request, idempotencyKey: 'dup-5', source: { kind: 'http' } })));
    const ok = answers.filter((a): a is PromiseFulfilledResult<Awaited<ReturnType<typeof startRestore>>> => a.status === 'fulfilled');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((a) => a.value.restore.restoreId)).size).toBe(1);
    expect(ok.filter((a) => a.value.created)).toHaveLength(1);
    expect(restoreCalls() - calls).toBe(1);
    const done = await trackUntilDone(ok[0]!.value.restore.restoreId);
    expect(done.state).toBe('COMPLETED');
    expect(restoreCalls() - calls).toBe(1);
  });

  it('the request and two checker sweeps racing on a restore recorded without intent: one RestoreBackup', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    // The first delivery dies after the record, before reading CBR (no intent).
    await expect(startRestore({ ...h.deps, cbr: async () => { throw new Error('killed before CBR'); } }, { request, idempotencyKey: 'race-1', source: { kind: 'http' } })).rejects.toThrow('killed');
    h.now += 10 * 60_000; // due for the checker
    const [again] = await Promise.all([
      startRestore(h.deps, { request, idempotencyKey: 'race-1', source: { kind: 'http' } }),
      checkRestores(h.deps, log),
      checkRestores(h.deps, log),
    ]);
    expect(restoreCalls() - calls).toBe(1);
    expect((await trackUntilDone(again.restore.restoreId)).state).toBe('COMPLETED');
    expect(restoreCalls() - calls).toBe(1);
  });

  it('a crash after the intent, before the call: RestoreBackup is never called; the request again and the checker end it FAILED (outcome unknown), no restore', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const logsBefore = (await restoreLogs()).length;
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const crashing: RestoreDeps = { ...h.deps, crashPoint: (p) => { if (p === 'restore:after-intent') throw new Error('killed after intent'); } };
    await expect(startRestore(crashing, { request, idempotencyKey: 'intent-1', source: { kind: 'http' } })).rejects.toThrow('killed after intent');
    const again = await startRestore(h.deps, { request, idempotencyKey: 'intent-1', source: { kind: 'http' } });
    expect(again).toMatchObject({ created: false, restore: { state: 'PENDING', intent: expect.any(Object) } });
    const done = await trackUntilDone(again.restore.restoreId);
    expect(done).toMatchObject({ state: 'FAILED', lastError: { code: 'RESTORE_OUTCOME_UNKNOWN' } });
    expect(restoreCalls()).toBe(calls);
    expect((await restoreLogs()).length).toBe(logsBefore);
  });

  it('a crash after RestoreBackup, then the request and two sweeps at once: one call, COMPLETED once', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const logsBefore = (await restoreLogs()).length;
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const crashing: RestoreDeps = { ...h.deps, crashPoint: (p) => { if (p === 'restore:after-cbr') throw new Error('killed after CBR'); } };
    await expect(startRestore(crashing, { request, idempotencyKey: 'after-1', source: { kind: 'http' } })).rejects.toThrow('killed after CBR');
    h.now += 10_000;
    const [again] = await Promise.all([startRestore(h.deps, { request, idempotencyKey: 'after-1', source: { kind: 'http' } }), checkRestores(h.deps, log), checkRestores(h.deps, log)]);
    expect(restoreCalls() - calls).toBe(1);
    h.now += 31_000; // the emulator's restore takes 30 s
    await Promise.all([checkRestores(h.deps, log), checkRestores(h.deps, log)]);
    const done = await trackUntilDone(again.restore.restoreId);
    expect(done.state).toBe('COMPLETED');
    expect(done.timeline.filter((e) => e.event === 'completed')).toHaveLength(1);
    expect(restoreCalls() - calls).toBe(1);
    expect((await restoreLogs()).length - logsBefore).toBe(1);
  });
});
