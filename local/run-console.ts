/**
 * The human console of `npm start -- --serve`: one line per run event instead of the handlers' JSON.
 * A handler's log line naming a run ("run accepted", "step done", "notify done", ...) is the cue; the
 * lines themselves come from the run's record in the run store (its timeline and state), so each event
 * is printed once, in order, with the words `cbr-flow watch` uses (local/cli/format.ts):
 *
 *   10:02:03  run 84d8a328  [+  1.6s] create-vault     vault-created  a08ff49b-...
 *   10:02:15  run 84d8a328  COMPLETED in 13.9 s
 */
import type { RunStore } from '../lib/ports';
import { isTerminal, type RunRecord } from '../lib/store/run';
import { formatEvent, seconds } from './cli/format';

/** `[start-run] {"level":"info","msg":"run accepted","runId":"..."}` -> the run id, if the line names one. */
export function runIdOfLogLine(line: string): string | undefined {
  const brace = line.indexOf('{');
  if (brace < 0) return undefined;
  const m = /"runId":"([0-9a-fA-F-]{36})"/.exec(line.slice(brace));
  return m?.[1];
}

/** What was printed of a run: up to `lastAt`, `atLastAt` events stamped `lastAt` (the timeline drops old progress events past 200, so no index). */
interface Shown { lastAt: number; atLastAt: number; state: string; busy: boolean; again: boolean }

export class RunConsole {
  private readonly runs = new Map<string, Shown>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: Pick<RunStore, 'get'>,
    private readonly print: (line: string) => void,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /** Feed every log line of the stack; lines that name a run make its new events print. */
  onLogLine(line: string): void {
    const runId = runIdOfLogLine(line);
    if (runId) this.refresh(runId);
  }

  /** Prints what happened to a run since its last lines (at most one read in flight per run). */
  refresh(runId: string): void {
    let shown = this.runs.get(runId);
    if (!shown) this.runs.set(runId, (shown = { lastAt: -Infinity, atLastAt: 0, state: '', busy: false, again: false }));
    if (shown.busy) {
      shown.again = true;
      return;
    }
    shown.busy = true;
    const s = shown;
    const work = (async () => {
      do {
        s.again = false;
        try {
          const run = await this.store.get(runId);
          if (run) this.show(run, s);
        } catch (err) {
          this.onError(`run ${runId}: cannot read its record: ${(err as Error).message}`);
        }
      } while (s.again);
      s.busy = false;
    })();
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Resolves once no read is in flight (tests; stop). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private show(run: RunRecord, s: Shown): void {
    const head = (at: number): string => `${new Date(at).toISOString().slice(11, 19)}  run ${run.runId.slice(0, 8)}`;
    let sameAt = 0;
    for (const e of run.timeline) {
      if (e.at < s.lastAt) continue;
      if (e.at === s.lastAt && ++sameAt <= s.atLastAt) continue;
      this.print(`${head(e.at)}  ${formatEvent(e, run.createdAt)}`);
      if (e.at === s.lastAt) s.atLastAt++;
      else {
        s.lastAt = e.at;
        s.atLastAt = 1;
        sameAt = 1;
      }
    }
    if (run.state !== s.state) {
      s.state = run.state;
      if (isTerminal(run.state)) {
        const took = run.finishedAt !== undefined ? ` in ${seconds(run.finishedAt - run.createdAt)}` : '';
        this.print(`${head(run.finishedAt ?? run.updatedAt)}  ${run.state}${took}${run.reason ? `: ${run.reason}` : ''}`);
      }
    }
  }
}
