/**
 * A server deleted while in a vault: CBR keeps listing it with `protect_status: "deleted"` (recorded
 * ListVault answers). The emulator reproduces it (DELETE /admin/resources/{id}), and a run against that
 * vault (found by name, then read by add-resources) completes (issue 10 item 3).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const servers = makeServers(2, 'gone');
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('a vault listing a deleted server', () => {
  it('shows protect_status "deleted", and a run against that vault completes', async () => {
    h = await startHarness({ emulator: { seed: 11, projects: [...DEMO.projects], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] } });
    const [a, b] = [servers[0]!.id, servers[1]!.id];
    const first = await h.startRun(runBody('with_gone', [a, b]));
    await h.drive({ runIds: [first.runId!] });
    expect((await h.run(first.runId!)).state).toBe('COMPLETED');

    expect(h.emulator.state.deleteResource(a)).toBe(true);
    const vault = h.emulator.state.snapshot().vaults.find((v) => v.name === 'with_gone') as { resources: Array<{ id: string; protect_status: string }> };
    expect(vault.resources.find((r) => r.id === a)?.protect_status).toBe('deleted');

    const second = await h.startRun(runBody('with_gone', [b]));
    await h.drive({ runIds: [second.runId!] });
    const run = await h.run(second.runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.vault).toMatchObject({ name: 'with_gone', created: false });
    expect(run.checkpoints[0]?.backups.map((x) => [x.resourceId, x.status])).toEqual([[b, 'available']]);
  });
});
