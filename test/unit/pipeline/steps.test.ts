import { describe, expect, it, vi } from 'vitest';
import type { Message, MessageOf } from '../../../lib/contracts';
import { addResources } from '../../../lib/pipeline/add-resources';
import { checkStatus } from '../../../lib/pipeline/check-status';
import type { Logger } from '../../../lib/wiring/log';
import { createVault } from '../../../lib/pipeline/create-vault';
import { recordDeliveryFailure } from '../../../lib/pipeline/record-failure';
import { shareBackups } from '../../../lib/pipeline/share-backup';
import { startCheckpoint } from '../../../lib/pipeline/start-checkpoint';
import { startRun } from '../../../lib/pipeline/start-run';
import { CrashError, FakeCbrError } from './fakes';
import { makeWorld, PEER, PEER2, PROJECT, request, SERVER_A, SERVER_B, VOLUME_C } from './world';

type World = ReturnType<typeof makeWorld>;
const one = <T extends Message['type']>(w: World, queue: Parameters<World['bus']['drain']>[0]) => w.bus.drain(queue)[0]!.message as MessageOf<T>;

/** Start a run and drive it up to (not including) the given step's input message. */
interface InputOf {
  'add-resources': MessageOf<'vault.ready'>;
  'start-checkpoint': MessageOf<'resources.bound'>;
  'share-backup': MessageOf<'checkpoint.finished'>;
}
async function upTo<S extends keyof InputOf>(w: World, step: S, input = request()): Promise<{ runId: string; message: InputOf[S] }> {
  const { runId } = await startRun(w.deps, { request: input, source: { kind: 'http' } });
  await createVault(w.deps, one<'run.requested'>(w, 'vault'));
  const ready = one<'vault.ready'>(w, 'resources');
  if (step === 'add-resources') return { runId, message: ready as InputOf[S] };
  await addResources(w.deps, ready);
  const bound = one<'resources.bound'>(w, 'checkpoint');
  if (step === 'start-checkpoint') return { runId, message: bound as InputOf[S] };
  await startCheckpoint(w.deps, bound);
  w.cbr.finishAll('available');
  w.clock.advance(w.deps.settings.firstCheckDelayMs);
  await checkStatus(w.deps);
  return { runId, message: one<'checkpoint.finished'>(w, 'share') as InputOf[S] };
}

describe('add-resources', () => {
  it('binds only what is not bound yet (ShowVault first)', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'add-resources');
    const vaultId = message.data.vaultId;
    await w.cbr.addVaultResource(vaultId, { resources: [{ id: SERVER_A, type: 'OS::Nova::Server' }] });
    let body: unknown;
    const original = w.cbr.addVaultResource.bind(w.cbr);
    w.cbr.addVaultResource = async (id, b) => ((body = b), original(id, b));
    expect(await addResources(w.deps, message)).toBe('done');
    expect(body).toEqual({ resources: [{ id: SERVER_B, type: 'OS::Nova::Server', name: 'server-4690-0002' }] });
    expect((await w.memory.get(runId))!).toMatchObject({ step: 'start-checkpoint', boundResourceIds: [SERVER_A, SERVER_B] });
    expect(w.bus.on('checkpoint')[0]).toMatchObject({ type: 'resources.bound', data: { vaultId, seq: 1, resourceIds: [SERVER_A, SERVER_B] } });
  });

  it('a crash after AddVaultResource adds nothing on redelivery', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'add-resources');
    w.cbr.after.addVaultResource = () => (w.store.crashNextSave = true);
    await expect(addResources(w.deps, message)).rejects.toBeInstanceOf(CrashError);
    delete w.cbr.after.addVaultResource;
    expect(await addResources(w.deps, message)).toBe('done');
    expect(w.cbr.callCount('addVaultResource')).toBe(1);
    expect((await w.memory.get(runId))!.step).toBe('start-checkpoint');
  });

  it('a duplicate after success makes no CBR call and re-publishes resources.bound', async () => {
    const w = makeWorld();
    const { message } = await upTo(w, 'add-resources');
    await addResources(w.deps, message);
    const calls = w.cbr.callCount();
    expect(await addResources(w.deps, message)).toBe('duplicate');
    expect(w.cbr.callCount()).toBe(calls);
    const sent = w.bus.on('checkpoint');
    expect(sent).toHaveLength(2);
    expect(sent[0]!.id).toBe(sent[1]!.id);
  });

  it('two copies processed at once (same SQS batch): the loser sees 7116, re-reads, and both succeed', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'add-resources');
    const outcomes = await Promise.all([addResources(w.deps, message), addResources(w.deps, { ...message })]);
    expect(outcomes.sort()).toEqual(['done', 'duplicate']);
    expect((await w.memory.get(runId))!).toMatchObject({ state: 'RUNNING', step: 'start-checkpoint' });
    expect(w.cbr.vaults.get(message.data.vaultId)!.resources).toHaveLength(2);
  });

  it('a resource bound to another vault after the pre-flight (6103) fails the run with that reason', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'add-resources');
    w.cbr.seedVault('someone_elses', 'server', [{ id: SERVER_B, type: 'OS::Nova::Server' }]);
    expect(await addResources(w.deps, message)).toBe('failed-run');
    const run = (await w.memory.get(runId))!;
    expect(run).toMatchObject({ state: 'FAILED', lastError: { code: 'BackupService.6103', step: 'add-resources' } });
    expect(run.reason).toContain(SERVER_B);
    expect(run.reason).toContain('6103');
  });
});

