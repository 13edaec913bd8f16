/**
 * Issue 15 items 1-2 over real protocols (the emulator over HTTP, dynalite, local-aws-sqs): the run
 * accepts its shares on the receiving side with the receiving project's own credentials
 * (CBR_CREDENTIALS_MAP), a receiver without credentials stays pending, a required member not accepted
 * makes the run PARTIAL, and a time-boxed share is revoked by check-status's share sweep once the
 * (virtual) clock passes its lifetime. Crashes after UpdateMemberStatus and after DeleteMember, and
 * duplicate delivery, never accept, create a receiving vault or revoke twice.
 */
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../../emulator/index';
import { loadConfig } from '../../../lib/config';
import { projectCredentials } from '../../../lib/wiring/credentials';
import { notifyFinished, type NotifyDeps } from '../../../lib/pipeline/notify-run-finished';
import type { RunStore } from '../../../lib/ports';
import { systemClock } from '../../../lib/ports';
import { silentLogger } from '../../../lib/wiring/log';
import { UNREACHABLE_AWS_ENV } from '../../helpers/factories';
import { startLoopbackServer } from '../../helpers/loopback-server';
import { makeServers, PEER2, runBody, startHarness, type Harness } from '../../helpers/pipeline-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const servers = makeServers(14, 'share15');
const owner = { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk };
const peer = { type: 'aksk', ak: DEMO.peer.ak, sk: DEMO.peer.sk };
/** The owner and the peer have credentials; PEER2 (another account) has none. */
const credentials = projectCredentials(
  loadConfig({ STAGE: 'local', ...UNREACHABLE_AWS_ENV, WEBHOOK_AUTH: 'off', CBR_CREDENTIALS_MAP: JSON.stringify({ [DEMO.projectId]: owner, [DEMO.peer.projectId]: peer }) }),
);

async function harness(): Promise<Harness> {
  return startHarness({
    credentials,
    emulator: {
      seed: 1501,
      projects: [...DEMO.projects, PEER2],
      credentials: [...DEMO.credentials],
      users: [...DEMO.users],
      resources: [...DEMO.resources, ...servers],
    },
  });
}

/** Successful (2xx) CBR calls of an operation, e.g. one per acceptance actually made. */
const succeeded = (hh: Harness, operation: string) => hh.calls.filter((c) => c.operation === operation && c.status !== undefined && c.status < 300).length;

function vaultsNamed(hh: Harness, name: string) {
  return (hh.emulator.state.snapshot().vaults as Array<{ id: string; name: string; project_id: string }>).filter((v) => v.name === name);
}

function membersOf(hh: Harness, backupIds: ReadonlyArray<string>) {
  return (hh.emulator.state.snapshot().members as Array<{ backup_id: string; dest_project_id: string; status: string; vault_id: string | null }>).filter((m) => backupIds.includes(m.backup_id));
}

