/**
 * retention-sweep's edge: a scheduled event in (hourly by default), one sweep under its lease
 * (lib/retention/sweep.ts), its figures logged, returned and written as metrics (EMF, namespace
 * cbr-flow): RetentionDeleted, RetentionRefused, RetentionRefusedPersisting (alarm: a backup CBR has
 * refused to delete for RETENTION_REFUSED_ALERT_SWEEPS sweeps in a row), RetentionErrors.
 */
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { sweepRetention, type RetentionDeps, type SweepResult } from '../../retention/sweep';
import { emfDocument } from '../../wiring/metrics';
import { withInvocationFields } from '../../wiring/log';

export function retentionSweepHandler(deps: RetentionDeps, stage: string, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {
  return withInvocationFields(
    middy<ScheduledEvent | Record<string, never>, SweepResult | { busy: true }>().handler(async () => {
      const started = Date.now();
      const result = await sweepRetention(deps);
      if (result === 'busy') {
        deps.log('info', 'retention sweep skipped: another sweep holds the lease');
        return { busy: true };
      }
      write(JSON.stringify(emfDocument(stage, deps.clock.now(), [
        ['RetentionDeleted', result.deleted, 'Count'],
        ['RetentionRefused', result.refused, 'Count'],
        ['RetentionRefusedPersisting', result.refusedPersisting, 'Count'],
        ['RetentionErrors', result.errors, 'Count'],
      ])));
      deps.log(result.refusedPersisting > 0 || result.errors > 0 ? 'warn' : 'info', 'retention sweep done', { ...result, ms: Date.now() - started });
      return result;
    }),
  );
}
