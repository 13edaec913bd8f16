// cbr-flow's own client (lib/cbr) driving the emulator over HTTP: the main flows of a backup run, both auth
// methods, error mapping and retries against injected faults. If these pass, client and emulator agree on
// the wire; the official-SDK tests make sure the emulator agrees with Huawei.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIamTokenProvider } from '../../lib/cbr/auth';
import { createCbrClient, type CbrClient } from '../../lib/cbr/client';
import { CbrApiError } from '../../lib/cbr/errors';
import type { CallEvent } from '../../lib/cbr/http';
import type { CreateVaultRequest } from '../../lib/cbr/schemas';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator, EmulatorOptions } from '../../emulator/index';
import { server, SERVER_A, SERVER_B } from './helpers';

function vaultBody(name: string, extra: { resources?: CreateVaultRequest['vault']['resources'] } = {}): CreateVaultRequest {
  return {
    vault: {
      name,
      billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 200 },
      resources: extra.resources ?? [],
    },
  };
}

let emu: Emulator;
let events: CallEvent[];
async function boot(o: EmulatorOptions = {}) {
  await emu?.stop();
  emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 8_000, backupDeleteMs: 3_000 }, ...o });
}
beforeEach(async () => {
  events = [];
  await boot();
});
afterEach(() => emu.stop());

function client(o: { projectId?: string; ak?: string; sk?: string; retry?: { maxAttempts?: number; baseDelayMs?: number }; timeoutMs?: number; memberIdInPath?: 'project-id' | 'member-id' } = {}): CbrClient {
  return createCbrClient({
    region: DEMO.region,
    projectId: o.projectId ?? DEMO.projectId,
    endpoint: emu.url,
    auth: { type: 'aksk', ak: o.ak ?? DEMO.ak, sk: o.sk ?? DEMO.sk },
    now: () => new Date(emu.clock.now()),
    retry: { baseDelayMs: 1, ...o.retry },
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.memberIdInPath ? { memberIdInPath: o.memberIdInPath } : {}),
    onCall: (e) => events.push(e),
  });
}

async function failure(p: Promise<unknown>): Promise<CbrApiError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CbrApiError);
  return e as CbrApiError;
}

