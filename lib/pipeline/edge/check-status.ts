/** check-status's edge: a scheduled event in, one sweep (under the sweep lease), its figures logged and returned. */
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { checkStatusExclusive, type SweepResult } from '../check-status';
import type { PipelineDeps } from '../../wiring/deps';
import { jsonLogger, withInvocationFields } from '../../wiring/log';
import type { Logger } from '../../ports';

export function checkStatusHandler(deps: PipelineDeps, log: Logger = jsonLogger) {
  return withInvocationFields(
    middy<ScheduledEvent | Record<string, never>, SweepResult>().handler(async () => {
      const started = Date.now();
      const result = await checkStatusExclusive(deps, log);
      log(result.errors > 0 ? 'warn' : 'info', 'sweep done', { ...result, ms: Date.now() - started });
      return result;
    }),
  );
}
