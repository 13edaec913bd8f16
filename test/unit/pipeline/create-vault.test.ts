import { describe, expect, it } from 'vitest';
import type { MessageOf } from '../../../lib/contracts';
import { createVault } from '../../../lib/pipeline/create-vault';
import { recordDeliveryFailure } from '../../../lib/pipeline/record-failure';
import { startRun } from '../../../lib/pipeline/start-run';
import { vaultLeaseKey } from '../../../lib/store/run';
import { CrashError, FakeCbrError } from './fakes';
import { makeWorld, PROJECT, request, SERVER_A, SERVER_B } from './world';

async function started(w: ReturnType<typeof makeWorld>, input = request()) {
  const { runId } = await startRun(w.deps, { request: input, source: { kind: 'http' } });
  const [sent] = w.bus.drain('vault');
  return { runId, message: sent!.message as MessageOf<'run.requested'> };
}

describe('create-vault', () => {
  it('creates the vault with the seed billing (pay-per-use) and hands off vault.ready', async () => {
    const w = makeWorld();
    const { runId, message } = await started(w);
    expect(await createVault(w.deps, message)).toBe('done');
    const run = (await w.memory.get(runId))!;
    expect(run).toMatchObject({ state: 'RUNNING', step: 'add-resources', vault: { name: 'my_vault', created: true } });
    const ready = w.bus.on('resources');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ type: 'vault.ready', runId, data: { vaultId: run.vault!.id, created: true } });
    expect(w.memory.leases.get(vaultLeaseKey(PROJECT, 'ap-southeast-1', 'my_vault'))).toMatchObject({ vaultId: run.vault!.id, leaseUntil: 0 });
  });

  it('maps a yearly/monthly spec to pre_paid billing', async () => {
    const w = makeWorld();
    let body: unknown;
    const original = w.cbr.createVault.bind(w.cbr);
    w.cbr.createVault = async (b) => ((body = b), original(b));
    const { message } = await started(w, request({ vault: { mode: 'create', name: 'v_month', billing: { chargingMode: 'pre_paid', size: 100, periodType: 'month', periodNum: 1 } } }));
    await createVault(w.deps, message);
    expect(body).toMatchObject({ vault: { name: 'v_month', resources: [], billing: { charging_mode: 'pre_paid', period_type: 'month', period_num: 1, is_auto_renew: false, is_auto_pay: false, object_type: 'server', protect_type: 'backup', size: 100 } } });
  });

  it('a CreateVault answer with neither a vault nor an order fails the delivery naming operation and field, and the run records it', async () => {
    const w = makeWorld();
    w.cbr.createVault = async () => ({ retCode: 0 }) as never;
    const { runId, message } = await started(w);
    const error = await createVault(w.deps, message).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'CBR_ANSWER_MISSING_FIELD', operation: 'CreateVault', field: 'vault', message: expect.stringContaining('CreateVault answer lacks vault') });
    await recordDeliveryFailure(w.deps, { runId, step: 'create-vault', error, receiveCount: 1 });
    expect((await w.memory.get(runId))!.lastError).toMatchObject({ code: 'CBR_ANSWER_MISSING_FIELD', step: 'create-vault' });
  });

  it('a duplicate delivery creates nothing and re-publishes vault.ready with the same id', async () => {
    const w = makeWorld();
    const { message } = await started(w);
    await createVault(w.deps, message);
    expect(await createVault(w.deps, message)).toBe('duplicate');
    expect(w.cbr.callCount('createVault')).toBe(1);
    expect(w.cbr.callCount('listVault')).toBe(1);
    const ready = w.bus.on('resources');
    expect(ready).toHaveLength(2);
    expect(ready[0]!.id).toBe(ready[1]!.id);
  });

  it('a crash after CreateVault is recovered by ListVault on redelivery, not by a second vault', async () => {
    const w = makeWorld();
    const { runId, message } = await started(w);
    w.cbr.after.createVault = () => (w.store.crashNextSave = true);
    await expect(createVault(w.deps, message)).rejects.toBeInstanceOf(CrashError);
    delete w.cbr.after.createVault;
    // Redelivered while the crashed invocation's lease is still live: waits (once, until the lease of
    // its own dead invocation lapses), never creates.
    expect(await createVault(w.deps, message)).toBe('deferred');
    const delayed = w.bus.drain('vault');
    expect(delayed[0]).toMatchObject({ delaySeconds: w.deps.settings.vaultLeaseMs / 1000 + 1, message: { attempt: 2 } });
    w.clock.advance(w.deps.settings.vaultLeaseMs);
    expect(await createVault(w.deps, delayed[0]!.message as MessageOf<'run.requested'>)).toBe('done');
    expect(w.cbr.callCount('createVault')).toBe(1);
    expect(w.cbr.vaults.size).toBe(1);
    expect((await w.memory.get(runId))!.vault).toMatchObject({ created: false });
  });

  it('concurrent runs for one vault name: the second waits for the lease, then finds the vault', async () => {
    const w = makeWorld();
    const a = await started(w);
    const b = await started(w);
    let open!: () => void;
    const gate = { promise: new Promise<void>((r) => (open = r)) };
    const original = w.cbr.createVault.bind(w.cbr);
    w.cbr.createVault = async (body) => {
      await gate.promise;
      return original(body);
    };
    const first = createVault(w.deps, a.message);
    await new Promise((r) => setTimeout(r, 5));
    expect(await createVault(w.deps, b.message)).toBe('deferred');
    open();
    expect(await first).toBe('done');
    const retry = w.bus.drain('vault')[0]!.message as MessageOf<'run.requested'>;
    expect(await createVault(w.deps, retry)).toBe('done');
    expect(w.cbr.vaults.size).toBe(1);
    expect((await w.memory.get(b.runId))!.vault!.id).toBe((await w.memory.get(a.runId))!.vault!.id);
  });

  it('matches the name exactly although ListVault matches fuzzily', async () => {
    const w = makeWorld();
    w.cbr.seedVault('my_vault_old');
    const { runId, message } = await started(w);
    await createVault(w.deps, message);
    expect(w.cbr.vaults.size).toBe(2);
    expect((await w.memory.get(runId))!.vault!.name).toBe('my_vault');
  });

  it('reuse mode fails the run when no vault has that name', async () => {
    const w = makeWorld();
    const { runId, message } = await started(w, request({ vault: { mode: 'reuse', name: 'missing_vault' } }));
    expect(await createVault(w.deps, message)).toBe('failed-run');
    const run = (await w.memory.get(runId))!;
    expect(run).toMatchObject({ state: 'FAILED', lastError: { code: 'VAULT_NOT_FOUND' } });
    expect(run.reason).toContain("no vault named 'missing_vault'");
    expect(w.bus.on('events').map((m) => m.type)).toEqual(['run.finished']);
  });

  it('an existing vault of the wrong type fails the run', async () => {
    const w = makeWorld();
    w.cbr.seedVault('my_vault', 'disk');
    const { runId, message } = await started(w);
    expect(await createVault(w.deps, message)).toBe('failed-run');
    expect((await w.memory.get(runId))!.lastError!.code).toBe('VAULT_TYPE_MISMATCH');
  });

  it('CBR refusing the vault fails the run with its code and request id; a 5xx is retried', async () => {
    const w = makeWorld();
    const { runId, message } = await started(w);
    w.cbr.failNext('createVault', new FakeCbrError(503, 'APIGW.0201', 'backend unavailable', true));
    await expect(createVault(w.deps, message)).rejects.toMatchObject({ httpStatus: 503 });
    expect((await w.memory.get(runId))!.state).toBe('PENDING');
    w.clock.advance(w.deps.settings.vaultLeaseMs);
    w.cbr.failNext('createVault', new FakeCbrError(400, 'BackupService.6101', 'Invalid vault capacity.', false, 'req-42'));
    expect(await createVault(w.deps, message)).toBe('failed-run');
    expect((await w.memory.get(runId))!.lastError).toMatchObject({ code: 'BackupService.6101', requestId: 'req-42', step: 'create-vault' });
  });

  it('gives up waiting for a lease after the retry budget', async () => {
    const w = makeWorld({ busyRetryMax: 2 });
    const { runId, message } = await started(w);
    await w.memory.acquireLease(vaultLeaseKey(PROJECT, 'ap-southeast-1', 'my_vault'), 'someone-else:x', w.clock.now(), 3_600_000);
    expect(await createVault(w.deps, message)).toBe('deferred');
    const again = w.bus.drain('vault')[0]!.message as MessageOf<'run.requested'>;
    expect(await createVault(w.deps, again)).toBe('failed-run');
    expect((await w.memory.get(runId))!).toMatchObject({ state: 'FAILED', lastError: { code: 'VAULT_LEASE_BUSY' } });
  });
});

