/**
 * A deliberately naive reference for the retention rules (README "Retention"), sharing nothing with
 * ./engine.ts but the rules' meaning: it reads the local calendar through `toLocaleString('sv-SE')` and
 * a weekday name, takes each backup's instant as given (no timestamp parsing), and decides each backup
 * on its own by counting the backups newer than it (quadratic, obviously right). The engine is checked
 * against it (test/unit/retention/oracle.test.ts) and so is what a sweep leaves in a vault (the
 * `retention` scenario, local/scenarios/retention.ts). Not used by any function.
 */
import type { KeepRule } from './engine';
import type { RetentionRules } from './rules';

const DAY = 86_400_000;
const SETTLED = ['available', 'error'];

/** A backup as the oracle sees it: its resource, true instant (null: unreadable) and status. */
export interface OracleBackup {
  id: string;
  resource: string | null;
  ms: number | null;
  status: string | null;
}

/** Local calendar parts, read from a formatted string: "2026-12-05 10:17:00" (memoised: it is slow). */
const seenLocal = new Map<string, { y: number; m: number; d: number; weekday: string }>();
function local(ms: number, zone: string) {
  const memo = seenLocal.get(`${zone} ${ms}`);
  if (memo) return memo;
  const text = new Date(ms).toLocaleString('sv-SE', { timeZone: zone });
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const weekday = new Date(ms).toLocaleDateString('en-US', { timeZone: zone, weekday: 'short' });
  seenLocal.set(`${zone} ${ms}`, { y, m, d, weekday });
  return { y, m, d, weekday };
}
const pad = (n: number) => String(n).padStart(2, '0');

function bucket(ms: number, period: 'days' | 'weeks' | 'months' | 'years', zone: string): string {
  const { y, m, d, weekday } = local(ms, zone);
  if (period === 'years') return String(y);
  if (period === 'months') return `${y}-${pad(m)}`;
  if (period === 'days') return `${y}-${pad(m)}-${pad(d)}`;
  const back = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(weekday);
  if (back < 0) throw new Error(`oracle: unexpected weekday ${weekday}`);
  return new Date(Date.UTC(y, m - 1, d - back)).toISOString().slice(0, 10);
}

/** The backups to keep, each with every rule that keeps it; a backup not in the map is deleted. */
export function retentionOracle(all: readonly OracleBackup[], rules: RetentionRules, holds: ReadonlySet<string>, zone: string, now: number): Map<string, Set<KeepRule>> {
  const kept = new Map<string, Set<KeepRule>>();
  for (const b of all) {
    const why = new Set<KeepRule>();
    if (holds.has(b.id)) why.add('hold');
    if (b.resource === null || b.ms === null) why.add('unreadable');
    else if (b.status === null || !SETTLED.includes(b.status)) why.add('unsettled');
    else {
      const ms = b.ms;
      const isNewer = (o: OracleBackup) => o.ms! > ms || (o.ms === ms && o.id > b.id);
      const peers = all.filter((o) => o.resource === b.resource && o.ms !== null && o.status === 'available');
      const newer = peers.filter(isNewer).length;
      if (b.status === 'available') {
        if (rules.keepLast !== undefined && newer < rules.keepLast) why.add('keepLast');
        if (rules.floor !== undefined && newer < rules.floor) why.add('floor');
        for (const period of ['days', 'weeks', 'months', 'years'] as const) {
          const n = rules.gfs?.[period] ?? 0;
          const mine = bucket(ms, period, zone);
          const newestOfBucket = !peers.some((o) => isNewer(o) && bucket(o.ms!, period, zone) === mine);
          const laterBuckets = new Set(peers.map((o) => bucket(o.ms!, period, zone)).filter((k) => k > mine));
          if (n > 0 && newestOfBucket && laterBuckets.size < n) why.add(`gfs.${period}`);
        }
      }
      if (rules.maxAgeDays !== undefined && now - ms <= rules.maxAgeDays * DAY) why.add('maxAgeDays');
    }
    if (why.size > 0) kept.set(b.id, why);
  }
  return kept;
}