describe('start-checkpoint', () => {
  it('names the checkpoint from the run id, records intent first, then the id, and schedules the checker', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'start-checkpoint');
    expect(await startCheckpoint(w.deps, message)).toBe('done');
    const run = (await w.memory.get(runId))!;
    const cp = run.checkpoints[0]!;
    expect(cp).toMatchObject({ seq: 1, name: `cbrflow_${runId.replace(/-/g, '')}`, status: 'protecting' });
    expect(cp.claim).toBeUndefined();
    expect([...w.cbr.checkpoints.values()][0]!.name).toBe(cp.name);
    expect(run).toMatchObject({ step: 'check-status', due: { at: w.clock.now() + w.deps.settings.firstCheckDelayMs } });
    expect(w.bus.on('events')[0]).toMatchObject({ type: 'checkpoint.started', data: { checkpointId: cp.id, seq: 1 } });
  });

  it('a duplicate delivery makes no second checkpoint', async () => {
    const w = makeWorld();
    const { message } = await upTo(w, 'start-checkpoint');
    await startCheckpoint(w.deps, message);
    expect(await startCheckpoint(w.deps, message)).toBe('duplicate');
    expect(w.cbr.callCount('createCheckpoint')).toBe(1);
  });

  it('a concurrent duplicate while the first holds the claim is deferred, not sent to CBR', async () => {
    const w = makeWorld();
    const { message } = await upTo(w, 'start-checkpoint');
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const original = w.cbr.createCheckpoint.bind(w.cbr);
    w.cbr.createCheckpoint = async (b) => {
      await gate;
      return original(b);
    };
    const first = startCheckpoint(w.deps, message);
    await new Promise((r) => setTimeout(r, 5));
    expect(await startCheckpoint(w.deps, message)).toBe('deferred');
    open();
    expect(await first).toBe('done');
    const again = w.bus.drain('checkpoint')[0]!.message as MessageOf<'resources.bound'>;
    expect(again.attempt).toBe(2);
    expect(await startCheckpoint(w.deps, again)).toBe('duplicate');
    expect(w.cbr.callCount('createCheckpoint')).toBe(1);
  });

  it('a crash after CreateCheckpoint is recovered by looking the checkpoint up by name', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'start-checkpoint');
    w.cbr.after.createCheckpoint = () => (w.store.crashNextSave = true);
    await expect(startCheckpoint(w.deps, message)).rejects.toBeInstanceOf(CrashError);
    delete w.cbr.after.createCheckpoint;
    expect(await startCheckpoint(w.deps, message)).toBe('deferred'); // the dead invocation's claim is still live
    w.clock.advance(w.deps.settings.checkpointClaimMs);
    expect(await startCheckpoint(w.deps, message)).toBe('done');
    expect(w.cbr.callCount('createCheckpoint')).toBe(1);
    const run = (await w.memory.get(runId))!;
    expect(run.checkpoints[0]).toMatchObject({ id: [...w.cbr.checkpoints.keys()][0], status: 'protecting' });
    expect(run.timeline.map((e) => e.event)).toContain('checkpoint-recovered');
  });

  it('a crash before CreateCheckpoint (claim taken, nothing created) creates it on takeover', async () => {
    const w = makeWorld();
    const { message } = await upTo(w, 'start-checkpoint');
    w.cbr.failNext('createCheckpoint', new CrashError('died before the call'));
    await expect(startCheckpoint(w.deps, message)).rejects.toBeInstanceOf(CrashError);
    w.clock.advance(w.deps.settings.checkpointClaimMs);
    expect(await startCheckpoint(w.deps, message)).toBe('done');
    expect(w.cbr.checkpoints.size).toBe(1);
  });

  it('skipped resources (still protecting) are retried by a delayed second checkpoint, never dropped', async () => {
    const w = makeWorld();
    w.cbr.busyResources.add(SERVER_B);
    const { runId, message } = await upTo(w, 'start-checkpoint');
    await startCheckpoint(w.deps, message);
    let run = (await w.memory.get(runId))!;
    expect(run.pendingResources).toMatchObject([{ id: SERVER_B, attempts: 1 }]);
    const retry = w.bus.drain('checkpoint');
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ delaySeconds: w.deps.settings.skipRetryDelaySeconds, message: { data: { seq: 2, resourceIds: [SERVER_B] } } });
    // The first checkpoint finishing does not finish the run while a resource waits.
    w.cbr.finishAll();
    w.clock.advance(w.deps.settings.firstCheckDelayMs);
    await checkStatus(w.deps);
    expect(w.bus.on('share')).toHaveLength(0);
    w.cbr.busyResources.clear();
    await startCheckpoint(w.deps, retry[0]!.message as MessageOf<'resources.bound'>);
    run = (await w.memory.get(runId))!;
    expect(run.pendingResources).toEqual([]);
    expect(run.checkpoints.map((c) => [c.seq, c.status])).toEqual([[1, 'available'], [2, 'protecting']]);
    expect(run.checkpoints[1]!.name).toBe(`cbrflow_${runId.replace(/-/g, '')}-s2`);
    w.cbr.finishAll();
    w.clock.advance(w.deps.settings.checkMaxDelayMs);
    await checkStatus(w.deps);
    const finished = w.bus.drain('share')[0]!.message as MessageOf<'checkpoint.finished'>;
    expect(finished.data.checkpoints.map((c) => c.backups.map((b) => b.resourceId))).toEqual([[SERVER_A], [SERVER_B]]);
    await shareBackups(w.deps, finished);
    expect((await w.memory.get(runId))!.state).toBe('COMPLETED');
  });

  it('a resource skipped on every try is reported as failed and the run ends PARTIAL', async () => {
    const w = makeWorld({ skipRetryMax: 1 });
    w.cbr.busyResources.add(SERVER_B);
    const run = await w.runToEnd();
    expect(run.state).toBe('PARTIAL');
    expect(run.failedResources).toMatchObject([{ id: SERVER_B }]);
    expect(run.reason).toContain(SERVER_B);
    expect(w.cbr.callCount('createCheckpoint')).toBe(2);
  });

  it('CBR busy with another backup (1001) re-queues; a vault over capacity (6114) fails the run', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'start-checkpoint');
    w.cbr.failNext('createCheckpoint', new FakeCbrError(400, 'BackupService.1001', 'vault is already performing a backup'));
    expect(await startCheckpoint(w.deps, message)).toBe('deferred');
    const again = w.bus.drain('checkpoint')[0]!.message as MessageOf<'resources.bound'>;
    w.cbr.failNext('createCheckpoint', new FakeCbrError(400, 'BackupService.6114', 'The used capacity of the vault exceeds the maximum capacity.'));
    expect(await startCheckpoint(w.deps, again)).toBe('failed-run');
    const failed = (await w.memory.get(runId))!;
    expect(failed.lastError!.code).toBe('BackupService.6114');
    expect(failed.reason).toContain('is full: delete backups it no longer needs (retention), expand it, or set vault.autoExpand.maxSizeGB');
    expect(w.cbr.callCount('listBackups')).toBe(0); // a released claim needs no lookup
  });
});

