/**
 * Selecting resources instead of listing ids (issue 16 item 2): a run request or plan may say
 * `select: { type, all | tags | names, exclude }`; the run resolves it against CBR's protectable listing
 * when it starts (create-vault, before the pre-flight) and records which ids it chose. Tags are read
 * from the listing's `detail` (lib/coverage/tags.ts). No CBR call here: `applySelection` is pure, used by
 * the pipeline, the coverage report (a plan covers what it selects) and `cbr-flow plans preview`.
 */
import * as z from 'zod';
import { CbrId } from './ids';

/** `key=value` (that value) or `key` (any value); keys <= 36, values <= 43 characters (cbr-api.md §2.1). */
const TagMatch = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[^=]{1,36}(=.{0,43})?$/, { error: 'must be key=value or key (a key of at most 36 characters, a value of at most 43)' });
/** A name pattern: `*` any run of characters, `?` one character; matched against the whole name. */
const Glob = z.string().min(1).max(255);

export const SelectionExclude = z.strictObject({
  ids: z.array(CbrId).max(256).optional(),
  names: z.array(Glob).max(20).optional(),
  tags: z.array(TagMatch).max(10).optional(),
});

export const Selection = z
  .strictObject({
    /** What to select: servers (default) or disks (EVS volumes, attached ones included). */
    type: z.enum(['server', 'disk']).default('server'),
    /** Every protectable resource of the type in the project. */
    all: z.literal(true).optional(),
    /** Resources carrying every one of these tags. */
    tags: z.array(TagMatch).min(1).max(10).optional(),
    /** Resources whose name matches one of these patterns. With `tags`, both must hold. */
    names: z.array(Glob).min(1).max(20).optional(),
    /** Dropped from what the rest selects. */
    exclude: SelectionExclude.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.all === undefined && s.tags === undefined && s.names === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'needs all: true, tags or names (what to select)' });
    }
    if (s.all !== undefined && (s.tags !== undefined || s.names !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['all'], message: 'selects everything: drop tags and names, or drop all (narrow with exclude)' });
    }
  });
export type Selection = z.infer<typeof Selection>;

/** What the selection sees of a protectable instance. */
export interface Selectable {
  id: string;
  name: string;
  tags: Readonly<Record<string, string>>;
}

function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 's');
}

function hasTag(tags: Readonly<Record<string, string>>, match: string): boolean {
  const at = match.indexOf('=');
  if (at < 0) return Object.hasOwn(tags, match);
  const key = match.slice(0, at);
  return Object.hasOwn(tags, key) && tags[key] === match.slice(at + 1);
}

/** The instances `select` picks, in listing order. */
export function applySelection<T extends Selectable>(select: Selection, instances: readonly T[]): T[] {
  const names = select.names?.map(globRegExp);
  const exNames = select.exclude?.names?.map(globRegExp) ?? [];
  const exIds = new Set(select.exclude?.ids ?? []);
  const exTags = select.exclude?.tags ?? [];
  return instances.filter((i) => {
    if (select.all !== true) {
      if (select.tags && !select.tags.every((t) => hasTag(i.tags, t))) return false;
      if (names && !names.some((re) => re.test(i.name))) return false;
    }
    if (exIds.has(i.id) || exNames.some((re) => re.test(i.name)) || exTags.some((t) => hasTag(i.tags, t))) return false;
    return true;
  });
}

/** A one-line description of a selection, for timelines and previews. */
export function describeSelection(select: Selection): string {
  const what = select.all ? `every ${select.type}` : [
    select.tags ? `${select.type}s tagged ${select.tags.join(' and ')}` : `${select.type}s`,
    select.names ? `named ${select.names.join(' or ')}` : '',
  ].filter(Boolean).join(' ');
  const ex = select.exclude;
  const but = ex ? [...(ex.ids ?? []), ...(ex.names ?? []).map((n) => `name ${n}`), ...(ex.tags ?? []).map((t) => `tag ${t}`)] : [];
  return but.length > 0 ? `${what}, except ${but.join(', ')}` : what;
}
