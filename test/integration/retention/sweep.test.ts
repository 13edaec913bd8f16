/**
 * The retention sweep against the CBR emulator over HTTP (cbr-flow's own client, manual clock): it
 * deletes exactly what the rules let go — never a held or a foreign backup —, converges after dying
 * between DeleteBackup and its ledger record (no second DeleteBackup), records CBR's refusals and
 * retries them, and deletes exactly what the preview listed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { placeHold, releaseHold } from '../../../lib/retention/holds';
import { planSweep, previewView, sweepRetention, type SweepResult } from '../../../lib/retention/sweep';
import { DAY_MS, startRetentionWorld, type RetentionWorld } from '../../helpers/retention-world';

let world: RetentionWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const deleteCalls = (w: RetentionWorld) => w.emu.state.requestCounts.byOperation.DeleteBackup ?? 0;
const everyone = () => true;

/** Ten daily runs of two servers (newest last) and two foreign checkpoints (4 backups). */
async function tenDays(w: RetentionWorld): Promise<string[]> {
  const runIds: string[] = [];
  await w.foreignBackup();
  for (let d = 0; d < 10; d++) {
    runIds.push(await w.backup());
    w.advance(DAY_MS - 2_000);
  }
  await w.foreignBackup();
  return runIds;
}

async function sweep(w: RetentionWorld): Promise<SweepResult> {
  const r = await sweepRetention(w.deps);
  if (r === 'busy') throw new Error('sweep lease busy');
  return r;
}

