/**
 * The retention engine on hand-built histories: calendar edges in a time zone (DST changes, Monday
 * week starts, month and year ends), what each status means, the floor, holds, and CBR's loose backups.
 */
import { describe, expect, it } from 'vitest';
import { Backup } from '../../../lib/cbr/schemas';
import { ValidationError } from '../../../lib/errors';
import { decide, type RetentionBackup, type RetentionDecision } from '../../../lib/retention/engine';
import { parseRetentionRules, type RetentionRulesInput } from '../../../lib/retention/rules';

const R1 = 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f';
const R2 = '97595625-198e-4e4d-879b-9d53f68ba551';

const b = (id: string, createdAt: string | null, status: string | null = 'available', resource: string | null = R1): RetentionBackup => ({ id, resource_id: resource, created_at: createdAt, status });
const run = (backups: RetentionBackup[], rules: RetentionRulesInput, opts: { now?: string; tz?: string; holds?: string[] } = {}) =>
  decide(backups, parseRetentionRules(rules), opts.holds ?? [], new Date(opts.now ?? '2027-01-02T00:00:00Z'), opts.tz ?? 'UTC');
const kept = (decisions: RetentionDecision[]) => decisions.filter((d) => d.action === 'keep').map((d) => d.backupId).sort();
const byId = (decisions: RetentionDecision[], id: string) => decisions.find((d) => d.backupId === id)!;
const rulesOf = (d: RetentionDecision) => d.reasons.map((r) => r.rule);

