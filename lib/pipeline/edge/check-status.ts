/**
 * check-status's edge: a scheduled event in, the sweeps of one invocation (one, or several within
 * CHECK_SWEEP_WINDOW_SECONDS) and then the share sweep (lib/pipeline/share-sweep.ts: time-boxed shares,
 * pending alerts) under the sweep lease, their figures logged and returned.
 */
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { checkStatusExclusive, checkStatusWindow, type SweepResult } from '../check-status';
import { sweepShares } from '../share-sweep';
import type { PipelineDeps } from '../../wiring/deps';
import { jsonLogger, withInvocationFields } from '../../wiring/log';
import type { Logger } from '../../ports';

export function checkStatusHandler(deps: PipelineDeps, log: Logger = jsonLogger) {
  return withInvocationFields(
    middy<ScheduledEvent | Record<string, never>, SweepResult>().handler(async (_event, context) => {
      const started = Date.now();
      const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : undefined;
      const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
      const result = await checkStatusExclusive(deps, log, async () => {
        const checked = await checkStatusWindow(deps, log, { sleep, ...(remaining ? { remainingMs: remaining } : {}) });
        const shares = await sweepShares(deps, log);
        return { ...checked, shares, errors: checked.errors + shares.errors };
      });
      log(result.errors > 0 ? 'warn' : 'info', 'sweep done', { ...result, ms: Date.now() - started });
      return result;
    }),
  );
}