describe('create-vault pre-flight', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

  it('more resources than SHOW_MAX are listed (50 a page, stopping once all are found) instead of one call each', async () => {
    const w = makeWorld();
    const servers = ids(60);
    // The project has 120 servers; the run's 60 are the first ones listed: two pages, not 60 shows.
    for (const id of [...servers, ...ids(120).slice(60).map((x) => x.replace('4000', '4001'))]) w.cbr.boundTo.set(id, 'none');
    const { runId, message } = await started(w, request({ resources: servers.map((id) => ({ id, type: 'OS::Nova::Server' })) }));
    expect(await createVault(w.deps, message)).toBe('done');
    expect(w.cbr.callCount('listProtectable')).toBe(2);
    expect(w.cbr.callCount('showProtectable')).toBe(0);
    expect((await w.memory.get(runId))!.timeline.find((e) => e.event === 'preflight-passed')?.detail).toBe('60 resource(s) checked with 2 CBR call(s)');
  });

  it('a deleted or not-protectable resource fails before CreateVault; a 403 on the listing skips the check, said on the timeline', async () => {
    const w = makeWorld();
    const original = w.cbr.showProtectable.bind(w.cbr);
    w.cbr.showProtectable = async (type, id) => {
      const r = await original(type, id);
      return id === SERVER_A ? { instance: { ...r.instance, status: 'DELETED' } } : { instance: { ...r.instance, protectable: { result: false, code: 'BackupService.6151', reason: 'agent missing' } } };
    };
    const { runId, message } = await started(w);
    expect(await createVault(w.deps, message)).toBe('failed-run');
    expect(w.cbr.callCount('createVault')).toBe(0);
    expect((await w.memory.get(runId))!.lastError!.details!.map((d) => [d.resourceId, d.problem, d.message])).toEqual([
      [SERVER_A, 'deleted', 'server is deleted'],
      [SERVER_B, 'not-protectable', 'CBR says it cannot be protected: BackupService.6151 agent missing'],
    ]);
    expect(w.memory.leases.get(vaultLeaseKey(PROJECT, 'ap-southeast-1', 'my_vault'))?.holder).toBeUndefined();

    const w2 = makeWorld();
    w2.cbr.failNext('showProtectable', new FakeCbrError(403, 'APIGW.0302', 'The IAM user is forbidden'));
    const second = await started(w2);
    expect(await createVault(w2.deps, second.message)).toBe('done');
    const run = (await w2.memory.get(second.runId))!;
    expect(run.timeline.find((e) => e.event === 'preflight-skipped')?.detail).toContain('APIGW.0302');
  });
});
