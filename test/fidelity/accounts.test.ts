/**
 * Many accounts from one deployment (issue 13 item 4): CBR_CREDENTIALS_MAP gives each project the
 * credentials of its own account. The emulator checks every signature against the AK's account (domain)
 * and refuses a project of another domain, so a run only completes when its calls were signed with its
 * project's AK/SK. Credentials come from the real loader (lib/wiring/credentials.ts, inline entries as on
 * the local stage); the runs go over HTTP through the harness.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { loadConfig } from '../../lib/config';
import { projectCredentials } from '../../lib/wiring/credentials';
import { runBody, startHarness, type Harness } from '../helpers/pipeline-harness';
import { UNREACHABLE_AWS_ENV } from '../helpers/factories';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const BASE_ENV = {
  STAGE: 'local',
  ...UNREACHABLE_AWS_ENV,
  WEBHOOK_AUTH: 'off',
};
const owner = { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk };
const peer = { type: 'aksk', ak: DEMO.peer.ak, sk: DEMO.peer.sk };
const credentialsFor = (map: Record<string, unknown>) => projectCredentials(loadConfig({ ...BASE_ENV, CBR_CREDENTIALS_MAP: JSON.stringify(map) }));

describe('credentials per project (CBR_CREDENTIALS_MAP)', () => {
  it('two projects of two accounts, each with its own AK/SK: both runs complete', async () => {
    h = await startHarness({ credentials: credentialsFor({ [DEMO.projectId]: owner, [DEMO.peer.projectId]: peer }) });
    const ownerRun = await h.startRun(runBody('owner_vault', [DEMO.servers[0].id]));
    const peerRun = await h.startRun(runBody('peer_vault', [DEMO.peer.servers[0].id], { projectId: DEMO.peer.projectId, shareWith: [DEMO.projectId] }));
    await h.drive({ runIds: [ownerRun.runId!, peerRun.runId!] });
    expect(await h.run(ownerRun.runId!)).toMatchObject({ state: 'COMPLETED', vault: { name: 'owner_vault' } });
    expect(await h.run(peerRun.runId!)).toMatchObject({ state: 'COMPLETED', vault: { name: 'peer_vault' } });
    const vaults = h.emulator.state.snapshot().vaults as Array<{ name: string; project_id: string }>;
    expect(vaults.map((v) => [v.name, v.project_id]).sort()).toEqual([['owner_vault', DEMO.projectId], ['peer_vault', DEMO.peer.projectId]]);
    // Each account signed its own project's calls: no signature or project refusal on the way.
    expect(h.calls.filter((c) => c.status === 401 || c.status === 403)).toEqual([]);
  });

  it('the wrong account for a project is refused by CBR (the map matters), and a project with no entry and no "*" fails with CREDENTIALS_NOT_MAPPED', async () => {
    h = await startHarness({ credentials: credentialsFor({ [DEMO.projectId]: peer }) });
    const crossed = await h.startRun(runBody('crossed_vault', [DEMO.servers[0].id]));
    const unmapped = await h.startRun(runBody('unmapped_vault', [DEMO.peer.servers[0].id], { projectId: DEMO.peer.projectId, shareWith: [] }));
    await h.drive({ runIds: [crossed.runId!, unmapped.runId!] });

    const wrong = await h.run(crossed.runId!);
    expect(wrong.state).toBe('FAILED');
    expect(wrong.vault).toBeUndefined();
    expect(wrong.lastError).toMatchObject({ code: 'APIGW.0302', message: expect.stringContaining(`project ${DEMO.projectId} is not accessible to this AK`) });

    const run = await h.run(unmapped.runId!);
    expect(run).toMatchObject({ state: 'FAILED', lastError: { code: 'CREDENTIALS_NOT_MAPPED', step: 'create-vault' } });
    expect(run.reason).toContain(`no CBR credentials for project ${DEMO.peer.projectId}`);
    expect(run.reason).toContain(`add "${DEMO.peer.projectId}"`);
    expect(h.emulator.state.snapshot().vaults).toEqual([]);
  });
});
