import type { RunStore } from '../ports';
import { RunConflictError, RunNotFoundError } from './errors';
import { isTerminal, type RunRecord } from './run';

export interface MutateResult {
  run: RunRecord;
  /** False when `change` returned undefined (nothing to do) or the run was already terminal. */
  changed: boolean;
}

/**
 * Read-modify-write with optimistic versions: `change` gets a private copy of the current record and
 * returns it modified (or undefined for "nothing to do"); on a concurrent write it runs again on the
 * fresh record. Terminal runs are never passed to `change`.
 */
export async function mutateRun(
  store: RunStore,
  runId: string,
  change: (draft: RunRecord) => RunRecord | undefined | Promise<RunRecord | undefined>,
  options: { now: number; attempts?: number; initial?: RunRecord },
): Promise<MutateResult> {
  const attempts = options.attempts ?? 8;
  for (let i = 0; i < attempts; i++) {
    // `initial` (e.g. a record just read from the due index) saves one read; a stale one costs a retry.
    const current = i === 0 && options.initial ? options.initial : await store.get(runId);
    if (!current) throw new RunNotFoundError(runId);
    if (isTerminal(current.state)) return { run: current, changed: false };
    const next = await change(structuredClone(current));
    if (!next) return { run: current, changed: false };
    next.version = current.version + 1;
    next.updatedAt = options.now;
    const saved = await store.save(next);
    if (saved.ok) return { run: saved.run, changed: true };
    if (saved.reason === 'missing') throw new RunNotFoundError(runId);
    // 'stale' or 'terminal': re-read and decide again.
  }
  throw new RunConflictError(runId, attempts);
}