describe('two-sided shares', () => {
  it('accepted by the receiver with credentials (its vault found or created by exact name), pending for the one without; COMPLETED when only the accepted one is required', async () => {
    h = await harness();
    const started = performance.now();
    const body = runBody('s15_src', [servers[0]!.id, servers[1]!.id], {
      shareWith: [
        { projectId: DEMO.peer.projectId, vaultName: 's15_inbox' },
        { projectId: PEER2.id, vaultName: 's15_inbox2', required: false },
      ],
    });
    const { runId } = await h.startRun(body);
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('COMPLETED');

    const inbox = vaultsNamed(h, 's15_inbox');
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.project_id).toBe(DEMO.peer.projectId);
    expect(vaultsNamed(h, 's15_inbox2')).toEqual([]); // no credentials: nothing created there

    const backupIds = run.checkpoints.flatMap((c) => c.backups.map((b) => b.id));
    expect(backupIds).toHaveLength(2);
    const accepted = run.shares.filter((s) => s.projectId === DEMO.peer.projectId);
    expect(accepted.map((s) => [s.status, s.vaultId, s.required])).toEqual([
      ['accepted', inbox[0]!.id, true],
      ['accepted', inbox[0]!.id, true],
    ]);
    const pending = run.shares.filter((s) => s.projectId === PEER2.id);
    expect(pending.map((s) => [s.status, s.code])).toEqual([
      ['pending', 'NO_RECEIVER_CREDENTIALS'],
      ['pending', 'NO_RECEIVER_CREDENTIALS'],
    ]);
    // CBR's own view agrees.
    const members = membersOf(h, backupIds);
    expect(members.filter((m) => m.dest_project_id === DEMO.peer.projectId).map((m) => [m.status, m.vault_id])).toEqual([
      ['accepted', inbox[0]!.id],
      ['accepted', inbox[0]!.id],
    ]);
    expect(members.filter((m) => m.dest_project_id === PEER2.id).map((m) => m.status)).toEqual(['pending', 'pending']);
    expect(succeeded(h, 'UpdateMemberStatus')).toBe(2);
    expect(run.reason).toContain('2 member(s) accepted');
    console.log(`two-sided share run: ${(performance.now() - started).toFixed(0)} ms real`);
  });

  it('PARTIAL when a required member is not accepted, with the member and CBR/cbr-flow reason; a second run reuses the receiving vault', async () => {
    h = await harness();
    const first = await h.startRun(runBody('s15_p1', [servers[2]!.id], { shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_shared_inbox' }] }));
    const second = await h.startRun(
      runBody('s15_p2', [servers[3]!.id], { shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_shared_inbox' }, { projectId: PEER2.id, vaultName: 's15_never' }] }),
    );
    await h.drive({ runIds: [first.runId!, second.runId!] });
    expect((await h.run(first.runId!)).state).toBe('COMPLETED');
    const partial = await h.run(second.runId!);
    expect(partial.state).toBe('PARTIAL');
    expect(partial.reason).toContain(`required member(s) not accepted: member ${PEER2.id} of backup`);
    expect(partial.reason).toContain('pending (NO_RECEIVER_CREDENTIALS');
    expect(partial.lastError).toMatchObject({ code: 'SHARE_NOT_ACCEPTED', step: 'share-backup' });
    expect(vaultsNamed(h, 's15_shared_inbox')).toHaveLength(1); // both runs, one receiving vault
  });

  it('a receiving vault of the wrong type: the member fails with CBR 6713 and the run is PARTIAL', async () => {
    h = await harness();
    // A disk vault of that name in the receiving project: accepting a server backup into it is refused.
    const peerCbr = await h.deps.cbr({ projectId: DEMO.peer.projectId, region: DEMO.region });
    await peerCbr.createVault({
      vault: { name: 's15_disk_inbox', billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 100, charging_mode: 'post_paid' }, resources: [] },
    });
    const { runId } = await h.startRun(runBody('s15_wrong', [servers[4]!.id], { shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_disk_inbox' }] }));
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('PARTIAL');
    expect(run.shares.map((s) => [s.status, s.code])).toEqual([['failed', 'BackupService.6713']]);
  });
});

describe('time-boxed shares', () => {
  it('revoked by the share sweep once the clock passes ttlHours, recorded on the run; later sweeps revoke nothing more', async () => {
    h = await harness();
    const { runId } = await h.startRun(
      runBody('s15_ttl', [servers[5]!.id], { shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_ttl_inbox', ttlHours: 2 }, PEER2.id] }),
    );
    await h.drive({ runIds: [runId!] });
    const done = await h.run(runId!);
    expect(done.state).toBe('COMPLETED');
    const backupIds = done.checkpoints.flatMap((c) => c.backups.map((b) => b.id));
    const ttlShare = done.shares.find((s) => s.projectId === DEMO.peer.projectId)!;
    expect(ttlShare).toMatchObject({ status: 'accepted', expiresAt: ttlShare.sharedAt! + 2 * 3600_000 });
    expect(done.shareWatchAt).toBe(ttlShare.expiresAt);

    // Before the lifetime ends the sweep leaves it alone.
    h.clock.advance(3600_000);
    expect((await h.sweep()).shares).toMatchObject({ revoked: 0 });
    expect(membersOf(h, backupIds)).toHaveLength(2);

    h.clock.set(ttlShare.expiresAt! + 60_000);
    const s = await h.sweep();
    expect(s.shares).toMatchObject({ revoked: 1, errors: 0 });
    const after = await h.run(runId!);
    expect(after.shares.find((x) => x.projectId === DEMO.peer.projectId)).toMatchObject({ status: 'revoked', revokedAt: h.clock.now() });
    expect(after.shares.find((x) => x.projectId === PEER2.id)).toMatchObject({ status: 'pending' }); // no lifetime: untouched
    expect(after.timeline.at(-1)).toMatchObject({ event: 'shares', detail: '1 member(s) revoked (lifetime ended)' });
    expect(membersOf(h, backupIds).map((m) => m.dest_project_id)).toEqual([PEER2.id]);

    h.clock.advance(60_000);
    await h.sweep();
    expect(succeeded(h, 'DeleteMember')).toBe(1);
    expect(h.emf.filter((d) => d.SharesRevoked === 1)).toHaveLength(1);
  });

  it('a member still pending past SHARE_PENDING_ALERT_HOURS raises SharePendingTooLong once', async () => {
    h = await startHarness({
      credentials,
      settings: { sharePendingAlertMs: 3600_000 },
      emulator: { seed: 1502, projects: [...DEMO.projects, PEER2], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] },
    });
    const { runId } = await h.startRun(runBody('s15_alert', [servers[6]!.id], { shareWith: [PEER2.id] }));
    await h.drive({ runIds: [runId!] });
    h.clock.advance(3600_000 + 60_000);
    expect((await h.sweep()).shares).toMatchObject({ alerted: 1 });
    h.clock.advance(3600_000);
    expect((await h.sweep()).shares).toMatchObject({ alerted: 0, watches: 0 });
    expect(h.emf.filter((d) => d.SharePendingTooLong === 1)).toEqual([expect.objectContaining({ runId })]);
    expect((await h.run(runId!)).shares[0]).toMatchObject({ status: 'pending', alertedAt: expect.any(Number) });
  });

  it('...and sends one signed share.pending notification to the run\'s notifyUrl through the events queue (duplicate sweeps and deliveries: one webhook-id); a run without notifyUrl gets none', async () => {
    const key = `whsec_${Buffer.from('share pending notification key 32B').toString('base64')}`;
    const receiver = await startLoopbackServer(() => ({ status: 204 }));
    try {
      h = await startHarness({
        credentials,
        settings: { sharePendingAlertMs: 3600_000 },
        emulator: { seed: 1503, projects: [...DEMO.projects, PEER2], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] },
      });
      const notified = await h.startRun(runBody('s15_alert_n', [servers[7]!.id], { shareWith: [PEER2.id], notifyUrl: `${receiver.url}/hooks/shares?token=t0k` }));
      const silent = await h.startRun(runBody('s15_alert_s', [servers[8]!.id], { shareWith: [PEER2.id] }));
      await h.drive({ runIds: [notified.runId!, silent.runId!] });
      const sharedAt = (await h.run(notified.runId!)).shares[0]!.sharedAt!;
      h.clock.advance(3600_000 + 60_000);
      expect((await h.sweep()).shares).toMatchObject({ alerted: 2 });
      h.clock.advance(3600_000);
      expect((await h.sweep()).shares).toMatchObject({ alerted: 0 });
      await h.pump();
      const pending = h.events.filter((e) => e.type === 'share.pending');
      expect(pending.map((e) => e.runId)).toEqual([notified.runId]);

      const deps: NotifyDeps = { store: h.store as RunStore & NotifyDeps['store'], clock: systemClock, keys: async () => [key], settings: { allowLoopback: true, maxAttempts: 2, timeoutMs: 2000 }, log: silentLogger };
      const ctx = { deadlineAt: Date.now() + 30_000, receiveCount: 1, maxReceiveCount: 5 };
      for (const m of [...pending, ...pending]) expect(await notifyFinished(deps, m, ctx)).toBe('delivered'); // a duplicate delivery
      expect(receiver.requests).toHaveLength(2);
      const got = receiver.requests.map((r) => {
        const headers = { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) };
        return { id: headers['webhook-id'], url: r.url, body: new Webhook(key).verify(r.body, headers) as { type: string; data: Record<string, unknown> } };
      });
      expect(new Set(got.map((g) => g.id)).size).toBe(1); // receivers de-duplicate the redelivered one
      const run = await h.run(notified.runId!);
      expect(got[0]!.url).toBe('/hooks/shares?token=t0k');
      expect(got[0]!.body).toEqual({
        type: 'share.pending',
        timestamp: expect.any(String),
        data: {
          runId: notified.runId,
          projectId: run.request.projectId,
          region: run.request.region,
          memberProjectId: PEER2.id,
          backupId: run.shares[0]!.backupId,
          resourceId: servers[7]!.id,
          pendingSince: new Date(sharedAt).toISOString(),
          hours: 1,
        },
      });
      expect(run.notification).toBeUndefined(); // the run-finished record is not the share.pending one's
    } finally {
      await receiver.stop();
    }
  });
});

describe('time-boxed shares: settings', () => {
  it('SHARE_EXPIRY_ACCEPTED=keep leaves accepted members shared; SHARE_REVOKES_PER_SWEEP spreads revocations over sweeps', async () => {
    h = await startHarness({
      credentials,
      settings: { shareExpiryAccepted: 'keep', shareRevokesPerSweep: 1 },
      emulator: { seed: 1504, projects: [...DEMO.projects, PEER2], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] },
    });
    const { runId } = await h.startRun(
      runBody('s15_keep', [servers[10]!.id, servers[11]!.id], {
        shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_keep_inbox', ttlHours: 1 }, { projectId: PEER2.id, ttlHours: 1 }],
      }),
    );
    await h.drive({ runIds: [runId!] });
    const backupIds = (await h.run(runId!)).checkpoints.flatMap((c) => c.backups.map((b) => b.id));
    h.clock.advance(2 * 3600_000);
    expect((await h.sweep()).shares).toMatchObject({ revoked: 1 }); // budget 1 per sweep
    h.clock.advance(60_000);
    expect((await h.sweep()).shares).toMatchObject({ revoked: 1 });
    h.clock.advance(60_000);
    expect((await h.sweep()).shares).toMatchObject({ revoked: 0, watches: 0 }); // nothing left to watch
    const run = await h.run(runId!);
    expect(run.shares.map((s) => [s.projectId, s.status]).sort()).toEqual(
      [[DEMO.peer.projectId, 'accepted'], [DEMO.peer.projectId, 'accepted'], [PEER2.id, 'revoked'], [PEER2.id, 'revoked']].sort(),
    );
    expect(run.shareWatchAt).toBeUndefined();
    expect(membersOf(h, backupIds).map((m) => [m.dest_project_id, m.status])).toEqual([[DEMO.peer.projectId, 'accepted'], [DEMO.peer.projectId, 'accepted']]);
  });
});

describe('reliability of the new calls', () => {
  it('a crash after UpdateMemberStatus, after DeleteMember, and duplicate delivery: 0 duplicate acceptances, receiving vaults or revocations', async () => {
    h = await harness();
    h.crashAt('share-backup:after-accept', { times: 2 });
    h.crashAt('share-sweep:after-cbr');
    h.duplicates = { seed: 15, minCopies: 2, maxCopies: 3 };
    const bodies = [0, 1, 2].map((i) =>
      runBody(`s15_rel${i}`, [servers[7 + 2 * i]!.id, servers[8 + 2 * i]!.id], {
        shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_rel_inbox', ttlHours: 1 }],
      }),
    );
    const ids = (await Promise.all(bodies.map((b) => h!.startRun(b)))).map((r) => r.runId!);
    const drive = await h.drive({ runIds: ids });
    expect(drive.done).toBe(true);
    expect(h.crashes.filter((c) => c.point === 'share-backup:after-accept')).toHaveLength(2);
    const runs = await Promise.all(ids.map((id) => h!.run(id)));
    expect(runs.map((r) => r.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const members = runs.reduce((n, r) => n + r.shares.length, 0);
    expect(runs.flatMap((r) => r.shares.map((s) => s.status))).toEqual(Array(members).fill('accepted'));
    expect(succeeded(h, 'UpdateMemberStatus')).toBe(members); // one acceptance per member
    expect(vaultsNamed(h, 's15_rel_inbox')).toHaveLength(1); // one receiving vault for all runs

    h.duplicates = undefined;
    h.clock.advance(3 * 3600_000);
    const killed = await h.sweep();
    expect(killed.killed).toBe(true);
    for (let i = 0; i < 3; i++) {
      h.clock.advance(60_000);
      await h.sweep();
    }
    const after = await Promise.all(ids.map((id) => h!.run(id)));
    expect(after.flatMap((r) => r.shares.map((s) => s.status))).toEqual(Array(members).fill('revoked'));
    expect(succeeded(h, 'DeleteMember')).toBe(members); // one revocation per member, the crashed one included
    expect(membersOf(h, runs.flatMap((r) => r.checkpoints.flatMap((c) => c.backups.map((b) => b.id))))).toEqual([]);
    console.log(`share crash/duplicate run: virtual ${Math.round(drive.virtualMs / 1000)} s, real ${Math.round(drive.realMs)} ms, ${h.delivery.records} records delivered (${h.delivery.extraCopies} extra copies)`);
  }, 120_000);

  it('API faults whose call took effect but whose answer was lost (CreateVault, UpdateMemberStatus, DeleteMember): each done once in CBR', async () => {
    h = await startHarness({
      credentials,
      emulator: {
        seed: 1503,
        faults: [
          { id: 'cv', operations: ['CreateVault'], error: { rate: 1, statuses: [502], phase: 'after' }, times: 1 },
          { id: 'ums', operations: ['UpdateMemberStatus'], error: { rate: 1, statuses: [500], phase: 'after' }, times: 2 },
          { id: 'dm', operations: ['DeleteMember'], error: { rate: 1, statuses: [503], phase: 'after' }, times: 1 },
        ],
        projects: [...DEMO.projects, PEER2],
        credentials: [...DEMO.credentials],
        users: [...DEMO.users],
        resources: [...DEMO.resources, ...servers],
      },
    });
    const { runId } = await h.startRun(runBody('s15_flt', [servers[0]!.id, servers[1]!.id], { shareWith: [{ projectId: DEMO.peer.projectId, vaultName: 's15_flt_inbox', ttlHours: 1 }] }));
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.shares.map((s) => s.status)).toEqual(['accepted', 'accepted']);
    const ops = h.emulator.state.requestCounts.byOperation as Record<string, number>;
    const lost = (op: string, status: number) => h!.calls.filter((c) => c.operation === op && c.status === status).length;
    expect([lost('CreateVault', 502), lost('UpdateMemberStatus', 500)]).toEqual([1, 2]); // the faults did fire
    // The lost CreateVault answer: the receiving vault was found by name afterwards, not created again.
    expect(vaultsNamed(h, 's15_flt_inbox')).toHaveLength(1);
    // Every UpdateMemberStatus that reached CBR took effect, and none was sent for an accepted member.
    expect(ops.UpdateMemberStatus).toBe(2);
    h.clock.advance(2 * 3600_000);
    await h.sweep(); // one DeleteMember took effect, its answer lost: the run keeps the watch
    h.clock.advance(60_000);
    await h.sweep();
    expect((await h.run(runId!)).shares.map((s) => s.status)).toEqual(['revoked', 'revoked']);
    // 2 revocations; the lost answer's member was asked once more and answered 6705 (already gone).
    expect(lost('DeleteMember', 503)).toBe(1);
    expect(ops.DeleteMember).toBe(3);
    expect(h.calls.filter((c) => c.operation === 'DeleteMember' && c.errorCode === 'BackupService.6705')).toHaveLength(1);
  });
});
