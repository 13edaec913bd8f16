// Restores end to end on loopback (issue 18 items 1, 2, 5): the lib/restore use-case and the checker over
// real protocols: the CBR emulator over HTTP (signed by lib/cbr's client), dynalite through DynamoRunStore.
// One virtual clock drives the use-case, the store and the emulator. Covers: the record and its timeline
// (PENDING -> RUNNING -> COMPLETED from CBR's restore op log), the safety rule (undeclared target without
// `confirm` refused, nothing recorded, nothing called), CBR's refusals mapped (2002) and mismatching disks
// refused before any call, and the reliability cases: a duplicate request, a crash after RestoreBackup, a
// lost answer (effect taken) and a refused-before-effect fault: never a second RestoreBackup.
import { describe, expect, it } from 'vitest';
import { DEMO } from '../../../emulator/index';
import { ValidationError } from '../../../lib/errors';
import { RestoreRefusedError } from '../../../lib/restore/errors';
import { startRestore, type RestoreDeps } from '../../../lib/restore/restore';
import { checkRestores } from '../../../lib/restore/track';
import { checkStatus } from '../../../lib/pipeline/check-status';
import { cbrFactory } from '../../../lib/wiring/cbr-factory';
import { DEFAULT_SETTINGS } from '../../../lib/wiring/deps';
import { restoresHandler } from '../../../lib/restore/edge';
import { makeContext, makeHttpEvent } from '../../helpers/factories';
import { useRestoreHarness } from '../../helpers/restore-harness';

const SERVER_A = DEMO.servers[0].id; // ecs-9f93-0002, one 40 GB system disk
const SERVER_B = DEMO.servers[1].id; // ecs-web-01, 40 + 100 GB
const SERVER_C = DEMO.servers[2].id; // ecs-db-01, 50 + 200 GB
const SERVER_D = DEMO.servers[3].id; // ecs-app-01, one 40 GB system disk: the declared drill target

const h = useRestoreHarness({ table: 'restores-it', vault: 'restore-it', resources: [SERVER_A, SERVER_B, SERVER_C], drillTargets: [SERVER_D], start: Date.UTC(2026, 11, 5, 12, 0, 0) });
const { clock, log, advance, restoreCalls, restoreLogs, backupOf, trackUntilDone } = h;

