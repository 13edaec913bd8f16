import { describe, expect, it } from 'vitest';
import { makeWorld, PEER, PEER2, request, SERVER_A, SERVER_B } from './world';

describe('a whole run on in-memory ports', () => {
  it('goes vault -> resources -> checkpoint -> checker -> share -> COMPLETED', async () => {
    const w = makeWorld();
    const run = await w.runToEnd(request({ shareWith: [PEER, PEER2] }));
    expect(run.state).toBe('COMPLETED');
    expect(run.step).toBe('done');
    expect(run.due).toBeUndefined();
    expect(run.expiresAt).toBeGreaterThan(w.clock.now() / 1000);
    expect(w.cbr.vaults.size).toBe(1);
    expect(w.cbr.checkpoints.size).toBe(1);
    const [cp] = [...w.cbr.checkpoints.values()];
    expect(cp!.name).toBe(`cbrflow_${run.runId.replace(/-/g, '')}`);
    for (const b of w.cbr.backups) expect([...w.cbr.members.get(b.id)!.keys()].sort()).toEqual([PEER, PEER2].sort());
    expect(run.shares).toHaveLength(4);
    expect(run.timeline.map((e) => e.event)).toEqual(
      expect.arrayContaining(['requested', 'vault-created', 'resources-bound', 'intent', 'checkpoint-started', 'checkpoint-available', 'checkpoints-finished', 'completed']),
    );
    const finished = w.bus.on('events').filter((m) => m.type === 'run.finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]!.data).toMatchObject({ state: 'COMPLETED' });
  });

  it('every message delivered three times still makes one vault, one checkpoint, one member per (backup, project)', async () => {
    const w = makeWorld();
    const run = await w.runToEnd(request(), { copies: 3 });
    expect(run.state).toBe('COMPLETED');
    expect(w.cbr.callCount('createVault')).toBe(1);
    expect(w.cbr.callCount('createCheckpoint')).toBe(1);
    expect(w.cbr.callCount('addVaultResource')).toBe(1);
    expect(w.cbr.callCount('addMember')).toBe(2);
    expect(w.cbr.backups.map((b) => w.cbr.members.get(b.id)?.size)).toEqual([1, 1]);
  });

  it('asks the CBR client to repeat AddVaultResource and AddMember on retryable failures (idempotent), the only POSTs it may repeat', async () => {
    const w = makeWorld();
    const opts: Record<string, unknown[]> = {};
    for (const op of ['addVaultResource', 'addMember', 'createVault', 'createCheckpoint'] as const) {
      const original = (w.cbr[op] as (...a: unknown[]) => Promise<unknown>).bind(w.cbr);
      (w.cbr as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
        (opts[op] ??= []).push(op === 'addVaultResource' || op === 'addMember' ? args[2] : args[1]);
        return original(...args);
      };
    }
    expect((await w.runToEnd(request({ shareWith: [PEER] }))).state).toBe('COMPLETED');
    expect(opts.addVaultResource).toEqual([{ idempotent: true }]);
    expect(opts.addMember).toEqual([{ idempotent: true }, { idempotent: true }]);
    // Not safe to repeat blindly (no client token): never marked idempotent.
    for (const o of [...opts.createVault!, ...opts.createCheckpoint!]) expect((o as { idempotent?: boolean } | undefined)?.idempotent).not.toBe(true);
  });

  it('two runs wanting the same vault name share one vault', async () => {
    const w = makeWorld();
    const first = await w.runToEnd(request({ resources: [{ id: SERVER_A, type: 'OS::Nova::Server' }] }));
    const second = await w.runToEnd(request({ resources: [{ id: SERVER_B, type: 'OS::Nova::Server' }] }));
    expect([first.state, second.state]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(w.cbr.vaults.size).toBe(1);
    expect(second.vault).toMatchObject({ id: first.vault!.id, created: false });
  });

  it('a checkpoint that ends in error ends the run FAILED with the reason and run.finished', async () => {
    const w = makeWorld();
    const run = await w.runToEnd(request(), { finish: 'error' });
    expect(run.state).toBe('FAILED');
    expect(run.reason).toMatch(/no backup succeeded .*error.*CBR: .*BackupService.0002 snapshot of .* failed/);
    expect(run.lastError).toMatchObject({ code: 'BackupService.0002' });
    expect(w.cbr.callCount('addMember')).toBe(0);
    expect(w.bus.on('events').find((m) => m.type === 'run.finished')!.data).toMatchObject({ state: 'FAILED' });
  });
});
