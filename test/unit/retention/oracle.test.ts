/**
 * Issue 14 item 7 (first half): the engine's decisions against an independent, deliberately naive
 * oracle over random backup histories (several resources, two years, every status, the three CBR
 * timestamp shapes and unreadable ones), random rule sets, holds and time zones with DST.
 *
 * The oracle (lib/retention/oracle.ts, also the `retention` scenario's) shares nothing with
 * lib/retention/engine.ts but the rules' meaning: it reads the local calendar through
 * `toLocaleString('sv-SE')` and a weekday name, takes each backup's true instant from the generator
 * (no timestamp parsing), and decides each backup on its own by counting the backups newer than it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../lib/retention/engine';
import { retentionOracle } from '../../../lib/retention/oracle';
import { RetentionRules, type RetentionRulesInput } from '../../../lib/retention/rules';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 5, 9, 17, 0);
const TWO_YEARS_MINUTES = 2 * 366 * 24 * 60;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Shanghai', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'Pacific/Chatham'];
const SETTLED = ['available', 'error'];

interface Gen {
  id: string;
  resource: string | null;
  /** The true instant; null when created_at is unreadable. */
  ms: number | null;
  created_at: string | null;
  status: string | null;
}

const resources = ['e8cc6bfd-d324-4b88-9109-9fb0ba70676f', '97595625-198e-4e4d-879b-9d53f68ba551', '3c1f7a52-9a0e-4c55-8d2f-5b7e0c2d9a11'];

/** One instant written in one of CBR's three shapes (cbr-api.md §11), or an unreadable created_at. */
const createdAt = (ms: number): fc.Arbitrary<{ ms: number | null; created_at: string | null }> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant({ ms, created_at: new Date(ms).toISOString().replace('Z', '000').replace(/\.(\d{3})000$/, '.$1123') }) },
    { weight: 3, arbitrary: fc.constant({ ms, created_at: new Date(ms).toISOString() }) },
    { weight: 3, arbitrary: fc.constant({ ms, created_at: `${new Date(ms + 8 * 3600_000).toISOString().slice(0, 23)}+08:00` }) },
    { weight: 1, arbitrary: fc.constantFrom({ ms: null, created_at: null }, { ms: null, created_at: '' }, { ms: null, created_at: 'yesterday' }) },
  );

/**
 * Instants dense around calendar edges, so bucket boundaries decide the outcome: a cadence (every
 * `step` minutes, jittered) back from an anchor that is now, a new year, a Monday midnight or a DST
 * change in one of the zones, plus a few anywhere in the last two years (to the minute).
 */
const ANCHORS = [
  NOW,
  Date.UTC(2026, 0, 1, 0, 0), // new year in UTC; 08:00 in Shanghai
  Date.UTC(2025, 11, 31, 16, 0), // new year in Shanghai
  Date.UTC(2026, 10, 29, 23, 0), // Monday 2026-11-30 00:00 in Berlin
  Date.UTC(2026, 2, 29, 1, 0), // Berlin springs forward
  Date.UTC(2026, 9, 25, 1, 0), // Berlin falls back
  Date.UTC(2026, 10, 1, 6, 0), // New York falls back
  Date.UTC(2026, 3, 5, 3, 0), // Santiago falls back at midnight
  Date.UTC(2026, 3, 4, 15, 0), // Lord Howe falls back half an hour
];
const STEPS = [7, 60, 355, 719, 1439, 1441, 2880, 10_079, 44_000];

const instants = (anchor: number, step: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.nat(40), fc.integer({ min: -90, max: 90 })).map(([k, jitter]) => Math.min(anchor, NOW) - (k * step + jitter) * 60_000) },
    { weight: 1, arbitrary: fc.integer({ min: -TWO_YEARS_MINUTES, max: 24 * 60 }).map((m) => NOW + m * 60_000) },
  );

const backupAt = (instant: fc.Arbitrary<number>) =>
  fc
    .record({
      resource: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...resources) }, { weight: 1, arbitrary: fc.constant(null) }),
      ms: instant,
      status: fc.oneof(
        { weight: 8, arbitrary: fc.constant('available') },
        { weight: 2, arbitrary: fc.constantFrom('error', 'protecting', 'deleting', 'restoring', 'waiting_protect', 'waiting_delete', 'frozen') },
        { weight: 1, arbitrary: fc.constant(null) },
      ),
    })
    .chain((b) => createdAt(b.ms).map((c) => ({ resource: b.resource, status: b.status, ...c })));

const withIds = (list: Array<Omit<Gen, 'id'>>): Gen[] => list.map((b, i) => ({ ...b, id: `bk-${String(i).padStart(3, '0')}-${(i * 7919) % 1000}` }));

const history: fc.Arbitrary<Gen[]> = fc
  .tuple(fc.constantFrom(...ANCHORS), fc.constantFrom(...STEPS))
  .chain(([anchor, step]) => fc.array(backupAt(instants(anchor, step)), { maxLength: 60 }))
  .map(withIds);

