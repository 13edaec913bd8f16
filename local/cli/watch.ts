/** `cbr-flow watch`: follow a run until it ends. */
import { CliError, type ApiClient, type RunView } from './client';
import { formatEvent, seconds } from './format';

const TERMINAL = new Set(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']);

export interface WatchOptions {
  intervalMs?: number;
  timeoutMs?: number;
  onEvent?: (line: string) => void;
  /** Each answer of GET /runs/{id} whose body differs from the previous one, exactly as it came (`--json`). */
  onAnswer?: (raw: string) => void;
  signal?: AbortSignal;
}

/**
 * Polls GET /runs/{id} until the run reaches a terminal state, reporting each new timeline event and
 * state change once. Resolves with the final record; throws CliError(4) on timeout. A few failed polls
 * in a row (the endpoint restarting) are tolerated; a persistent failure is thrown.
 */
export async function watchRun(api: ApiClient, runId: string, options: WatchOptions = {}): Promise<RunView> {
  const interval = options.intervalMs ?? 1000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const emit = options.onEvent ?? (() => undefined);
  const watchStart = Date.now();
  let shown = 0;
  let lastState = '';
  let failures = 0;
  let lastRaw = '';
  for (;;) {
    let run: RunView | undefined;
    try {
      const answer = await api.getRunAnswer(runId);
      run = answer.run;
      if (answer.raw !== lastRaw) options.onAnswer?.(answer.raw);
      lastRaw = answer.raw;
      failures = 0;
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode !== 3 || ++failures >= 5) throw err;
    }
    if (run) {
      const start = run.createdAt ?? run.timeline[0]?.at ?? watchStart;
      for (const e of run.timeline.slice(shown)) emit(formatEvent(e, start));
      shown = Math.max(shown, run.timeline.length);
      if (run.state !== lastState) {
        emit(`[+${seconds(Date.now() - start).padStart(6)}] state ${run.state}${run.step ? ` (step ${run.step})` : ''}`);
        lastState = run.state;
      }
      if (TERMINAL.has(run.state)) return run;
    }
    if (Date.now() + interval > deadline) {
      throw new CliError(`run ${runId} is still ${lastState || 'unknown'} after ${seconds(options.timeoutMs ?? 0)}`, 4);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
    if (options.signal?.aborted) throw new CliError('watch interrupted', 4);
  }
}
