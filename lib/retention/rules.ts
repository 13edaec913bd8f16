/**
 * The retention rule language (issue 14): which backups of a resource cbr-flow keeps. Every rule names
 * backups to KEEP; a backup is deleted only when no rule keeps it (the rules are a union, as in CBR's
 * own long-term retention and restic's `--keep-*`). Evaluated per resource by `decide` (./engine.ts):
 *
 *   keepLast N      the N newest `available` backups;
 *   maxAgeDays D    every backup created at most D x 24 h before now (whatever its status);
 *   gfs             the newest `available` backup of each of the most recent `days` calendar days,
 *                   `weeks` weeks (Monday to Sunday), `months` months and `years` years that HAVE an
 *                   available backup (CBR's day_backups .. year_backups), in `timezone` (an IANA name;
 *                   default: the plan's time zone, UTC for a run request without a plan);
 *   floor K         never delete the K newest `available` backups, whatever the other rules say;
 *   adopt           not a rule: the sweep also decides backups cbr-flow did not create (the vault's own).
 *
 * A rule set that keeps nothing whatever the history (no keepLast, maxAgeDays, gfs period or floor
 * above 0) is refused naming the field. Pure zod, imported by the run-request contract (cold start).
 */
import * as z from 'zod';
import { parseWith } from '../contracts/parse';

const count = (max: number) => z.number().int().min(0).max(max);

export const GfsRules = z.strictObject({
  days: count(1000).default(0),
  weeks: count(1000).default(0),
  months: count(1000).default(0),
  years: count(100).default(0),
});
export type GfsRules = z.infer<typeof GfsRules>;

export const GFS_PERIODS = ['days', 'weeks', 'months', 'years'] as const;
export type GfsPeriod = (typeof GFS_PERIODS)[number];

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const RetentionRules = z
  .strictObject({
    /** Keep the N newest available backups of each resource. */
    keepLast: count(10_000).optional(),
    /** Keep every backup created at most this many days (of 24 h) ago. */
    maxAgeDays: z.number().int().min(1).max(36_500).optional(),
    /** Grandfather-father-son: the newest available backup of each of the last N periods with one. */
    gfs: GfsRules.optional(),
    /** Never delete the K newest available backups of a resource, whatever the rules say. */
    floor: count(1000).optional(),
    /** IANA time zone of the GFS calendar; default: the plan's `timezone` (UTC without a plan). */
    timezone: z.string().min(1).max(64).optional(),
    /**
     * The sweep (lib/retention/sweep.ts) decides every backup in the vault, not only those cbr-flow
     * created. Set by a plan's `adopt: true` (lib/plans/plans.ts requestOf), or in a run request.
     */
    adopt: z.boolean().optional(),
  })
  .superRefine((rules, ctx) => {
    if (rules.timezone !== undefined && !isTimeZone(rules.timezone)) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown IANA time zone '${rules.timezone}'` });
    }
    if (keepsSomething(rules)) return;
    const fix = 'set keepLast, floor or a gfs period to 1 or more, or set maxAgeDays';
    const zeroes = (['keepLast', 'gfs', 'floor'] as const).filter((f) => (f === 'gfs' ? rules.gfs !== undefined && GFS_PERIODS.every((p) => rules.gfs![p] === 0) : rules[f] === 0));
    const present = rules.keepLast !== undefined || rules.maxAgeDays !== undefined || rules.gfs !== undefined || rules.floor !== undefined;
    // A present field that is out of range has its own issue already (zod goes on to refinements).
    if (!present) {
      ctx.addIssue({ code: 'custom', path: [], message: `has no rule that keeps a backup, so every backup would be deleted: ${fix}` });
    }
    for (const field of zeroes) {
      ctx.addIssue({ code: 'custom', path: [field], message: `keeps nothing, and no other rule keeps a backup, so every backup would be deleted: ${fix}` });
    }
  });
export type RetentionRules = z.infer<typeof RetentionRules>;
export type RetentionRulesInput = z.input<typeof RetentionRules>;

/** False exactly when the kept set is empty for every history (holds and unsettled backups aside). */
export function keepsSomething(rules: Pick<RetentionRules, 'keepLast' | 'maxAgeDays' | 'gfs' | 'floor'>): boolean {
  return (
    (rules.keepLast ?? 0) > 0 ||
    rules.maxAgeDays !== undefined ||
    (rules.floor ?? 0) > 0 ||
    (rules.gfs !== undefined && GFS_PERIODS.some((p) => rules.gfs![p] > 0))
  );
}

/** Validate rules at load; a ValidationError names the field under `root` (e.g. `retention.keepLast`). */
export function parseRetentionRules(value: unknown, root = 'retention'): RetentionRules {
  return parseWith(RetentionRules, value, root);
}
