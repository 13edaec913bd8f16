/**
 * Pre-flight: before anything billable (CreateVault), check every resource of a run through CBR's
 * protectable listing (cbr-api.md §6.2): it exists in the project, has the declared type, is not
 * deleted, and is not protected by a vault other than the run's own. All problems are reported at once,
 * one per resource, and the run fails before a vault exists (create-vault.ts).
 *
 * CBR calls per run: resources of one type (a run has one), up to SHOW_MAX of them: one ShowProtectable
 * each; more: ListProtectable of the type, 50 a page, until every id is found (CBR's `id` filter takes a
 * single id, so a filtered list is no cheaper than a show). Resources not found as their declared type
 * are looked up once more as the other type (server <-> disk), to say "declared server, is a disk".
 * So a run of n <= SHOW_MAX resources costs n calls (+1 per missing one); a larger run costs
 * ceil(position of the last wanted instance / 50) pages. Resources already in the run's own vault (a
 * nightly run into the same vault) are not looked up: such a run costs no call at all. Every call goes through the same client (rate
 * limiter per project, the invocation's deadline check).
 */
import { cbrErrorOf, type CbrApi, type CbrProtectableType, type CbrProtectableView } from '../ports';
import type { RunRequest } from '../contracts/run-request';
import type { PreflightProblem } from '../store/run';
import { forEachLimited } from './limit';

/** Up to this many resources of a type are looked up one by one (ShowProtectable); more are listed. */
export const SHOW_MAX = 20;
const SHOW_CONCURRENCY = 4;
const LIST_PAGE = 50;

const TYPE_OF = { 'OS::Nova::Server': 'server', 'OS::Cinder::Volume': 'disk' } as const satisfies Record<string, CbrProtectableType>;
const LABEL: Record<CbrProtectableType, string> = { server: 'server', disk: 'disk (volume)' };

export interface PreflightResult {
  problems: PreflightProblem[];
  /** CBR calls the check made. */
  calls: number;
  /** Resources looked up; the others are already in the run's own vault. */
  checked: number;
  inVault: number;
}

/** The vault the run will use, when it already exists (found by name): resources in it are fine. */
export interface OwnVault {
  id?: string | undefined;
  name: string;
  /** Resources the vault already holds (ListVault lists them): fine as they are, not looked up again. */
  resourceIds?: ReadonlyArray<string> | undefined;
}

function isNotFound(error: unknown): boolean {
  const e = cbrErrorOf(error);
  if (!e) return false;
  return e.notFound === true || e.httpStatus === 404 || /(^|\.)6302$/.test(e.errorCode ?? '');
}

