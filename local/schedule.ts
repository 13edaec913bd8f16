/**
 * EventBridge schedule expressions: `rate(...)`, `cron(...)` (6 fields, AWS flavour) and Scheduler's
 * one-time `at(...)`, with an optional IANA time zone. cron-parser computes the occurrences; this
 * module only translates AWS's dialect (day-of-week 1-7 = SUN-SAT, `?`, the year field) into it.
 */
import { CronExpressionParser } from 'cron-parser';
import { LocalRuntimeError } from './errors';

export type ParsedSchedule =
  | { kind: 'rate'; everyMs: number }
  /** Next occurrence strictly after `after`, or undefined when there is none. */
  | { kind: 'cron' | 'at'; next(after: Date): Date | undefined };

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** AWS day-of-week (1 = SUN ... 7 = SAT) to cron-parser's (0 = SUN ... 6 = SAT); names pass through. */
function translateDayOfWeek(field: string, where: string): string {
  if (field === '?' || field === '*') return '*';
  const day = (d: string): string => {
    if (!/^\d+$/.test(d)) return d; // SUN..SAT
    const n = Number(d);
    if (n < 1 || n > 7) throw new LocalRuntimeError(`day-of-week ${d} is outside 1-7`, { where });
    return String(n - 1);
  };
  return field.split(',').map((item) => {
    if (item === 'L') return '6'; // "last day of the week" = Saturday
    let m = /^(\w+)L$/.exec(item);
    if (m) return `${day(m[1]!)}L`;
    m = /^(\w+)#(\d)$/.exec(item);
    if (m) return `${day(m[1]!)}#${m[2]}`;
    m = /^(\w+)-(\w+)(\/\d+)?$/.exec(item);
    if (m) return `${day(m[1]!)}-${day(m[2]!)}${m[3] ?? ''}`;
    return day(item);
  }).join(',');
}

function yearMatcher(field: string, where: string): (year: number) => boolean {
  if (field === '*' || field === '?') return () => true;
  const parts = field.split(',').map((item) => {
    const m = /^(\d{4})(?:-(\d{4}))?(?:\/(\d+))?$/.exec(item);
    if (!m) throw new LocalRuntimeError(`unsupported year field "${field}"`, { where });
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : m[3] ? 9999 : from;
    const step = m[3] ? Number(m[3]) : 1;
    return (y: number) => y >= from && y <= to && (y - from) % step === 0;
  });
  return (y) => parts.some((p) => p(y));
}

function parseCron(body: string, timezone: string | undefined, where: string): ParsedSchedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw new LocalRuntimeError(`cron() needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`, { where });
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  if (dayOfMonth !== '?' && dayOfWeek !== '?') {
    throw new LocalRuntimeError('cron(): one of day-of-month and day-of-week must be "?"', { where });
  }
  if (/W/.test(dayOfMonth)) throw new LocalRuntimeError('cron(): the W (nearest weekday) wildcard is not supported locally', { where });
  const expression = [minutes, hours, dayOfMonth === '?' ? '*' : dayOfMonth, month, translateDayOfWeek(dayOfWeek, where)].join(' ');
  const inYear = yearMatcher(year, where);
  const options = (after: Date) => ({ currentDate: after, ...(timezone ? { tz: timezone } : {}) });
  try {
    CronExpressionParser.parse(expression, options(new Date()));
  } catch (err) {
    throw new LocalRuntimeError(`invalid cron expression "${body}": ${(err as Error).message}`, { where, cause: err });
  }
  return {
    kind: 'cron',
    next(after) {
      const it = CronExpressionParser.parse(expression, options(after));
      for (let i = 0; i < 1000; i++) {
        if (!it.hasNext()) return undefined;
        const d = it.next().toDate();
        if (inYear(d.getUTCFullYear())) return d;
      }
      return undefined;
    },
  };
}

function parseAt(body: string, timezone: string | undefined, where: string): ParsedSchedule {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body.trim());
  if (!m) throw new LocalRuntimeError(`at() needs yyyy-mm-ddThh:mm:ss, got "${body}"`, { where });
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  // The wall-clock time in `timezone`, found as the one occurrence of a seconds-level cron.
  const expression = `${s} ${mi} ${h} ${d} ${mo} *`;
  return {
    kind: 'at',
    next(after) {
      const it = CronExpressionParser.parse(expression, { currentDate: new Date(Date.UTC(y, mo - 1, d) - 2 * 86_400_000), ...(timezone ? { tz: timezone } : {}) });
      const when = it.next().toDate();
      return when.getTime() > after.getTime() ? when : undefined;
    },
  };
}

/** Parses an EventBridge rule / Scheduler expression; `where` names it in errors. */
export function parseScheduleExpression(expression: string, timezone: string | undefined, where: string): ParsedSchedule {
  const m = /^(rate|cron|at)\((.*)\)$/.exec(expression.trim());
  if (!m) throw new LocalRuntimeError(`not a schedule expression: "${expression}"`, { where });
  const [, kind, body = ''] = m;
  if (kind === 'cron') return parseCron(body, timezone, where);
  if (kind === 'at') return parseAt(body, timezone, where);
  const r = /^\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*$/.exec(body);
  if (!r) throw new LocalRuntimeError(`rate() needs "<value> <minute(s)|hour(s)|day(s)>", got "${body}"`, { where });
  const value = Number(r[1]);
  const unit = r[2]!;
  const singular = unit.replace(/s$/, '');
  // AWS rejects "rate(1 minutes)" and "rate(5 minute)"; so do we, so the template cannot drift.
  if (value < 1 || (value === 1) !== (unit === singular)) {
    throw new LocalRuntimeError(`rate(${body}): use "1 ${singular}" or "N ${singular}s" (N > 1)`, { where });
  }
  return { kind: 'rate', everyMs: value * UNIT_MS[singular]! };
}
