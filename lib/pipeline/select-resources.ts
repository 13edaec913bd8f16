/**
 * Resolving a run's `select` (lib/contracts/selection.ts) when the run starts: create-vault, before the
 * pre-flight, lists the project's protectable servers or disks (ListProtectable, 50 a page; deleted ones
 * are not listed), applies the selection, and records on the run which ids it chose (`selection`) and
 * the resources it now backs up (`request.resources`, `select` dropped). A new server that matches is
 * backed up by the next firing of a plan without a redeploy. A duplicate delivery finds the run
 * resolved and does not list again. Nothing matched, or more than a vault holds (256), fails the run
 * before anything billable, naming the selection.
 */
import { describeSelection, applySelection } from '../contracts/selection';
import type { CbrApi, CbrProtectableType, CbrProtectableView } from '../ports';
import { tagsOf } from '../coverage/tags';
import { mutateRun } from '../store/mutate';
import { addEvent, type RunRecord } from '../store/run';
import { endRun } from './common';
import type { PipelineDeps } from '../wiring/deps';

const LIST_PAGE = 50;
const MAX_LIST_PAGES = 200;
const MAX_SELECTED = 256;

export type ListedInstance = CbrProtectableView & { detail?: unknown };

/** Every protectable instance of `type` in the project (with `status`, e.g. only the deleted ones). */
export async function listProtectables(cbr: CbrApi, type: CbrProtectableType, status?: 'deleted'): Promise<ListedInstance[]> {
  const out: ListedInstance[] = [];
  for (let page = 0, offset = 0; page < MAX_LIST_PAGES; page++) {
    const answer = await cbr.listProtectable(type, { limit: LIST_PAGE, offset, ...(status ? { status } : {}) });
    out.push(...answer.instances);
    offset += answer.instances.length;
    if (answer.instances.length < LIST_PAGE || (typeof answer.count === 'number' && offset >= answer.count)) break;
  }
  return out;
}

/** The run with its selection resolved, or undefined when it was ended (nothing or too much matched). */
export async function resolveSelection(deps: PipelineDeps, cbr: CbrApi, run: RunRecord): Promise<RunRecord | undefined> {
  const select = run.request.select;
  if (!select) return run;
  const listed = (await listProtectables(cbr, select.type)).filter((i) => (i.status ?? '').toLowerCase() !== 'deleted');
  const chosen = applySelection(select, listed.map((i) => ({ id: i.id, name: i.name ?? '', tags: tagsOf(i.detail) })));
  const what = describeSelection(select);
  const where = `project ${run.request.projectId} (${run.request.region})`;
  const now = deps.clock.now();
  if (chosen.length === 0 || chosen.length > MAX_SELECTED) {
    const reason = chosen.length === 0
      ? `select (${what}) matched none of the ${listed.length} protectable ${select.type}(s) of ${where}`
      : `select (${what}) matched ${chosen.length} ${select.type}s of ${where}; a vault holds at most ${MAX_SELECTED}: narrow it (tags, names, exclude) or split the run`;
    await endRun(deps, run.runId, 'FAILED', reason, { code: 'SELECTION_EMPTY', message: reason, step: 'create-vault', at: now });
    return undefined;
  }
  const type = select.type === 'server' ? 'OS::Nova::Server' as const : 'OS::Cinder::Volume' as const;
  const { run: recorded } = await mutateRun(
    deps.store,
    run.runId,
    (draft) => {
      if (!draft.request.select) return undefined; // a concurrent delivery resolved it first
      const { select: _select, ...request } = draft.request;
      draft.request = { ...request, resources: chosen.map((c) => ({ id: c.id, type, ...(c.name ? { name: c.name.slice(0, 255) } : {}) })) };
      draft.selection = { select, resolvedAt: now, ids: chosen.map((c) => c.id), listed: listed.length };
      addEvent(draft, now, 'create-vault', 'selection-resolved', `${what}: ${chosen.length} of ${listed.length} ${select.type}(s): ${chosen.map((c) => c.name || c.id).join(', ')}`.slice(0, 1000));
      return draft;
    },
    { now, initial: run },
  );
  return recorded;
}