/** The instances among `ids` the project has as `type` (missing ones are absent from the map). */
async function lookUp(cbr: CbrApi, type: CbrProtectableType, ids: ReadonlyArray<string>, count: () => void): Promise<Map<string, CbrProtectableView>> {
  const found = new Map<string, CbrProtectableView>();
  if (ids.length === 0) return found;
  if (ids.length <= SHOW_MAX) {
    await forEachLimited(ids, SHOW_CONCURRENCY, async (id) => {
      count();
      try {
        const { instance } = await cbr.showProtectable(type, id);
        found.set(id, instance);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
    return found;
  }
  const wanted = new Set(ids);
  for (let offset = 0; ; offset += LIST_PAGE) {
    count();
    const page = await cbr.listProtectable(type, { limit: LIST_PAGE, offset });
    for (const instance of page.instances) {
      if (wanted.has(instance.id)) found.set(instance.id, instance);
    }
    if (found.size === wanted.size) break;
    if (page.instances.length < LIST_PAGE || (typeof page.count === 'number' && offset + LIST_PAGE >= page.count)) break;
  }
  return found;
}

function holdingVault(instance: CbrProtectableView): { id: string; name?: string } | undefined {
  const v = instance.protectable?.vault;
  if (!v || (!v.id && !v.name)) return undefined;
  return { id: v.id ?? '?', ...(v.name ? { name: v.name } : {}) };
}

function isOwn(vault: { id: string; name?: string }, own: OwnVault): boolean {
  if (own.id) return vault.id === own.id || (vault.id === '?' && vault.name === own.name);
  // The run's vault does not exist yet: a vault of that exact name would have been found, but CBR's
  // listings may lag each other, so the name decides.
  return vault.name !== undefined && vault.name === own.name;
}

function boundMessage(request: RunRequest, vault: { id: string; name?: string }): string {
  const which = vault.name ? `vault '${vault.name}' (${vault.id})` : `vault ${vault.id}`;
  const hint = vault.name
    ? request.vault.mode === 'create' || request.vault.name !== vault.name
      ? `; to back it up there, send vault: { mode: "reuse", name: "${vault.name}" }, or remove it from that vault first`
      : ''
    : '; remove it from that vault first, or reuse that vault';
  return `is already protected by ${which}${hint}`;
}

/**
 * Check the run's resources; `own` is the run's vault when it exists already. Throws only what CBR
 * answered other than "not found" (the step is retried).
 */
export async function preflight(cbr: CbrApi, request: RunRequest, own: OwnVault): Promise<PreflightResult> {
  let calls = 0;
  const count = () => {
    calls++;
  };
  const problems: PreflightProblem[] = [];
  const inOwn = new Set(own.resourceIds ?? []);
  const resources = request.resources.filter((r) => !inOwn.has(r.id));
  const byType = new Map<CbrProtectableType, string[]>();
  for (const r of resources) {
    const t = TYPE_OF[r.type];
    byType.set(t, [...(byType.get(t) ?? []), r.id]);
  }
  const found = new Map<string, CbrProtectableView>();
  const missing = new Map<CbrProtectableType, string[]>();
  for (const [type, ids] of byType) {
    const got = await lookUp(cbr, type, ids, count);
    for (const [id, v] of got) found.set(id, v);
    const absent = ids.filter((id) => !got.has(id));
    if (absent.length > 0) missing.set(type, absent);
  }
  const other = (t: CbrProtectableType): CbrProtectableType => (t === 'server' ? 'disk' : 'server');
  const asOther = new Map<string, CbrProtectableView>();
  for (const [type, ids] of missing) {
    for (const [id, v] of await lookUp(cbr, other(type), ids, count)) asOther.set(id, v);
  }

  for (const r of resources) {
    const declared = TYPE_OF[r.type];
    const instance = found.get(r.id);
    const base = { resourceId: r.id, declaredType: r.type };
    if (!instance) {
      const elsewhere = asOther.get(r.id);
      problems.push(
        elsewhere
          ? { ...base, problem: 'wrong-type', message: `declared ${LABEL[declared]} (${r.type}), is a ${LABEL[other(declared)]}${elsewhere.type ? ` (${elsewhere.type})` : ''}; send it with that type in a run of its own` }
          : { ...base, problem: 'not-found', message: `not found as ${LABEL[declared]} in project ${request.projectId} (${request.region ?? 'default region'})` },
      );
      continue;
    }
    if ((instance.status ?? '').toLowerCase() === 'deleted') {
      problems.push({ ...base, problem: 'deleted', message: `${LABEL[declared]} is deleted` });
      continue;
    }
    const vault = holdingVault(instance);
    if (vault && !isOwn(vault, own)) {
      problems.push({ ...base, problem: 'bound-elsewhere', message: boundMessage(request, vault), vault });
      continue;
    }
    if (!vault && instance.protectable?.result === false) {
      const why = [instance.protectable.code, instance.protectable.reason ?? instance.protectable.message].filter((x) => x).join(' ');
      problems.push({ ...base, problem: 'not-protectable', message: `CBR says it cannot be protected${why ? `: ${why}` : ''}` });
    }
  }
  return { problems, calls, checked: resources.length, inVault: request.resources.length - resources.length };
}

/** One line for the run's reason: every problem, resource by resource. */
export function preflightReason(problems: ReadonlyArray<PreflightProblem>): string {
  const lines = problems.map((p) => `${p.resourceId}: ${p.message}`);
  return `pre-flight found ${problems.length} problem${problems.length === 1 ? '' : 's'}, no vault was created: ${lines.join('; ')}`;
}
