/** `cbr-flow watch`: follow a run until it ends. */
import { CliError, type ApiClient, type RunView, type TimelineEntry } from './client';
import { formatEvent, seconds } from './format';

const TERMINAL = new Set(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']);

export interface WatchOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** How long the API may stay unreachable (or answer 5xx) before watch gives up with exit 3 (default 120 s). */
  reconnectMs?: number;
  /** After this long without a new line, a "still <state>" line with the elapsed time (default 15 s). */
  quietMs?: number;
  onEvent?: (line: string) => void;
  /** Each answer of GET /runs/{id} whose body differs from the previous one, exactly as it came (`--json`). */
  onAnswer?: (raw: string) => void;
  signal?: AbortSignal;
  /** The clock (tests). */
  now?: () => number;
}

const keyOf = (e: TimelineEntry) => `${e.at}\u001f${e.step}\u001f${e.event}\u001f${e.detail ?? ''}`;

/**
 * Polls GET /runs/{id} until the run reaches a terminal state, printing each new timeline event and
 * state change once. Times are the run's own (server) times, offset from its creation, so the final
 * "in N s" is the offset of its last line. Events are tracked by identity, not position (the run's
 * timeline drops old progress entries past 200). While nothing happens, a line every `quietMs` says
 * how long it has been. When the API goes away it says so once, keeps polling, says when it is back,
 * and gives up (CliError 3) after `reconnectMs`. Throws CliError(4) on `timeoutMs`.
 */
export async function watchRun(api: ApiClient, runId: string, options: WatchOptions = {}): Promise<RunView> {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 1000;
  const reconnectMs = options.reconnectMs ?? 120_000;
  const quietMs = options.quietMs ?? 15_000;
  const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
  const emit = options.onEvent ?? (() => undefined);
  const watchStart = now();
  const seen = new Set<string>();
  let lastState = '';
  let lastRaw = '';
  let lastLineAt = now();
  let lostSince: number | undefined;
  /** The run's creation time (the API's clock): every line's offset is from it. */
  let start: number | undefined;
  const say = (line: string) => { emit(line); lastLineAt = now(); };
  for (;;) {
    let run: RunView | undefined;
    try {
      const answer = await api.getRunAnswer(runId);
      run = answer.run;
      if (answer.raw !== lastRaw) options.onAnswer?.(answer.raw);
      lastRaw = answer.raw;
      if (lostSince !== undefined) say(`reconnected to ${api.endpoint} after ${seconds(now() - lostSince)}`);
      lostSince = undefined;
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode !== 3) throw err;
      if (lostSince === undefined) {
        lostSince = now();
        say(`lost contact with the API (${err.message.split(';')[0]}); retrying every ${seconds(interval)} for up to ${seconds(reconnectMs)}`);
      } else if (now() - lostSince >= reconnectMs) {
        throw new CliError(`gave up on run ${runId}: the API at ${api.endpoint} was unreachable for ${seconds(now() - lostSince)} (the run itself goes on; \`cbr-flow watch ${runId}\` again later)`, 3, { cause: err });
      }
    }
    if (run) {
      start ??= run.createdAt ?? run.timeline[0]?.at ?? watchStart;
      for (const e of run.timeline) {
        const key = keyOf(e);
        if (seen.has(key)) continue;
        seen.add(key);
        say(formatEvent(e, start));
      }
      if (run.state !== lastState) {
        const at = run.finishedAt ?? run.updatedAt ?? now();
        say(`[+${seconds(at - start).padStart(6)}] state ${run.state}${run.step ? ` (step ${run.step})` : ''}`);
        lastState = run.state;
      } else if (now() - lastLineAt >= quietMs) {
        say(`[+${seconds(now() - start).padStart(6)}] … still ${run.state}${run.step ? ` (step ${run.step})` : ''}, waiting`);
      }
      if (TERMINAL.has(run.state)) return run;
    }
    if (now() + interval > deadline) {
      throw new CliError(`run ${runId} is still ${lastState || 'unknown'} after ${seconds(options.timeoutMs ?? 0)}`, 4);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
    if (options.signal?.aborted) throw new CliError('watch interrupted', 4);
  }
}