describe('restore a backup onto a server', () => {
  it('onto a declared drill target: RestoreBackup once with the derived mapping, then RUNNING -> COMPLETED from the op log', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const { restore, created } = await startRestore(h.deps, { request: { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D, powerOn: true }, source: { kind: 'http' } });
    expect(created).toBe(true);
    expect(restoreCalls() - calls).toBe(1);
    expect(restore).toMatchObject({ state: 'PENDING', safety: 'drill-target', targetServerId: SERVER_D, powerOn: true, backupId: backup.id });
    expect(restore.acceptedAt).toBe(h.now);
    expect(restore.mappings).toEqual([{ backupId: backup.children![0]!.id, volumeId: DEMO.servers[3].disks[0].id, sizeGb: 40, targetSizeGb: 40, systemDisk: true }]);

    const started = h.now;
    advance(restore.due!.at - h.now);
    await checkRestores(h.deps, log);
    const running = (await h.store.getRestore(restore.restoreId))!;
    expect(running.state).toBe('RUNNING');
    expect(running.opLogId).toBe((await restoreLogs())[0]!.id);
    expect(running.progress).toBeGreaterThan(0);

    const done = await trackUntilDone(restore.restoreId);
    expect(done.state).toBe('COMPLETED');
    expect(done.finishedAt! - done.startedAt!).toBe(30_000); // the emulator's restoreMs, measured from CBR's op log
    expect(done.startedAt).toBe(started);
    expect(done.reason).toMatch(/restored onto server .* in 30 s/);
    expect(done.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['requested', 'restore-called', 'restore-accepted', 'operation-log-found', 'running', 'completed']));
    expect(done.due).toBeUndefined();
    expect(await h.store.listDueRestores(h.now + 86_400_000, 10)).not.toContainEqual(expect.objectContaining({ restoreId: done.restoreId }));
  });

  it('onto an undeclared target: refused without confirm (nothing recorded, nothing called); accepted with confirm equal to the target', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_A };
    const refused = await startRestore(h.deps, { request, source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({ field: 'confirm' });
    expect((refused as Error).message).toMatch(/overwrites every disk of server .* not a declared drill target \(DRILL_TARGETS\).*"confirm": "/);
    const wrong = await startRestore(h.deps, { request: { ...request, confirm: SERVER_D }, source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ field: 'confirm', message: expect.stringMatching(/must be the target server's id/) });
    expect(restoreCalls()).toBe(calls);
    const ok = await startRestore(h.deps, { request: { ...request, confirm: SERVER_A }, source: { kind: 'cli' } });
    expect(ok.restore.safety).toBe('confirmed');
    expect(restoreCalls() - calls).toBe(1);
    expect((await trackUntilDone(ok.restore.restoreId)).state).toBe('COMPLETED');
  });

  it('disks that do not fit are refused before any call; CBR refusing (target being backed up, 2002) ends the restore FAILED with a clear error', async () => {
    const big = await backupOf(SERVER_C);
    const calls = restoreCalls();
    const tooSmall = await startRestore(h.deps, { request: { backupId: big.id, projectId: DEMO.projectId, target: SERVER_B, confirm: SERVER_B, region: DEMO.region }, source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(tooSmall).toBeInstanceOf(RestoreRefusedError);
    expect(tooSmall).toMatchObject({ kind: 'invalid', field: 'target', code: 'DISK_TOO_SMALL', message: expect.stringMatching(/is 50 GB but its target disk .* on server .* is only 40 GB/) });
    expect(restoreCalls()).toBe(calls);

    const backup = await backupOf(SERVER_A);
    await h.client.createCheckpoint({ checkpoint: { vault_id: h.vaultId, parameters: { resources: [SERVER_A] } } }); // target being backed up
    const busy = await startRestore(h.deps, { request: { backupId: backup.id, projectId: DEMO.projectId, target: SERVER_A, confirm: SERVER_A, region: DEMO.region }, idempotencyKey: 'busy-1', source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ kind: 'conflict', code: 'BackupService.2002', message: expect.stringMatching(/being backed up; restore after that backup completes/) });
    const failed = (await h.store.getRestore((await startRestore(h.deps, { request: { backupId: backup.id, projectId: DEMO.projectId, target: SERVER_A, confirm: SERVER_A, region: DEMO.region }, idempotencyKey: 'busy-1', source: { kind: 'http' } })).restore.restoreId))!;
    expect(failed).toMatchObject({ state: 'FAILED', lastError: { code: 'BackupService.2002' } });
    advance(8_000);
  });

  it('the same Idempotency-Key twice makes one restore; with another target it is refused', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const first = await startRestore(h.deps, { request, idempotencyKey: 'dup-1', source: { kind: 'http' } });
    const second = await startRestore(h.deps, { request, idempotencyKey: 'dup-1', source: { kind: 'http' } });
    expect(second.created).toBe(false);
    expect(second.restore.restoreId).toBe(first.restore.restoreId);
    expect(restoreCalls() - calls).toBe(1);
    const moved = await startRestore(h.deps, { request: { ...request, target: SERVER_A, confirm: SERVER_A }, idempotencyKey: 'dup-1', source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(moved).toMatchObject({ kind: 'conflict', field: 'target', message: expect.stringMatching(/never moved to another target/) });
    expect(restoreCalls() - calls).toBe(1);
    expect((await trackUntilDone(first.restore.restoreId)).state).toBe('COMPLETED');
  });

  it('a crash right after RestoreBackup, then the request again: no second call; the checker finds the op log and completes it', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const crashing: RestoreDeps = { ...h.deps, crashPoint: (p) => { if (p === 'restore:after-cbr') throw new Error('killed'); } };
    await expect(startRestore(crashing, { request, idempotencyKey: 'crash-1', source: { kind: 'http' } })).rejects.toThrow('killed');
    const again = await startRestore(h.deps, { request, idempotencyKey: 'crash-1', source: { kind: 'http' } });
    expect(again.restore.state).toBe('PENDING');
    expect(again.restore.acceptedAt).toBeUndefined();
    expect(restoreCalls() - calls).toBe(1);
    const done = await trackUntilDone(again.restore.restoreId);
    expect(done.state).toBe('COMPLETED');
    expect(restoreCalls() - calls).toBe(1);
  });

  it('a crash before RestoreBackup (intent never written) is carried on by the checker, once', async () => {
    const backup = await backupOf(SERVER_A);
    const calls = restoreCalls();
    const crashing: RestoreDeps = { ...h.deps, cbr: async () => { throw new Error('killed before CBR'); } };
    await expect(startRestore(crashing, { request: { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D }, idempotencyKey: 'early-1', source: { kind: 'http' } })).rejects.toThrow('killed');
    const id = (await startRestore({ ...h.deps, cbr: crashing.cbr }, { request: { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D }, idempotencyKey: 'early-1', source: { kind: 'http' } }).catch(async () => undefined)) ?? undefined;
    expect(id).toBeUndefined();
    expect(restoreCalls()).toBe(calls);
    const due = (await h.store.listDueRestores(h.now + 10 * 60_000, 50)).find((r) => !r.intent);
    expect(due).toBeDefined();
    const done = await trackUntilDone(due!.restoreId);
    expect(done.state).toBe('COMPLETED');
    expect(restoreCalls() - calls).toBe(1);
  });

  it('API faults: an answer lost after CBR took the restore is followed through its op log (one restore); a refusal before it ends FAILED after the grace, never called again', async () => {
    const backup = await backupOf(SERVER_A);
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const logsBefore = (await restoreLogs()).length;
    h.emu.faults.add({ operations: ['RestoreBackup'], error: { rate: 1, statuses: [503], phase: 'after' }, times: 1 });
    const lost = await startRestore(h.deps, { request, idempotencyKey: 'lost-1', source: { kind: 'http' } });
    expect(lost.restore).toMatchObject({ state: 'PENDING', lastError: { code: expect.any(String) } });
    expect(lost.restore.timeline.map((e) => e.event)).toContain('restore-answer-lost');
    expect((await trackUntilDone(lost.restore.restoreId)).state).toBe('COMPLETED');
    expect((await restoreLogs()).length - logsBefore).toBe(1);

    h.emu.faults.add({ operations: ['RestoreBackup'], error: { rate: 1, statuses: [503], phase: 'before' }, times: 1 });
    const calls = restoreCalls();
    const refused = await startRestore(h.deps, { request, idempotencyKey: 'lost-2', source: { kind: 'http' } });
    expect(refused.restore.state).toBe('PENDING');
    const done = await trackUntilDone(refused.restore.restoreId);
    expect(done).toMatchObject({ state: 'FAILED', lastError: { code: 'RESTORE_OUTCOME_UNKNOWN' } });
    expect(done.reason).toMatch(/does not call RestoreBackup again/);
    expect(restoreCalls() - calls).toBe(1);
    expect((await restoreLogs()).length - logsBefore).toBe(1);
  });

  it("a restore CBR fails ends FAILED with CBR's reason; one past its window EXPIRED", async () => {
    const backup = await backupOf(SERVER_A);
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D };
    const { restore } = await startRestore(h.deps, { request, source: { kind: 'http' } });
    const op = (await restoreLogs())[0]!;
    expect(h.emu.state.resolveRestore(op.id!, 'failed', 'attaching the restored disk failed')).toBe(true);
    const failed = await trackUntilDone(restore.restoreId);
    expect(failed).toMatchObject({ state: 'FAILED', lastError: { code: 'BackupService.9910', message: 'attaching the restored disk failed' } });
    expect(failed.reason).toMatch(/failed: BackupService.9910: attaching the restored disk failed/);

    const short: RestoreDeps = { ...h.deps, restore: { ...h.deps.restore, windowMs: 10_000 } };
    const { restore: slow } = await startRestore(short, { request, source: { kind: 'http' } });
    advance(10_000);
    await checkRestores(short, log);
    expect(await h.store.getRestore(slow.restoreId)).toMatchObject({ state: 'EXPIRED', reason: expect.stringMatching(/completion window of 0 minutes/) });
    advance(30_000);
  });

  it('by run and resource: the run must exist and hold an available backup of it', async () => {
    const unknown = await startRestore(h.deps, { request: { runId: '11111111-1111-4111-8111-111111111111', resourceId: SERVER_A, target: SERVER_D }, source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ kind: 'not-found', field: 'runId' });
    const bad = await startRestore(h.deps, { request: { runId: '11111111-1111-4111-8111-111111111111', target: SERVER_D }, source: { kind: 'http' } }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ field: 'resourceId' });
  });

  it('over HTTP: POST /restores refuses an undeclared target without confirm (400 naming confirm), accepts a drill target (202); GET /restores/{id} shows the timeline; other projects 404', async () => {
    const backup = await backupOf(SERVER_A);
    const handler = restoresHandler(h.deps);
    const claims = { sub: 'ops@example.com', cbr_projects: JSON.stringify([DEMO.projectId]) };
    const post = (body: unknown, c: Record<string, unknown> = claims) =>
      handler(makeHttpEvent({ method: 'POST', path: '/restores', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, claims: c }), makeContext()) as Promise<{ statusCode: number; body: string }>;
    const request = { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region };
    const refused = await post({ ...request, target: SERVER_A });
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ field: 'confirm', message: expect.stringMatching(/not a declared drill target/) });
    const other = await post({ ...request, target: SERVER_D }, { sub: 'x', cbr_projects: JSON.stringify(['0'.repeat(32)]) });
    expect(other.statusCode).toBe(404);
    const ok = await post({ ...request, target: SERVER_D });
    expect(ok.statusCode).toBe(202);
    const accepted = JSON.parse(ok.body);
    expect(accepted).toMatchObject({ created: true, state: 'PENDING', statusUrl: `https://api.example.com/restores/${accepted.restoreId}`, restore: { requestedBy: 'ops@example.com', targetServerId: SERVER_D } });
    await trackUntilDone(accepted.restoreId);
    const got = await handler(makeHttpEvent({ method: 'GET', path: `/restores/${accepted.restoreId}`, routeKey: 'GET /restores/{id}', pathParameters: { id: accepted.restoreId }, claims }), makeContext()) as { statusCode: number; body: string };
    expect(got.statusCode).toBe(200);
    const view = JSON.parse(got.body);
    expect(view.state).toBe('COMPLETED');
    expect(view.timeline.map((e: { event: string }) => e.event)).toEqual(expect.arrayContaining(['requested', 'restore-called', 'completed']));
    expect(view.intent).toBeUndefined();
  });

  it("the scheduled checker's sweep (check-status) tracks restores through PipelineDeps.restores", async () => {
    const backup = await backupOf(SERVER_A);
    const { restore } = await startRestore(h.deps, { request: { backupId: backup.id, projectId: DEMO.projectId, region: DEMO.region, target: SERVER_D }, source: { kind: 'http' } });
    const factory = cbrFactory({ CBR_ENDPOINT: h.emu.url, IAM_ENDPOINT: h.emu.url, CBR_TIMEOUT_MS: 5_000 }, async () => ({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }), { now: () => new Date(h.now) });
    const pipeline = { store: h.store, bus: { send: async () => {} }, clock, cbr: factory, settings: { ...DEFAULT_SETTINGS, firstCheckDelayMs: 10_000 }, newToken: h.deps.newToken, restores: { store: h.store, cbr: factory, settings: h.deps.restore } };
    advance(40_000);
    const sweep = await checkStatus(pipeline, log);
    expect(sweep.restores).toMatchObject({ checked: 1, completed: 1, errors: 0 });
    expect((await h.store.getRestore(restore.restoreId))!.state).toBe('COMPLETED');
  });
});
