/**
 * The retention engine: a pure function from a backup history, rules (./rules.ts), holds and a clock
 * to a decision per backup, keep or delete, with every reason. No I/O: the sweep and the preview (issue
 * 14 items 3-4) call this one function, so what the preview says is what the sweep does.
 *
 * Which backups the rules see, by CBR status (lib/cbr/schemas.ts BackupStatus, an open enum):
 *   available        counted by keepLast, gfs and floor; kept by maxAgeDays while young enough;
 *   error            a failed backup restores nothing: never counted by keepLast, gfs or floor (a run of
 *                    failures cannot push good backups out); kept by maxAgeDays while young enough,
 *                    otherwise deleted like any expired backup;
 *   anything else    protecting, waiting_protect, restoring, waiting_restore, deleting, waiting_delete,
 *                    a status CBR added later or none: CBR is still working on it (or we cannot tell),
 *                    so it is always kept (`unsettled`) and decided again on a later sweep.
 * A backup without a resource_id or a readable created_at is kept (`unreadable`): it cannot be aged,
 * counted or put in a period. A held backup is always kept (`hold`) and still counts for the rules.
 * "Newest" orders by created_at, then by id (the greater id is newer on a tie), so the result never
 * depends on the order CBR listed the backups in. A backup id listed twice is decided once.
 */
import { cbrTimestampMs } from '../cbr/time';
import { ValidationError } from '../errors';
import { GFS_PERIODS, isTimeZone, type GfsPeriod, type RetentionRules } from './rules';

/** What decide reads of a CBR backup (the client's Backup view): everything but the id may be null. */
export interface RetentionBackup {
  readonly id: string;
  readonly resource_id?: string | null;
  readonly created_at?: string | null;
  readonly status?: string | null;
}

/** Why a backup is kept. Every reason that applies is listed, `hold` first. */
export type KeepRule = 'hold' | 'unsettled' | 'unreadable' | 'floor' | 'keepLast' | 'maxAgeDays' | `gfs.${GfsPeriod}`;
/** Why a backup is deleted: every configured rule, each of which let it go. */
export type ExpireRule = 'keepLast' | 'maxAgeDays' | 'gfs' | 'floor';

export interface RetentionReason<R extends string> {
  readonly rule: R;
  /** For a person: which period, which count, how old. */
  readonly detail: string;
}

interface DecisionBase {
  readonly backupId: string;
  readonly resourceId: string | null;
  readonly createdAt: string | null;
  readonly status: string | null;
}
export type RetentionDecision =
  | (DecisionBase & { readonly action: 'keep'; readonly reasons: ReadonlyArray<RetentionReason<KeepRule>> })
  | (DecisionBase & { readonly action: 'delete'; readonly reasons: ReadonlyArray<RetentionReason<ExpireRule>> });

const DAY_MS = 86_400_000;

interface Dated {
  readonly backup: RetentionBackup;
  readonly ms: number;
  readonly status: 'available' | 'error';
}

/**
 * Decide every backup of `backups` (one decision each, in input order, duplicates of an id dropped).
 * `tz` is the GFS calendar's IANA zone when the rules name none (`rules.timezone` wins).
 */
export function decide(backups: readonly RetentionBackup[], rules: RetentionRules, holds: Iterable<string>, now: Date | number, tz: string): RetentionDecision[] {
  const zone = rules.timezone ?? tz;
  if (!isTimeZone(zone)) throw new ValidationError('timezone', `unknown IANA time zone '${zone}'`);
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const held = new Set(holds);

  const unique: RetentionBackup[] = [];
  const seen = new Set<string>();
  for (const b of backups) {
    if (seen.has(b.id)) continue;
    seen.add(b.id);
    unique.push(b);
  }

  // Per resource, the dated settled backups; every other backup is kept as it is.
  const keeps = new Map<string, Array<RetentionReason<KeepRule>>>();
  const keep = (id: string, reason: RetentionReason<KeepRule>) => {
    const list = keeps.get(id);
    if (list) list.push(reason);
    else keeps.set(id, [reason]);
  };
  const byResource = new Map<string, Dated[]>();
  const dated = new Map<string, Dated>();
  for (const b of unique) {
    if (held.has(b.id)) keep(b.id, { rule: 'hold', detail: 'on hold' });
    const ms = b.created_at ? cbrTimestampMs(b.created_at) : undefined;
    if (!b.resource_id || ms === undefined) {
      keep(b.id, { rule: 'unreadable', detail: !b.resource_id ? 'no resource_id' : `created_at ${JSON.stringify(b.created_at ?? null)} is not a timestamp` });
      continue;
    }
    if (b.status !== 'available' && b.status !== 'error') {
      keep(b.id, { rule: 'unsettled', detail: b.status ? `status '${b.status}': CBR is still working on it` : 'no status' });
      continue;
    }
    const d: Dated = { backup: b, ms, status: b.status };
    dated.set(b.id, d);
    const list = byResource.get(b.resource_id);
    if (list) list.push(d);
    else byResource.set(b.resource_id, [d]);
  }

  for (const list of byResource.values()) {
    list.sort(newestFirst);
    const available = list.filter((d) => d.status === 'available');
    const newest = (n: number, rule: 'keepLast' | 'floor') => {
      available.slice(0, n).forEach((d, i) => keep(d.backup.id, { rule, detail: `newest available backup #${i + 1} of ${n}` }));
    };
    if (rules.keepLast) newest(rules.keepLast, 'keepLast');
    if (rules.maxAgeDays !== undefined) {
      for (const d of list) {
        if (nowMs - d.ms <= rules.maxAgeDays * DAY_MS) keep(d.backup.id, { rule: 'maxAgeDays', detail: `${ageDays(nowMs, d.ms)} days old, at most ${rules.maxAgeDays}` });
      }
    }
    if (rules.gfs) {
      const dates = available.map((d) => localDate(d.ms, zone));
      for (const period of GFS_PERIODS) {
        const n = rules.gfs[period];
        if (n === 0) continue;
        // The newest backup of each period (the list is newest first), then the n latest periods.
        const newestOf = new Map<number, Dated>();
        available.forEach((d, i) => {
          const key = periodKey(dates[i]!, period);
          if (!newestOf.has(key)) newestOf.set(key, d);
        });
        [...newestOf.keys()]
          .sort((a, b) => b - a)
          .slice(0, n)
          .forEach((key, i) => keep(newestOf.get(key)!.backup.id, { rule: `gfs.${period}`, detail: `newest of ${periodLabel(key, period)} (${zone}), ${i + 1} of ${n}` }));
      }
    }
    if (rules.floor) newest(rules.floor, 'floor');
  }

  return unique.map((b) => {
    const base: DecisionBase = { backupId: b.id, resourceId: b.resource_id ?? null, createdAt: b.created_at ?? null, status: b.status ?? null };
    const reasons = keeps.get(b.id);
    if (reasons) return { ...base, action: 'keep', reasons: reasons.sort((x, y) => KEEP_ORDER.indexOf(x.rule) - KEEP_ORDER.indexOf(y.rule)) };
    return { ...base, action: 'delete', reasons: expiredBy(dated.get(b.id)!, rules, nowMs) };
  });
}