describe('check-status', () => {
  async function pendingRuns(w: World, count: number, vaults: number) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const server = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const { runId } = await startRun(w.deps, {
        request: request({ vault: { mode: 'create', name: `vault_${i % vaults}`, billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: server, type: 'OS::Nova::Server' }] }),
        source: { kind: 'http' },
      });
      ids.push(runId);
    }
    await w.pump();
    return ids;
  }

  it('uses one ListBackups per vault per sweep, not one per run, and finishes the available ones', async () => {
    const w = makeWorld({ backupPageSize: 1000 });
    const ids = await pendingRuns(w, 12, 3);
    expect(w.cbr.checkpoints.size).toBe(12);
    const cps = [...w.cbr.checkpoints.values()];
    for (const cp of cps.slice(0, 5)) w.cbr.finish(cp.id, 'available');
    w.cbr.finish(cps[5]!.id, 'error');
    w.clock.advance(w.deps.settings.firstCheckDelayMs);
    const before = w.cbr.callCount('listBackups');
    const result = await checkStatus(w.deps);
    expect(w.cbr.callCount('listBackups') - before).toBe(3);
    expect(result).toMatchObject({ due: 12, vaults: 3, checked: 12, finished: 6, rescheduled: 6 });
    const finished = w.bus.drain('share').map((s) => s.message as MessageOf<'checkpoint.finished'>);
    expect(finished).toHaveLength(6);
    expect(finished.map((m) => m.data.checkpoints[0]!.status).sort()).toEqual(['available', 'available', 'available', 'available', 'available', 'error']);
    const waiting = await Promise.all(ids.map((id) => w.memory.get(id)));
    const rescheduled = waiting.filter((r) => r!.step === 'check-status');
    expect(rescheduled).toHaveLength(6);
    for (const r of rescheduled) expect(r!.due!.at).toBe(w.clock.now() + w.deps.settings.checkBaseDelayMs);
  });

  it('backs off: a run not due yet is not checked, later checks wait longer, capped', async () => {
    const w = makeWorld();
    const [id] = await pendingRuns(w, 1, 1);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const due = (await w.memory.get(id!))!.due!.at;
      expect((await checkStatus(w.deps)).checked).toBe(0);
      w.clock.ms = due;
      await checkStatus(w.deps);
      delays.push((await w.memory.get(id!))!.due!.at - w.clock.now());
    }
    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  it('expires a run past its completion window with run.finished', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request({ completionWindowMinutes: 10 }), source: { kind: 'http' } });
    await w.pump();
    w.clock.advance(10 * 60_000);
    const result = await checkStatus(w.deps);
    expect(result.expired).toBe(1);
    const run = (await w.memory.get(runId))!;
    expect(run.state).toBe('EXPIRED');
    expect(run.reason).toMatch(/completion window of 10 minutes: checkpoint .* still protecting/);
    expect(run.due).toBeUndefined();
    expect(w.bus.on('events').filter((m) => m.type === 'run.finished')[0]!.data).toMatchObject({ state: 'EXPIRED' });
  });

  it('never schedules a check past the deadline, so expiry is seen within one checker period', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request({ completionWindowMinutes: 5 }), source: { kind: 'http' } });
    await w.pump();
    for (let i = 0; i < 10; i++) {
      w.clock.advance(60_000);
      await checkStatus(w.deps);
    }
    const run = (await w.memory.get(runId))!;
    expect(run.state).toBe('EXPIRED');
    expect(run.finishedAt! - run.createdAt).toBeLessThanOrEqual(5 * 60_000 + 60_000);
  });

  it('re-drives a step whose message was lost (watchdog)', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    w.bus.drain('vault'); // lost
    w.clock.advance(w.deps.settings.stepTimeoutMs);
    expect((await checkStatus(w.deps)).redriven).toBe(1);
    const redriven = w.bus.drain('vault');
    expect(redriven[0]!.message).toMatchObject({ type: 'run.requested', attempt: 2 });
    await createVault(w.deps, redriven[0]!.message as MessageOf<'run.requested'>);
    expect((await w.memory.get(runId))!.step).toBe('add-resources');
  });

  it('re-publishes checkpoint.finished when share-backup never ran (crash between record and publish)', async () => {
    const w = makeWorld();
    const { runId } = await upTo(w, 'share-backup');
    w.clock.advance(w.deps.settings.stepTimeoutMs);
    await checkStatus(w.deps);
    const again = w.bus.drain('share')[0]!.message as MessageOf<'checkpoint.finished'>;
    await shareBackups(w.deps, again);
    expect((await w.memory.get(runId))!.state).toBe('COMPLETED');
  });

  it('pages through ListBackups and stops once every pending checkpoint is accounted for', async () => {
    const w = makeWorld({ backupPageSize: 2 });
    const ids = await pendingRuns(w, 5, 1);
    w.cbr.finishAll('available');
    w.clock.advance(w.deps.settings.firstCheckDelayMs);
    const before = w.cbr.callCount('listBackups');
    const result = await checkStatus(w.deps);
    expect(result.finished).toBe(5);
    expect(w.cbr.callCount('listBackups') - before).toBe(3);
    for (const id of ids) expect((await w.memory.get(id))!.step).toBe('share-backup');
  });
});