describe('lib/cbr against the emulator', () => {
  it('a whole run: vault, resources, checkpoint, poll, backups, share, accept', async () => {
    const cbr = client();
    const vault = (await cbr.createVault(vaultBody('run-1'), { idempotent: false })).vault!;
    expect((await cbr.listVault({ name: 'run-1' })).vaults.map((v) => v.id)).toEqual([vault.id]);
    await cbr.addVaultResource(vault.id, { resources: [server(SERVER_A), server(SERVER_B)] });
    const { checkpoint } = await cbr.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { name: 'run-1', incremental: true } } });
    expect(checkpoint.status).toBe('protecting');
    expect((await cbr.showCheckpoint(checkpoint.id)).checkpoint.status).toBe('protecting');
    emu.clock.advance(8_000);
    expect((await cbr.showCheckpoint(checkpoint.id)).checkpoint.status).toBe('available');

    const backups = [];
    for await (const b of cbr.paginateBackups({ checkpoint_id: checkpoint.id }, { pageSize: 1 })) backups.push(b);
    expect(backups.map((b) => b.resource_id).sort()).toEqual([SERVER_A, SERVER_B].sort());
    expect(events.filter((e) => e.operation === 'ListBackups').length).toBeGreaterThanOrEqual(2);

    const shared = await cbr.addMember(backups[0]!.id, { members: [DEMO.peerProjectId] });
    expect(shared.members[0]!.status).toBe('pending');
    const peer = client({ projectId: DEMO.peerProjectId, ak: DEMO.peer.ak, sk: DEMO.peer.sk });
    const inbox = (await peer.createVault(vaultBody('inbox'))).vault;
    const accepted = await peer.updateMemberStatus(backups[0]!.id, DEMO.peerProjectId, { status: 'accepted', vault_id: inbox!.id });
    expect(accepted.member.status).toBe('accepted');
    expect((await peer.listBackups({ own_type: 'shared' })).count).toBe(1);
    const logs = await cbr.listOpLogs({ operation_type: 'backup' });
    expect(logs.operation_logs.every((o) => o.status === 'success')).toBe(true);
    expect(emu.state.requestCounts.byOperation.CreateCheckpoint).toBe(1);
  });

  it("member ids (issue 10 item 5): {member_id} is the member's project id by default; 'member-id' on both sides uses the record id", async () => {
    const share = async (cbr: CbrClient) => {
      const { vault } = await cbr.createVault(vaultBody("shared", { resources: [server(SERVER_A)] }));
      const { checkpoint } = await cbr.createCheckpoint({ checkpoint: { vault_id: vault!.id } });
      emu.clock.advance(8_000);
      const { backups } = await cbr.listBackups({ checkpoint_id: checkpoint.id });
      const backup = backups.find((b) => !b.parent_id)!;
      const { members } = await cbr.addMember(backup.id, { members: [DEMO.peerProjectId] });
      return { backupId: backup.id, member: members[0]! };
    };
    // Default: the destination project id.
    const cbr = client();
    const first = await share(cbr);
    expect((await cbr.showMemberDetail(first.backupId, DEMO.peerProjectId)).member.dest_project_id).toBe(DEMO.peerProjectId);
    await expect(cbr.showMemberDetail(first.backupId, first.member.id!)).rejects.toMatchObject({ field: 'memberId', message: expect.stringContaining("memberIdInPath is 'project-id'") });

    // The other reading: the emulator's quirk and the client's option together.
    await boot({ quirks: { memberIdInPath: 'member-id' } });
    const byRecord = client({ memberIdInPath: 'member-id' });
    const second = await share(byRecord);
    expect((await byRecord.showMemberDetail(second.backupId, second.member.id!)).member.id).toBe(second.member.id);
    const peer = client({ projectId: DEMO.peerProjectId, ak: DEMO.peer.ak, sk: DEMO.peer.sk, memberIdInPath: 'member-id' });
    expect((await peer.updateMemberStatus(second.backupId, second.member.id!, { status: 'rejected' })).member.status).toBe('rejected');
    await byRecord.deleteMember(second.backupId, second.member.id!);
    // A project id in the path does not name a member under this reading.
    const mixed = client();
    expect(await failure(mixed.showMemberDetail(second.backupId, DEMO.peerProjectId))).toMatchObject({ httpStatus: 400 });
  });

  it('IAM token auth through createIamTokenProvider', async () => {
    const tokens = createIamTokenProvider({
      iamEndpoint: emu.url,
      region: DEMO.region,
      user: DEMO.user,
      project: { name: DEMO.projectName },
      now: () => new Date(emu.clock.now()),
    });
    const cbr = createCbrClient({ region: DEMO.region, projectId: DEMO.projectId, endpoint: emu.url, auth: { type: 'token', tokens } });
    await cbr.createVault(vaultBody('by-token'));
    expect((await cbr.listVault()).count).toBe(1);
    expect(emu.state.requestCounts.byOperation.KeystoneCreateUserTokenByPassword).toBe(1);
  });

  it('maps the emulator errors: 6103, 404 notFound, 401 APIGW.0301, and the Malformed request url quirk', async () => {
    const cbr = client();
    await cbr.createVault(vaultBody('a', { resources: [server(SERVER_A)] }));
    const taken = await failure(cbr.createVault(vaultBody('b', { resources: [server(SERVER_A)] })));
    expect(taken).toMatchObject({ httpStatus: 400, errorCode: 'BackupService.6103', notFound: false });
    expect(taken.requestId).toMatch(/^[0-9a-f]{32}$/);
    const missing = await failure(cbr.showVault('00000000-0000-4000-8000-000000000000'));
    expect(missing).toMatchObject({ httpStatus: 404, errorCode: 'BackupService.6105', notFound: true });
    const badKey = await failure(client({ sk: 'wrong' }).listVault());
    expect(badKey).toMatchObject({ httpStatus: 401, errorCode: 'APIGW.0301' });
    await boot({ quirks: { missingCheckpoint: '401-malformed' } });
    const quirk = await failure(client().showCheckpoint('00000000-0000-4000-8000-00000000000c'));
    expect(quirk).toMatchObject({ httpStatus: 401, notFound: true });
  });

  it('retries GETs through injected 503/429 and never repeats a non-idempotent POST', async () => {
    const cbr = client({ retry: { maxAttempts: 3 } });
    emu.faults.add({ operations: ['ListVault'], error: { rate: 1, statuses: [503] }, times: 2 });
    expect((await cbr.listVault()).count).toBe(0);
    expect(emu.state.requestCounts.byOperation.ListVault).toBe(3);
    emu.faults.add({ operations: ['ListVault'], error: { rate: 1, statuses: [429], retryAfterSeconds: 0 }, times: 1 });
    await cbr.listVault();
    expect(emu.state.requestCounts.byOperation.ListVault).toBe(5);
    emu.faults.add({ operations: ['CreateVault'], error: { rate: 1, statuses: [502] }, times: 1 });
    expect(await failure(cbr.createVault(vaultBody('once')))).toMatchObject({ httpStatus: 502 });
    expect(emu.state.requestCounts.byOperation.CreateVault).toBe(1);
  });

  it('a hang past the client timeout surfaces as a timeout, and is retried for GETs', async () => {
    const cbr = client({ timeoutMs: 200, retry: { maxAttempts: 2 } });
    emu.faults.add({ operations: ['ListVault'], hang: { rate: 1 }, times: 1 });
    expect((await cbr.listVault()).count).toBe(0);
    expect(emu.state.requestCounts.byOperation.ListVault).toBe(2);
    emu.faults.add({ operations: ['ListVault'], reset: { rate: 1 }, times: 2 });
    const e = await failure(cbr.listVault());
    expect(e.kind).toBe('network');
  });
});