/** Backups within 90 minutes either side of an instant, to the minute. */
const historyAround = (t: number): fc.Arbitrary<Gen[]> =>
  fc.array(backupAt(fc.integer({ min: -90, max: 90 }).map((m) => t + m * 60_000)), { maxLength: 30 }).map(withIds);

const ruleSet: fc.Arbitrary<RetentionRulesInput> = fc
  .record(
    {
      keepLast: fc.integer({ min: 0, max: 12 }),
      maxAgeDays: fc.integer({ min: 1, max: 800 }),
      gfs: fc.record({ days: fc.integer({ min: 0, max: 10 }), weeks: fc.integer({ min: 0, max: 8 }), months: fc.integer({ min: 0, max: 15 }), years: fc.integer({ min: 0, max: 3 }) }, { requiredKeys: [] }),
      floor: fc.integer({ min: 0, max: 5 }),
    },
    { requiredKeys: [] },
  )
  .filter((r) => RetentionRules.safeParse(r).success);

/** Rules and a history; one case in four crowds the rules' maxAgeDays boundary instead. */
const withHistory = ruleSet.chain((rules) =>
  fc.tuple(fc.constant(rules), rules.maxAgeDays === undefined ? history : fc.oneof({ weight: 3, arbitrary: history }, { weight: 1, arbitrary: historyAround(NOW - rules.maxAgeDays * DAY) })),
);

// ---------------------------------------------------------------- the oracle (lib/retention/oracle.ts)

const oracle = (all: Gen[], rules: RetentionRulesInput, holds: Set<string>, zone: string) => retentionOracle(all, RetentionRules.parse(rules), holds, zone, NOW);

describe('retention engine against a naive oracle', () => {
  it('keeps exactly what the oracle keeps, with the same reasons, and says which rules expired the rest', () => {
    fc.assert(
      fc.property(withHistory, fc.constantFrom(...ZONES), fc.array(fc.nat(59), { maxLength: 6 }), ([rules, all], zone, holdIdx) => {
        const holds = new Set(holdIdx.filter((i) => i < all.length).map((i) => all[i]!.id));
        const expected = oracle(all, rules, holds, zone);
        // CBR lists in no promised order: the engine must not care.
        const shuffled = [...all].reverse();
        const decisions = decide(
          shuffled.map((b) => ({ id: b.id, resource_id: b.resource, created_at: b.created_at, status: b.status })),
          RetentionRules.parse(rules),
          holds,
          new Date(NOW),
          zone,
        );
        expect(decisions.map((d) => d.backupId)).toEqual(shuffled.map((b) => b.id));
        const parsed = RetentionRules.parse(rules);
        const configured = (['keepLast', 'maxAgeDays', 'gfs', 'floor'] as const).filter((r) => (r === 'floor' ? (parsed.floor ?? 0) > 0 : parsed[r] !== undefined));
        for (const d of decisions) {
          const want = expected.get(d.backupId);
          if (want) {
            expect(d, `${d.backupId} is kept`).toMatchObject({ action: 'keep' });
            expect(new Set(d.reasons.map((r) => r.rule)), d.backupId).toEqual(want);
          } else {
            expect(d, `${d.backupId} is deleted`).toMatchObject({ action: 'delete' });
            expect(d.reasons.map((r) => r.rule)).toEqual(configured);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never deletes a held, unsettled or unreadable backup, nor one of the floor', () => {
    fc.assert(
      fc.property(withHistory, fc.constantFrom(...ZONES), ([rules, all], zone) => {
        const holds = new Set(all.filter((_, i) => i % 5 === 0).map((b) => b.id));
        const parsed = RetentionRules.parse(rules);
        const decisions = decide(all.map((b) => ({ id: b.id, resource_id: b.resource, created_at: b.created_at, status: b.status })), parsed, holds, NOW, zone);
        const deleted = new Set(decisions.filter((d) => d.action === 'delete').map((d) => d.backupId));
        for (const b of all) {
          if (holds.has(b.id) || b.ms === null || b.resource === null || !SETTLED.includes(b.status ?? '')) expect(deleted.has(b.id), b.id).toBe(false);
        }
        for (const r of resources) {
          const available = all.filter((b) => b.resource === r && b.ms !== null && b.status === 'available');
          const keptAvailable = available.filter((b) => !deleted.has(b.id)).length;
          expect(keptAvailable).toBeGreaterThanOrEqual(Math.min(parsed.floor ?? 0, available.length));
          const counts = (parsed.keepLast ?? 0) > 0 || (parsed.floor ?? 0) > 0 || Object.values(parsed.gfs ?? {}).some((n) => n > 0);
          if (counts && available.length > 0) expect(keptAvailable, `rules ${JSON.stringify(rules)} keep something of ${r}`).toBeGreaterThan(0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