describe('share-backup', () => {
  it('adds each target project to every server backup; existing or already-shared members count as shared', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'share-backup', request({ shareWith: [PEER, PEER2] }));
    const [b1, b2] = w.cbr.backups;
    await w.cbr.addMember(b1!.id, { members: [PEER] }); // shared earlier (crash after AddMember)
    // b2: someone shares it with PEER between our ShowMembersDetail and AddMember -> 6714 for the batch.
    const original = w.cbr.addMember.bind(w.cbr);
    let raced = false;
    w.cbr.addMember = async (backupId, body) => {
      if (backupId === b2!.id && !raced) {
        raced = true;
        await original(backupId, { members: [PEER] });
        throw new FakeCbrError(400, 'BackupService.6714', 'already shared');
      }
      return original(backupId, body);
    };
    expect(await shareBackups(w.deps, message)).toBe('done');
    const run = (await w.memory.get(runId))!;
    expect(run.state).toBe('COMPLETED');
    expect(run.shares.map((s) => [s.backupId, s.projectId, s.status]).sort()).toEqual(
      [[b1!.id, PEER, 'pending'], [b1!.id, PEER2, 'pending'], [b2!.id, PEER, 'pending'], [b2!.id, PEER2, 'pending']].sort(),
    );
    expect([...w.cbr.members.get(b1!.id)!.keys()].sort()).toEqual([PEER, PEER2].sort());
    expect([...w.cbr.members.get(b2!.id)!.keys()].sort()).toEqual([PEER, PEER2].sort());
  });

  it('a crash after AddMember adds no member twice on redelivery', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'share-backup');
    w.cbr.after.addMember = () => (w.store.crashNextSave = true);
    await expect(shareBackups(w.deps, message)).rejects.toBeInstanceOf(CrashError);
    delete w.cbr.after.addMember;
    await shareBackups(w.deps, message);
    expect((await w.memory.get(runId))!.state).toBe('COMPLETED');
    expect(w.cbr.callCount('addMember')).toBe(2);
    for (const b of w.cbr.backups) expect(w.cbr.members.get(b.id)!.size).toBe(1);
  });

  it('a duplicate after the run finished only re-publishes run.finished', async () => {
    const w = makeWorld();
    const { message } = await upTo(w, 'share-backup');
    await shareBackups(w.deps, message);
    const calls = w.cbr.callCount();
    expect(await shareBackups(w.deps, message)).toBe('duplicate');
    expect(w.cbr.callCount()).toBe(calls);
    const finished = w.bus.on('events').filter((m) => m.type === 'run.finished');
    expect(finished).toHaveLength(2);
    expect(finished[0]!.id).toBe(finished[1]!.id);
  });

  it('disk backups are reported as not shareable, not thrown', async () => {
    const w = makeWorld();
    w.cbr.volumes.add(VOLUME_C);
    const run = await w.runToEnd(request({ vault: { mode: 'create', name: 'disks', billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: VOLUME_C, type: 'OS::Cinder::Volume' }] }));
    expect(run.state).toBe('COMPLETED');
    expect(run.notShareable).toMatchObject([{ resourceId: VOLUME_C, resourceType: 'OS::Cinder::Volume' }]);
    expect(run.reason).toContain('not shareable');
    expect(w.cbr.callCount('addMember')).toBe(0);
  });

  it('a member CBR refuses makes the run PARTIAL with the code', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'share-backup', request({ resources: [{ id: SERVER_A, type: 'OS::Nova::Server' }] }));
    w.cbr.failNext('addMember', new FakeCbrError(400, 'BackupService.6709', 'encrypted disks cannot be shared'));
    await shareBackups(w.deps, message);
    const run = (await w.memory.get(runId))!;
    expect(run.state).toBe('PARTIAL');
    expect(run.shares).toMatchObject([{ projectId: PEER, status: 'failed', code: 'BackupService.6709' }]);
    expect(run.lastError).toMatchObject({ code: 'BackupService.6709' });
  });

  it('a retryable CBR failure is thrown (SQS retries) and the run stays in share-backup', async () => {
    const w = makeWorld();
    const { runId, message } = await upTo(w, 'share-backup');
    w.cbr.failNext('showMembersDetail', new FakeCbrError(429, 'APIGW.0308', 'throttled', true));
    await expect(shareBackups(w.deps, message)).rejects.toMatchObject({ httpStatus: 429 });
    expect((await w.memory.get(runId))!.step).toBe('share-backup');
  });
});

