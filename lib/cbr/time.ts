/**
 * CBR bodies use three timestamp shapes (cbr-api.md §1, §11): naive UTC with microseconds
 * `2020-02-05T10:38:34.209782`, with an offset `2019-05-10T07:59:12.733+00:00`, and `...Z`.
 * `new Date()` would read the naive form as LOCAL time, so everything goes through here. A bare date
 * (`2025-03-22`, seen in a recorded ListBackups `protected_at`) reads as midnight UTC.
 */
const TS_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** Milliseconds since the epoch, or undefined when `value` is not one of the accepted shapes. */
export function cbrTimestampMs(value: string): number | undefined {
  const m = TS_RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac, zone] = m;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(t);
  const same =
    check.getUTCFullYear() === Number(y) &&
    check.getUTCMonth() === Number(mo) - 1 &&
    check.getUTCDate() === Number(d) &&
    check.getUTCHours() === Number(h) &&
    check.getUTCMinutes() === Number(mi) &&
    check.getUTCSeconds() === Number(s);
  if (!same) return undefined;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    t -= sign * offsetMin * 60_000;
  }
  return t;
}

/** Parses any CBR timestamp shape (naive = UTC). Throws a RangeError on anything else. */
export function parseCbrTimestamp(value: string): Date {
  const ms = cbrTimestampMs(value);
  if (ms === undefined) throw new RangeError(`not a CBR timestamp: ${JSON.stringify(value).slice(0, 60)}`);
  return new Date(ms);
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the format of the list filters `start_time` / `end_time`. */
export function formatQueryTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
