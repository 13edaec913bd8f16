/**
 * Orphaned vaults (issue 13 item 2): a vault cbr-flow created for a run that then failed is found from
 * the run records and deleted through the client only when asked for by id, and only while it holds no
 * resource and no backup unless forced. Over HTTP against the emulator, the runs driven by the harness.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { deleteOrphanedVault, listOrphanedVaults } from '../../lib/pipeline/orphaned-vaults';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const servers = makeServers(3, 'orph');
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const emulatorOptions = { seed: 17, projects: [...DEMO.projects], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] };
/** The next AddVaultResource is refused for good (after the vault was created): the run fails, its vault stays. */
const failNextAdd = () => h!.emulator.faults.add({ operations: ['AddVaultResource'], error: { rate: 1, statuses: [400], errorCode: 'BackupService.6302', errorMsg: 'The resource does not exist.' }, times: 1 });
/** Vaults the emulator still has (a deleted vault is `deleting` until CBR has removed it). */
const vaultIds = () => h!.emulator.state.snapshot().vaults.filter((v) => (v as { billing?: { status?: string } }).billing?.status !== 'deleting').map((v) => v.id);

describe('orphaned vaults', () => {
  it('lists the vault of a run that failed after creating it, not one a later run used; deletes it only by id, empty', async () => {
    h = await startHarness({ emulator: emulatorOptions });
    const deps = { store: h.store, cbr: h.deps.cbr };

    failNextAdd();
    const lost = await h.startRun(runBody('orphan_vault', [servers[0]!.id]));
    await h.drive({ runIds: [lost.runId!] });
    const lostRun = await h.run(lost.runId!);
    expect(lostRun.state).toBe('FAILED');
    expect(lostRun.vault).toMatchObject({ name: 'orphan_vault', created: true });

    failNextAdd();
    const healed = await h.startRun(runBody('used_again', [servers[1]!.id]));
    await h.drive({ runIds: [healed.runId!] });
    const healedRun = await h.run(healed.runId!);
    expect(healedRun.state).toBe('FAILED');
    const again = await h.startRun(runBody('used_again', [servers[1]!.id]));
    await h.drive({ runIds: [again.runId!] });
    expect(await h.run(again.runId!)).toMatchObject({ state: 'COMPLETED', vault: { id: healedRun.vault!.id, created: false } });

    const orphans = await listOrphanedVaults(h.store);
    expect(orphans).toEqual([expect.objectContaining({ vaultId: lostRun.vault!.id, vaultName: 'orphan_vault', runId: lost.runId, state: 'FAILED', projectId: DEMO.projectId })]);

    // A vault that is not an orphan is never deleted.
    await expect(deleteOrphanedVault(deps, healedRun.vault!.id)).rejects.toMatchObject({ code: 'VAULT_NOT_ORPHANED' });
    expect(vaultIds()).toContain(healedRun.vault!.id);

    const result = await deleteOrphanedVault(deps, lostRun.vault!.id);
    expect(result).toMatchObject({ deleted: true, resources: 0, backups: 0 });
    expect(vaultIds()).not.toContain(lostRun.vault!.id);
    expect(h.calls.filter((c) => c.operation === 'DeleteVault').map((c) => c.path)).toEqual([expect.stringContaining(lostRun.vault!.id)]);
  });

  it('an orphan holding resources and backups is kept unless forced', async () => {
    h = await startHarness({ emulator: emulatorOptions });
    const deps = { store: h.store, cbr: h.deps.cbr };
    h.emulator.faults.scriptCheckpoint({ outcome: 'error', reason: 'snapshot failed' });
    const started = await h.startRun(runBody('full_orphan', [servers[2]!.id]));
    await h.drive({ runIds: [started.runId!] });
    const run = await h.run(started.runId!);
    expect(run.state).toBe('FAILED');
    const vaultId = run.vault!.id;

    await expect(deleteOrphanedVault(deps, vaultId)).rejects.toMatchObject({ code: 'VAULT_NOT_EMPTY', resources: 1, backups: 1 });
    expect(vaultIds()).toContain(vaultId);
    expect(await deleteOrphanedVault(deps, vaultId, { force: true })).toMatchObject({ deleted: true, resources: 1 });
    expect(vaultIds()).not.toContain(vaultId);
  });
});