describe('GFS periods are calendar periods in the time zone', () => {
  it('Berlin falls back (2026-10-25 has 25 hours): one day, its newest backup, whatever UTC says', () => {
    const history = [
      b('oct25-0005', '2026-10-24T22:05:00Z'), // 00:05 CEST on the 25th
      b('oct25-2355', '2026-10-25T22:55:00Z'), // 23:55 CET on the 25th, 24 h 50 min later, same day
      b('oct24-2355', '2026-10-24T21:55:00Z'), // 23:55 CEST on the 24th
      b('oct26-0005', '2026-10-25T23:05:00Z'), // 00:05 CET on the 26th
    ];
    expect(kept(run(history, { gfs: { days: 10 } }, { tz: 'Europe/Berlin' }))).toEqual(['oct24-2355', 'oct25-2355', 'oct26-0005']);
    expect(kept(run(history, { gfs: { days: 10 } }, { tz: 'UTC' }))).toEqual(['oct25-0005', 'oct26-0005']);
    const day = byId(run(history, { gfs: { days: 10 } }, { tz: 'Europe/Berlin' }), 'oct25-2355');
    expect(day.reasons).toEqual([{ rule: 'gfs.days', detail: 'newest of 2026-10-25 (Europe/Berlin), 2 of 10' }]);
  });

  it('Berlin springs forward (2026-03-29 has 23 hours); maxAgeDays counts 24-hour days, not calendar days', () => {
    const history = [
      b('mar28-2355', '2026-03-28T22:55:00Z'), // 23:55 CET
      b('mar29-0005', '2026-03-28T23:05:00Z'), // 00:05 CET on the 29th
      b('mar29-2355', '2026-03-29T21:55:00Z'), // 23:55 CEST on the 29th
      b('mar30-0005', '2026-03-29T22:05:00Z'), // 00:05 CEST on the 30th
    ];
    expect(kept(run(history, { gfs: { days: 3 } }, { tz: 'Europe/Berlin' }))).toEqual(['mar28-2355', 'mar29-2355', 'mar30-0005']);
    expect(kept(run(history, { gfs: { days: 2 } }, { tz: 'Europe/Berlin' }))).toEqual(['mar29-2355', 'mar30-0005']);
    const aged = run(history, { maxAgeDays: 1 }, { tz: 'Europe/Berlin', now: '2026-03-30T21:55:00Z' });
    expect(kept(aged)).toEqual(['mar29-2355', 'mar30-0005']);
    expect(byId(aged, 'mar29-0005')).toMatchObject({ action: 'delete', reasons: [{ rule: 'maxAgeDays', detail: '2.0 days old, over 1' }] });
  });

  it('weeks start on Monday at local midnight', () => {
    const history = [
      b('mon30-0030', '2026-11-29T23:30:00Z'), // Monday 2026-11-30 00:30 in Berlin, still Sunday in UTC
      b('sun29-2330', '2026-11-29T22:30:00Z'),
      b('sat28-1200', '2026-11-28T11:00:00Z'),
      b('mon23-0030', '2026-11-22T23:30:00Z'), // Monday 2026-11-23 00:30 in Berlin
      b('sun22-2330', '2026-11-22T22:30:00Z'),
    ];
    const berlin = run(history, { gfs: { weeks: 10 } }, { tz: 'Europe/Berlin' });
    expect(kept(berlin)).toEqual(['mon30-0030', 'sun22-2330', 'sun29-2330']);
    expect(byId(berlin, 'sun29-2330').reasons).toEqual([{ rule: 'gfs.weeks', detail: 'newest of the week of Monday 2026-11-23 (Europe/Berlin), 2 of 10' }]);
    expect(kept(run(history, { gfs: { weeks: 10 } }, { tz: 'UTC' }))).toEqual(['mon23-0030', 'mon30-0030']);
    expect(kept(run(history, { gfs: { weeks: 1 } }, { tz: 'Europe/Berlin' }))).toEqual(['mon30-0030']);
  });

  it('months and years end at local midnight (Shanghai, New York)', () => {
    const history = [
      b('jan01-0030', '2026-12-31T16:30:00Z'), // 2027-01-01 00:30 in Shanghai
      b('dec31-2330', '2026-12-31T15:30:00Z'),
      b('dec01-0030', '2026-11-30T16:30:00Z'),
      b('nov30-2330', '2026-11-30T15:30:00Z'),
    ];
    expect(kept(run(history, { gfs: { months: 3 } }, { tz: 'Asia/Shanghai' }))).toEqual(['dec31-2330', 'jan01-0030', 'nov30-2330']);
    expect(kept(run(history, { gfs: { years: 1 } }, { tz: 'Asia/Shanghai' }))).toEqual(['jan01-0030']);
    expect(kept(run(history, { gfs: { years: 2 } }, { tz: 'Asia/Shanghai' }))).toEqual(['dec31-2330', 'jan01-0030']);
    expect(kept(run(history, { gfs: { months: 3 } }, { tz: 'UTC' }))).toEqual(['dec01-0030', 'jan01-0030']);
    expect(kept(run(history, { gfs: { years: 2 } }, { tz: 'UTC' }))).toEqual(['jan01-0030']);
    const ny = [b('ny-dec31', '2027-01-01T03:00:00Z'), b('ny-jan01', '2027-01-01T05:30:00Z'), b('ny-dec30', '2026-12-30T12:00:00Z')];
    expect(kept(run(ny, { gfs: { years: 5 } }, { tz: 'America/New_York', now: '2027-01-02T00:00:00Z' }))).toEqual(['ny-dec31', 'ny-jan01']);
  });

  it('counts the periods that have a backup (a gap does not expire older ones); one backup may be kept by several periods', () => {
    const history = [b('d1', '2026-12-20T10:00:00Z'), b('d2', '2026-12-01T10:00:00Z'), b('d3', '2026-06-01T10:00:00Z'), b('d4', '2025-06-01T10:00:00Z')];
    const decisions = run(history, { gfs: { days: 2, years: 2 } });
    expect(kept(decisions)).toEqual(['d1', 'd2', 'd4']);
    expect(rulesOf(byId(decisions, 'd1'))).toEqual(['gfs.days', 'gfs.years']);
    expect(rulesOf(byId(decisions, 'd4'))).toEqual(['gfs.years']);
    expect(byId(decisions, 'd3')).toMatchObject({ action: 'delete', reasons: [{ rule: 'gfs', detail: 'not the newest backup of a kept day, week, month or year' }] });
  });

  it('the rules\' own time zone wins over the plan\'s', () => {
    const history = [b('mon', '2026-11-29T23:30:00Z'), b('sun', '2026-11-29T22:30:00Z')];
    expect(kept(run(history, { gfs: { weeks: 2 }, timezone: 'Europe/Berlin' }, { tz: 'UTC' }))).toEqual(['mon', 'sun']);
    expect(() => run(history, { gfs: { weeks: 2 } }, { tz: 'Mars/Olympus' })).toThrow(ValidationError);
  });
});

