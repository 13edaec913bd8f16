/**
 * A plan's next firings, in its time zone and in UTC: `cbr-flow plans preview` (local/cli/plans.ts) and the
 * dashboard's plans (lib/dashboard/view.ts) both use this, so they never disagree.
 */
import { CronExpressionParser } from 'cron-parser';

/** `2026-12-06 02:00` in `timeZone`. */
export function wallClock(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

/** The next `count` instants a standard 5-field `cron` in `timeZone` fires after `now` (epoch ms). */
export function nextFiringTimes(cron: string, timeZone: string, now: number, count: number): Date[] {
  const it = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(now) });
  return Array.from({ length: count }, () => it.next().toDate());
}