describe('delivery failures', () => {
  it('records each failed attempt on the run and fails it on the last receive before the DLQ', async () => {
    const w = makeWorld({ maxReceiveCount: 3 });
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    const error = new FakeCbrError(500, 'BackupService.9910', 'Unknown error.', true, 'req-77');
    await recordDeliveryFailure(w.deps, { runId, step: 'create-vault', error, receiveCount: 1 });
    let run = (await w.memory.get(runId))!;
    expect(run).toMatchObject({ state: 'PENDING', attempts: { 'create-vault': 1 }, lastError: { code: 'BackupService.9910', requestId: 'req-77' } });
    await recordDeliveryFailure(w.deps, { runId, step: 'create-vault', error, receiveCount: 3 });
    run = (await w.memory.get(runId))!;
    expect(run.state).toBe('FAILED');
    expect(run.reason).toMatch(/dead-letter queue: BackupService.9910/);
    expect(w.bus.on('events').map((m) => m.type)).toEqual(['run.finished']);
  });
});

describe('start-run', () => {
  it('a second start with the same run id creates nothing new and re-publishes the hand-off', async () => {
    const w = makeWorld();
    const a = await startRun(w.deps, { request: request(), runId: '2f1e6a7c-3b4d-4e5f-8a9b-0c1d2e3f4a5b', source: { kind: 'queue' } });
    const b = await startRun(w.deps, { request: request(), runId: '2f1e6a7c-3b4d-4e5f-8a9b-0c1d2e3f4a5b', source: { kind: 'queue' } });
    expect([a.created, b.created]).toEqual([true, false]);
    expect(w.memory.runs.size).toBe(1);
    const sent = w.bus.on('vault');
    expect(sent).toHaveLength(2);
    expect(sent[0]!.id).toBe(sent[1]!.id);
  });

  it('fills the region from the deployment default and requires one when there is none', async () => {
    const w = makeWorld();
    const { run } = await startRun(w.deps, { request: { ...request(), region: undefined }, source: { kind: 'http' } });
    expect(run.request.region).toBe('ap-southeast-1');
    const bare = makeWorld({ defaultRegion: undefined });
    await expect(startRun(bare.deps, { request: { ...request(), region: undefined }, source: { kind: 'http' } })).rejects.toMatchObject({ field: 'region' });
  });

  it('names the offending field of a bad request', async () => {
    const w = makeWorld();
    const bad = { ...request(), resources: [{ id: 'not-a-uuid', type: 'OS::Nova::Server' }], shareWith: [PROJECT] };
    await expect(startRun(w.deps, { request: bad, source: { kind: 'http' } })).rejects.toMatchObject({
      name: 'ValidationError',
      issues: expect.arrayContaining([
        { field: 'resources[0].id', message: 'must be a UUID' },
        { field: 'shareWith[0]', message: 'cannot share with the source project itself' },
      ]),
    });
    expect(w.memory.runs.size).toBe(0);
  });
});

