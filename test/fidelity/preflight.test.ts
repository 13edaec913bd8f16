/**
 * Pre-flight before anything billable (issue 13 item 2), over HTTP against the emulator: a run whose
 * resources cannot all be backed up (bound to another vault, unknown, a disk sent as a server) fails
 * before CreateVault, naming each resource, its problem and the holding vault, and the emulator has no
 * new vault. A good run is unchanged (one ShowProtectable per resource), and a resource already in the
 * run's own (reused) vault is fine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const servers = makeServers(3, 'pre');
const UNKNOWN = '5f0c3a7e-1d2b-4c8e-9a6f-0b1c2d3e4f50';
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const emulatorOptions = { seed: 13, projects: [...DEMO.projects], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] };
const count = (op: string) => h!.calls.filter((c) => c.operation === op).length;

describe('pre-flight: resources are checked before any vault is created', () => {
  it('a bound, an unknown and a wrong-type resource: FAILED before CreateVault with every problem; the emulator has no new vault', async () => {
    h = await startHarness({ emulator: emulatorOptions });
    const [s0, s1] = [servers[0]!.id, servers[1]!.id];
    const first = await h.startRun(runBody('holder_vault', [s0]));
    await h.drive({ runIds: [first.runId!] });
    const holder = await h.run(first.runId!);
    expect(holder.state).toBe('COMPLETED');
    const vaultsBefore = h.emulator.state.snapshot().vaults.map((v) => v.id);
    const createsBefore = count('CreateVault');

    const disk = servers[2]!.disks[0]!.id; // a volume id sent as a server
    const bad = await h.startRun(runBody('second_vault', [s1, s0, UNKNOWN, disk]));
    await h.drive({ runIds: [bad.runId!] });
    const run = await h.run(bad.runId!);

    expect(run.state).toBe('FAILED');
    expect(run.vault).toBeUndefined();
    expect(run.lastError).toMatchObject({ code: 'PREFLIGHT_FAILED', step: 'create-vault' });
    expect(run.lastError!.details).toEqual([
      expect.objectContaining({ resourceId: s0, problem: 'bound-elsewhere', vault: { id: holder.vault!.id, name: 'holder_vault' } }),
      expect.objectContaining({ resourceId: UNKNOWN, problem: 'not-found' }),
      expect.objectContaining({ resourceId: disk, problem: 'wrong-type' }),
    ]);
    const [bound, unknown, wrong] = run.lastError!.details!;
    expect(bound!.message).toContain(`vault 'holder_vault' (${holder.vault!.id})`);
    expect(bound!.message).toContain('mode: "reuse", name: "holder_vault"');
    expect(unknown!.message).toContain(`not found as server in project ${DEMO.projectId}`);
    expect(wrong!.message).toContain('declared server (OS::Nova::Server), is a disk (volume) (OS::Cinder::Volume)');
    expect(run.reason).toContain(s0);
    expect(run.reason).toContain(UNKNOWN);
    expect(run.reason).toContain(disk);

    // Nothing billable: no CreateVault call, no new vault in the emulator, and the name lease is free.
    expect(count('CreateVault')).toBe(createsBefore);
    expect(h.emulator.state.snapshot().vaults.map((v) => v.id)).toEqual(vaultsBefore);
    expect(h.emulator.state.snapshot().vaults.some((v) => v.name === 'second_vault')).toBe(false);
  });

  it('a deleted server: CBR still answers it, with status "deleted"; the run fails before CreateVault naming it', async () => {
    h = await startHarness({ emulator: emulatorOptions });
    const [gone, kept] = [servers[0]!.id, servers[1]!.id];
    expect(h.emulator.state.deleteResource(gone)).toBe(true);
    const started = await h.startRun(runBody('gone_vault', [kept, gone]));
    await h.drive({ runIds: [started.runId!] });
    const run = await h.run(started.runId!);
    expect(run).toMatchObject({ state: 'FAILED', lastError: { code: 'PREFLIGHT_FAILED' } });
    expect(run.lastError!.details).toEqual([{ resourceId: gone, declaredType: 'OS::Nova::Server', problem: 'deleted', message: 'server is deleted' }]);
    expect(count('CreateVault')).toBe(0);
    expect(h.emulator.state.snapshot().vaults).toEqual([]);
  });

  it('a good run is unchanged: one ShowProtectable per resource, then CreateVault, COMPLETED', async () => {
    h = await startHarness({ emulator: emulatorOptions });
    const ids = servers.map((s) => s.id);
    const started = await h.startRun(runBody('happy_vault', ids));
    await h.drive({ runIds: [started.runId!] });
    const run = await h.run(started.runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.vault).toMatchObject({ name: 'happy_vault', created: true });
    expect(count('ShowProtectable')).toBe(ids.length);
    expect(count('ListProtectable')).toBe(0);
    expect(run.timeline.find((e) => e.event === 'preflight-passed')?.detail).toBe(`${ids.length} resource(s) checked with ${ids.length} CBR call(s)`);
  });

  it('resources already in the run\'s own vault pass: a reuse run of the holding vault completes', async () => {
    h = await startHarness({ emulator: emulatorOptions });
    const s0 = servers[0]!.id;
    const first = await h.startRun(runBody('own_vault', [s0]));
    await h.drive({ runIds: [first.runId!] });
    expect((await h.run(first.runId!)).state).toBe('COMPLETED');

    const shows = count('ShowProtectable');

    const again = await h.startRun(runBody('own_vault', [s0, servers[1]!.id], { vault: { mode: 'reuse', name: 'own_vault' } }));
    await h.drive({ runIds: [again.runId!] });
    const run = await h.run(again.runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.vault).toMatchObject({ name: 'own_vault', created: false });
    // What the vault already holds (ListVault lists it) is not looked up again: one call, for the new server.
    expect(count('ShowProtectable') - shows).toBe(1);
    expect(run.timeline.find((e) => e.event === 'preflight-passed')?.detail).toBe('1 resource(s) checked with 1 CBR call(s), 1 already in the vault');
  });
});
