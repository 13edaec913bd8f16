/**
 * The versioned envelope every hand-off message travels in. `id` is stable per (run, step, attempt
 * sequence) so consumers can de-duplicate; `attempt` counts deliberate re-publications (a lease that
 * was busy, a watchdog re-drive), not SQS redeliveries.
 */
import * as z from 'zod';
import { RunId } from './ids';
import { text } from './text';

export function envelopeOf<T extends string, D extends z.ZodType>(type: T, version: number, data: D) {
  return z.strictObject({
    id: z.uuid(),
    type: z.literal(type),
    version: z.literal(version),
    runId: RunId,
    occurredAt: z.iso.datetime({ offset: true }),
    attempt: z.number().int().min(1).max(1000),
    data,
  });
}

/** Just enough of an envelope to pick the right schema and to say clearly why a message is refused. */
export const EnvelopeHeader = z.object({
  type: text().min(1).max(64),
  version: z.number().int(),
  runId: text().max(64).optional(),
});