describe('announcing a finished run (run.finished is never lost)', () => {
  it('the last failed receive dies between the FAILED record and run.finished: the run stays due and the checker announces it once', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    w.deps.crashPoint = (point) => {
      if (point === 'record-failure:after-record') throw new CrashError('died before publishing run.finished');
    };
    const failure = { runId, step: 'create-vault' as const, error: new Error('boom'), receiveCount: w.deps.settings.maxReceiveCount };
    await expect(recordDeliveryFailure(w.deps, failure)).rejects.toThrow(CrashError);
    w.deps.crashPoint = undefined;
    const finished = () => w.bus.on('events').filter((m) => m.type === 'run.finished' && m.runId === runId);
    const failed = (await w.memory.get(runId))!;
    expect(failed).toMatchObject({ state: 'FAILED', announcePending: true, due: { at: w.clock.now() + 60_000 } });
    expect(finished()).toHaveLength(0);

    expect((await checkStatus(w.deps)).announced).toBe(0); // within the grace: a live announcer may still be at it
    w.clock.advance(60_000);
    expect((await checkStatus(w.deps)).announced).toBe(1);
    expect(finished()).toHaveLength(1);
    expect(finished()[0]!.data).toMatchObject({ state: 'FAILED' });
    const announced = (await w.memory.get(runId))!;
    expect(announced.announcePending).toBeUndefined();
    expect(announced.due).toBeUndefined();
    w.clock.advance(120_000);
    expect((await checkStatus(w.deps)).announced).toBe(0);
    expect(finished()).toHaveLength(1);
  });

  it('an announcer that lives marks the run announced at once: nothing is left for the checker', async () => {
    const w = makeWorld();
    const run = await w.runToEnd(request());
    expect(run.state).toBe('COMPLETED');
    expect(run.announcePending).toBeUndefined();
    expect(run.due).toBeUndefined();
  });
});