const KEEP_ORDER: readonly KeepRule[] = ['hold', 'unreadable', 'unsettled', 'floor', 'keepLast', 'maxAgeDays', 'gfs.days', 'gfs.weeks', 'gfs.months', 'gfs.years'];

function newestFirst(a: Dated, b: Dated): number {
  return b.ms - a.ms || (a.backup.id < b.backup.id ? 1 : a.backup.id > b.backup.id ? -1 : 0);
}

function ageDays(nowMs: number, ms: number): string {
  return ((nowMs - ms) / DAY_MS).toFixed(1);
}

function expiredBy(d: Dated, rules: RetentionRules, nowMs: number): Array<RetentionReason<ExpireRule>> {
  const failed = d.status === 'error' ? 'a failed backup is never counted' : undefined;
  const out: Array<RetentionReason<ExpireRule>> = [];
  if (rules.keepLast !== undefined) out.push({ rule: 'keepLast', detail: failed ?? `not among the ${rules.keepLast} newest available backups` });
  if (rules.maxAgeDays !== undefined) out.push({ rule: 'maxAgeDays', detail: `${ageDays(nowMs, d.ms)} days old, over ${rules.maxAgeDays}` });
  if (rules.gfs) out.push({ rule: 'gfs', detail: failed ?? 'not the newest backup of a kept day, week, month or year' });
  if (rules.floor) out.push({ rule: 'floor', detail: failed ?? `not among the ${rules.floor} newest available backups` });
  return out;
}

// ---------------------------------------------------------------- calendar periods in a time zone

const formatters = new Map<string, Intl.DateTimeFormat>();

interface LocalDate {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  readonly day: number;
}

/** The calendar date of the instant `ms` in `zone`. */
function localDate(ms: number, zone: string): LocalDate {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric', era: 'short' });
    formatters.set(zone, f);
  }
  let year = 0;
  let month = 0;
  let day = 0;
  let bc = false;
  for (const part of f.formatToParts(ms)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
    else if (part.type === 'era') bc = part.value.startsWith('B');
  }
  return { year: bc ? 1 - year : year, month, day };
}

/** Days since 1970-01-01 of a calendar date. */
const epochDay = (year: number, month: number, day: number): number => Date.UTC(year, month - 1, day) / DAY_MS;

/**
 * A number per period, growing with time: the epoch day (days), the epoch day of the Monday that
 * starts the week (weeks), year x 12 + month (months), the year (years). Calendar arithmetic on the
 * local date, so a DST change never moves a backup into another day.
 */
function periodKey({ year, month, day }: LocalDate, period: GfsPeriod): number {
  switch (period) {
    case 'days':
      return epochDay(year, month, day);
    case 'weeks': {
      const d = epochDay(year, month, day);
      // 1970-01-01 was a Thursday: (d + 3) mod 7 is 0 on a Monday.
      return d - (((d + 3) % 7) + 7) % 7;
    }
    case 'months':
      return year * 12 + (month - 1);
    case 'years':
      return year;
  }
}

function periodLabel(key: number, period: GfsPeriod): string {
  const iso = (d: number) => new Date(d * DAY_MS).toISOString().slice(0, 10);
  switch (period) {
    case 'days':
      return iso(key);
    case 'weeks':
      return `the week of Monday ${iso(key)}`;
    case 'months':
      return `${Math.floor(key / 12)}-${String((key % 12) + 1).padStart(2, '0')}`;
    case 'years':
      return String(key);
  }
}
