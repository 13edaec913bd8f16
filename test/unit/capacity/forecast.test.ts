/** The vault capacity forecast (lib/capacity/forecast.ts): table cases and properties (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillsInText, forecastFill } from '../../../lib/capacity/forecast';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 5);
const daysAgo = (d: number) => NOW - d * DAY;

describe('forecastFill', () => {
  it.each([
    // 10 GB a day for 10 days into a 200 GB vault with 100 GB used: 10 more days.
    { name: 'steady growth', sizeGb: 200, usedGb: 100, backups: Array.from({ length: 10 }, (_, i) => ({ sizeGb: 10, createdAt: daysAgo(10 - i) })), growth: 10, days: 10, text: 'fills in 10 days' },
    { name: 'no backups: not growing', sizeGb: 200, usedGb: 10, backups: [], growth: 0, days: undefined, text: 'never' },
    { name: 'backups older than 30 days do not count', sizeGb: 200, usedGb: 10, backups: [{ sizeGb: 50, createdAt: daysAgo(31) }], growth: 0, days: undefined, text: 'never' },
    { name: 'null, missing, negative and NaN sizes count as nothing', sizeGb: 100, usedGb: 0, backups: [{ sizeGb: null, createdAt: daysAgo(2) }, { createdAt: daysAgo(2) }, { sizeGb: -5, createdAt: daysAgo(1) }, { sizeGb: Number.NaN, createdAt: daysAgo(1) }, { sizeGb: 4, createdAt: daysAgo(2) }], growth: 2, days: 50, text: 'fills in 50 days' },
    { name: 'a backup without a date is left out', sizeGb: 100, usedGb: 0, backups: [{ sizeGb: 40, createdAt: null }, { sizeGb: 40 }], growth: 0, days: undefined, text: 'never' },
    { name: 'one backup today: spread over at least one day', sizeGb: 100, usedGb: 50, backups: [{ sizeGb: 5, createdAt: NOW - 3_600_000 }], growth: 5, days: 10, text: 'fills in 10 days' },
    { name: 'full already', sizeGb: 100, usedGb: 100, backups: [], growth: 0, days: 0, text: 'full' },
    { name: 'unknown capacity: no forecast', sizeGb: null, usedGb: 10, backups: [{ sizeGb: 5, createdAt: daysAgo(1) }], growth: 5, days: undefined, text: 'never' },
    { name: 'less than a day left', sizeGb: 100, usedGb: 99.5, backups: [{ sizeGb: 10, createdAt: daysAgo(1) }], growth: 10, days: 0, text: 'full' },
    { name: 'one day left', sizeGb: 100, usedGb: 85, backups: [{ sizeGb: 10, createdAt: daysAgo(1) }], growth: 10, days: 1, text: 'fills in 1 day' },
  ])('$name', ({ sizeGb, usedGb, backups, growth, days, text }) => {
    const f = forecastFill({ sizeGb, usedGb, backups, now: NOW });
    expect(f.growthGbPerDay).toBeCloseTo(growth, 6);
    expect(f.fillsInDays).toBe(days);
    expect(fillsInText(f)).toBe(text);
  });

  const backup = fc.record({ sizeGb: fc.option(fc.double({ min: -10, max: 500, noNaN: false }), { nil: null }), createdAt: fc.integer({ min: daysAgo(60), max: NOW }) });

  it('never negative, never a fraction; more used or more data added never makes it fill later', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.array(backup, { maxLength: 40 }), fc.double({ min: 0.1, max: 100, noNaN: true }), (size, usedShare, backups, extra) => {
        const used = size * usedShare;
        const f = forecastFill({ sizeGb: size, usedGb: used, backups, now: NOW });
        expect(f.growthGbPerDay).toBeGreaterThanOrEqual(0);
        if (f.fillsInDays !== undefined) {
          expect(Number.isInteger(f.fillsInDays)).toBe(true);
          expect(f.fillsInDays).toBeGreaterThanOrEqual(0);
        }
        const fuller = forecastFill({ sizeGb: size, usedGb: Math.min(size, used + extra), backups, now: NOW });
        if (f.fillsInDays !== undefined) expect(fuller.fillsInDays).toBeLessThanOrEqual(f.fillsInDays);
        const more = forecastFill({ sizeGb: size, usedGb: used, backups: [...backups, { sizeGb: extra, createdAt: NOW }], now: NOW });
        expect(more.fillsInDays).not.toBeUndefined();
        if (f.fillsInDays !== undefined) expect(more.fillsInDays!).toBeLessThanOrEqual(f.fillsInDays);
      }),
    );
  });
});