describe('retention sweep on the emulator', () => {
  it('deletes the backups the rules let go, never a held or a foreign one, and the preview said exactly that', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 3 }, plan: 'nightly' });
    const w = world;
    const runIds = await tenDays(w);
    const before = await w.list();
    expect(before).toHaveLength(24);
    // The oldest run is on hold: both its backups stay, though keepLast lets them go.
    await placeHold({ runs: w.runs, retention: w.retention, clock: w.deps.clock, newToken: () => 'hold-1' }, { runId: runIds[0], reason: 'audit 2027-17' }, 'alice', everyone);

    const preview = previewView(await planSweep(w.deps, { plan: 'nightly' }));
    const ours = before.filter((b) => b.name.startsWith('daily_'));
    const byAge = (a: { created_at: string }, b: { created_at: string }) => Date.parse(b.created_at) - Date.parse(a.created_at);
    const expectedKept = new Set<string>();
    for (const server of w.servers) ours.filter((b) => b.resource_id === server).sort(byAge).slice(0, 3).forEach((b) => expectedKept.add(b.id));
    ours.filter((b) => b.name.endsWith(runIds[0]!.replace(/-/g, ''))).forEach((b) => expectedKept.add(b.id));
    const expectedDeleted = ours.filter((b) => !expectedKept.has(b.id)).map((b) => b.id).sort();
    expect(expectedDeleted).toHaveLength(12);
    expect(preview.scopes).toHaveLength(1);
    expect(preview.scopes[0]!.delete.map((d) => d.backupId).sort()).toEqual(expectedDeleted);
    expect(preview.scopes[0]!.delete.every((d) => d.because.some((r) => r.rule === 'keepLast'))).toBe(true);
    expect(preview.scopes[0]!.keep.filter((k) => k.because[0]!.rule === 'hold')).toHaveLength(2);
    expect(preview.totals).toMatchObject({ delete: 12, keep: 8, foreign: 4 });
    expect(preview.totals.freedGb).toBeGreaterThan(0);

    const result = await sweep(w);
    expect(result).toMatchObject({ deleted: 12, refused: 0, errors: 0, held: 2, foreign: 4, kept: 8 });
    expect(deleteCalls(w)).toBe(12);
    const ledger = await w.retention.listLedger(preview.scopes[0]!.vault.id ? (await w.retention.listScopes())[0]!.key : '');
    expect(ledger.map((e) => e.backupId).sort()).toEqual(expectedDeleted);
    expect(ledger.every((e) => e.result === 'deleted' && e.requestId && e.rule === 'keepLast' && e.plan === 'nightly')).toBe(true);

    w.advance(5_000);
    const after = await w.list();
    expect(after.map((b) => b.id).sort()).toEqual(before.filter((b) => !expectedDeleted.includes(b.id)).map((b) => b.id).sort());
    expect(after.filter((b) => b.name.startsWith('manualbk_'))).toHaveLength(4);

    // Nothing more to do: a second sweep deletes nothing.
    expect(await sweep(w)).toMatchObject({ deleted: 0, refused: 0 });
    expect(deleteCalls(w)).toBe(12);

    // Released, the held run's backups go at the next sweep.
    await releaseHold({ runs: w.runs, retention: w.retention, clock: w.deps.clock, newToken: () => 'x' }, 'hold-1', 'bob', everyone, 'audit closed');
    expect(await sweep(w)).toMatchObject({ deleted: 2, held: 0 });
  });

  it('a sweep that dies after DeleteBackup converges: no second DeleteBackup, every ledger entry complete', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 2 } });
    const w = world;
    await tenDays(w);
    let calls = 0;
    w.deps.crashPoint = (point) => {
      if (point === 'retention-sweep:after-cbr' && ++calls === 3) throw new Error('killed after DeleteBackup');
    };
    await expect(sweepRetention(w.deps)).rejects.toThrow('killed after DeleteBackup');
    expect(deleteCalls(w)).toBe(3);
    const key = (await w.retention.listScopes())[0]!.key;
    expect((await w.retention.listLedger(key)).filter((e) => e.result === 'requested')).toHaveLength(1);
    w.deps.crashPoint = undefined;
    const second = await sweep(w);
    expect(second.reconciled).toBe(1);
    expect(deleteCalls(w)).toBe(16); // 8 days x 2 servers, each deleted once
    const ledger = await w.retention.listLedger(key);
    expect(ledger).toHaveLength(16);
    expect(ledger.every((e) => e.result === 'deleted')).toBe(true);
    w.advance(5_000);
    expect((await w.list()).filter((b) => b.name.startsWith('daily_'))).toHaveLength(4);
  });

  it('a sweep that dies after writing the intent, before DeleteBackup, deletes it the next time', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 9 } });
    const w = world;
    await tenDays(w);
    w.deps.crashPoint = (point) => {
      if (point === 'retention-sweep:after-intent') throw new Error('killed before DeleteBackup');
    };
    await expect(sweepRetention(w.deps)).rejects.toThrow('killed before DeleteBackup');
    expect(deleteCalls(w)).toBe(0);
    w.deps.crashPoint = undefined;
    w.advance(w.deps.settings.leaseMs + 1);
    expect(await sweep(w)).toMatchObject({ deleted: 2 });
    expect(deleteCalls(w)).toBe(2);
  });

  it('a refused delete is recorded with CBR\'s reason, retried each sweep, persisting after 3, and done once CBR allows it', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 9 }, settings: { refusedAlertSweeps: 3 } });
    const w = world;
    await tenDays(w);
    w.emu.faults.add({ id: 'in-use', operations: ['DeleteBackup'], error: { rate: 1, statuses: [400], errorCode: 'BackupService.6216', errorMsg: 'The backup cannot be deleted because it is in use.' } });
    const key = async () => (await w.retention.listScopes())[0]!.key;
    const first = await sweep(w);
    expect(first).toMatchObject({ deleted: 0, refused: 2, refusedPersisting: 0 });
    const ledger = await w.retention.listLedger(await key());
    expect(ledger).toHaveLength(2);
    for (const e of ledger) {
      expect(e).toMatchObject({ result: 'refused', attempts: 1, refusedSweeps: 1 });
      expect(e.reason).toContain('6216');
      expect(e.reason).toContain('in use');
      expect(e.requestId).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(await sweep(w)).toMatchObject({ refused: 2, refusedPersisting: 0 });
    expect(await sweep(w)).toMatchObject({ refused: 2, refusedPersisting: 2 });
    w.emu.faults.remove('in-use');
    expect(await sweep(w)).toMatchObject({ deleted: 2, refused: 0, refusedPersisting: 0 });
    const done = await w.retention.listLedger(await key());
    expect(done.every((e) => e.result === 'deleted' && e.attempts === 4 && e.refusedSweeps === 0 && e.reason === undefined)).toBe(true);
  });

  it('with adopt, backups cbr-flow did not create are decided too', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 3, adopt: true } });
    const w = world;
    await tenDays(w);
    const preview = previewView(await planSweep(w.deps));
    expect(preview.totals).toMatchObject({ foreign: 0, keep: 6, delete: 18 });
    expect(await sweep(w)).toMatchObject({ deleted: 18 });
  });
});