describe('check-status logging', () => {
  it('a backup status unknown to cbr-flow keeps the run checked until its window, noted once on the timeline and in the log', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request({ completionWindowMinutes: 30 }), source: { kind: 'http' } });
    await w.pump();
    w.cbr.ignoresStatusFilter = true;
    for (const b of w.cbr.backups) b.status = 'hibernating';
    const lines: Array<Parameters<Logger>> = [];
    for (let i = 0; i < 4; i++) {
      w.clock.advance(w.deps.settings.checkMaxDelayMs);
      await checkStatus(w.deps, (...args) => lines.push(args));
    }
    const waiting = (await w.memory.get(runId))!;
    expect(waiting).toMatchObject({ state: 'RUNNING', step: 'check-status' });
    expect(waiting.timeline.filter((e) => e.event === 'unknown-status')).toHaveLength(1);
    expect(lines.filter(([, msg]) => msg === 'check-status: unknown backup status')).toEqual([['warn', 'check-status: unknown backup status', expect.objectContaining({ runId, status: 'hibernating' })]]);
    w.clock.advance(30 * 60_000);
    await checkStatus(w.deps, () => {});
    expect((await w.memory.get(runId))!.state).toBe('EXPIRED');
  });

  it('reports a run it could not advance through the injected (redacting) logger, never console.error', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    w.clock.advance(w.deps.settings.stepTimeoutMs); // due for a watchdog re-drive
    w.store.crashNextSave = true;
    const lines: Array<Parameters<Logger>> = [];
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const result = await checkStatus(w.deps, (...args) => lines.push(args));
      expect(result.errors).toBe(1);
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
    }
    expect(lines).toEqual([['error', 'check-status: run not advanced this sweep', expect.objectContaining({ runIds: runId, error: 'CrashError' })]]);
  });
});