describe('statuses, floor, holds', () => {
  it('never deletes a backup CBR is still working on, however old; an unknown or missing status counts as such', () => {
    const history = ['protecting', 'waiting_protect', 'restoring', 'deleting', 'frozen', null].map((s, i) => b(`old-${i}`, '2024-01-01T00:00:00Z', s));
    const decisions = run([...history, b('new', '2027-01-01T00:00:00Z')], { maxAgeDays: 30 });
    expect(kept(decisions)).toHaveLength(7);
    expect(byId(decisions, 'old-0').reasons).toEqual([{ rule: 'unsettled', detail: "status 'protecting': CBR is still working on it" }]);
    expect(byId(decisions, 'old-5').reasons).toEqual([{ rule: 'unsettled', detail: 'no status' }]);
  });

  it('a failed backup is never counted by keepLast, gfs or the floor, but maxAgeDays keeps it while young', () => {
    const history = [b('err-new', '2027-01-01T12:00:00Z', 'error'), b('ok-1', '2027-01-01T00:00:00Z'), b('err-old', '2026-12-01T00:00:00Z', 'error'), b('ok-2', '2026-11-01T00:00:00Z'), b('ok-3', '2026-10-01T00:00:00Z')];
    const decisions = run(history, { keepLast: 2, gfs: { days: 2 }, floor: 2 });
    expect(kept(decisions)).toEqual(['ok-1', 'ok-2']);
    expect(byId(decisions, 'err-new').reasons.map((r) => `${r.rule}: ${r.detail}`)).toEqual([
      'keepLast: a failed backup is never counted',
      'gfs: a failed backup is never counted',
      'floor: a failed backup is never counted',
    ]);
    expect(kept(run(history, { keepLast: 2, maxAgeDays: 7 }))).toEqual(['err-new', 'ok-1', 'ok-2']);
  });

  it('the floor keeps the K newest available backups when every rule expired them', () => {
    const history = [b('a', '2026-10-01T00:00:00Z'), b('b', '2026-09-01T00:00:00Z'), b('c', '2026-08-01T00:00:00Z'), b('p', '2026-12-31T00:00:00Z', 'protecting')];
    const decisions = run(history, { maxAgeDays: 30, floor: 2 });
    expect(kept(decisions)).toEqual(['a', 'b', 'p']);
    expect(byId(decisions, 'b').reasons).toEqual([{ rule: 'floor', detail: 'newest available backup #2 of 2' }]);
    expect(rulesOf(byId(decisions, 'c'))).toEqual(['maxAgeDays', 'floor']);
  });

  it('a held backup is always kept and still counts for the rules', () => {
    const history = [b('new', '2027-01-01T00:00:00Z'), b('mid', '2026-12-01T00:00:00Z'), b('old', '2025-01-01T00:00:00Z')];
    const decisions = run(history, { keepLast: 1 }, { holds: ['old', 'new'] });
    expect(kept(decisions)).toEqual(['new', 'old']);
    expect(rulesOf(byId(decisions, 'new'))).toEqual(['hold', 'keepLast']);
    expect(byId(decisions, 'old').reasons).toEqual([{ rule: 'hold', detail: 'on hold' }]);
  });

  it('decides per resource, once per id, in input order, and whatever order CBR listed them in', () => {
    const history = [b('r2-old', '2026-01-01T00:00:00Z', 'available', R2), b('r1-old', '2026-01-01T00:00:00Z'), b('r1-new', '2026-12-01T00:00:00Z'), b('r2-new', '2026-12-01T00:00:00Z', 'available', R2), b('r1-new', '2026-12-01T00:00:00Z')];
    const decisions = run(history, { keepLast: 1 });
    expect(decisions.map((d) => `${d.backupId}:${d.action}`)).toEqual(['r2-old:delete', 'r1-old:delete', 'r1-new:keep', 'r2-new:keep']);
    expect(kept(run([...history].reverse(), { keepLast: 1 }))).toEqual(['r1-new', 'r2-new']);
    // the same instant: the greater id is the newer
    expect(kept(run([b('x-1', '2026-12-01T00:00:00Z'), b('x-2', '2026-12-01T00:00:00.000000')], { keepLast: 1 }))).toEqual(['x-2']);
  });
});

describe('CBR backups as the client returns them', () => {
  it('reads the three timestamp shapes and keeps a backup it cannot date or place', () => {
    const listed = [
      { id: 'naive', resource_id: R1, created_at: '2026-12-30T10:38:34.209782', status: 'available', name: 'cbrflow_x', children: null },
      { id: 'offset', resource_id: R1, created_at: '2026-12-29T07:59:12.733+08:00', status: 'available', extend_info: null },
      { id: 'zulu', resource_id: R1, created_at: '2026-12-28T01:00:32Z', status: 'available' },
      { id: 'no-date', resource_id: R1, created_at: null, status: 'available' },
      { id: 'empty-date', resource_id: R1, created_at: '', status: 'available' },
      { id: 'no-resource', resource_id: null, created_at: '2020-01-01T00:00:00Z', status: 'available' },
    ].map((raw) => Backup.parse(raw));
    const decisions = decide(listed, parseRetentionRules({ keepLast: 2 }), [], new Date('2027-01-02T00:00:00Z'), 'UTC');
    expect(kept(decisions)).toEqual(['empty-date', 'naive', 'no-date', 'no-resource', 'offset']);
    expect(byId(decisions, 'no-date').reasons).toEqual([{ rule: 'unreadable', detail: 'created_at null is not a timestamp' }]);
    expect(byId(decisions, 'no-resource').reasons).toEqual([{ rule: 'unreadable', detail: 'no resource_id' }]);
    expect(byId(decisions, 'zulu')).toMatchObject({ action: 'delete', resourceId: R1, createdAt: '2026-12-28T01:00:32Z', status: 'available' });
  });
});
