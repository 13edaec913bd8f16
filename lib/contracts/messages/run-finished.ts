import * as z from 'zod';
import { envelopeOf } from '../envelope';

/** share-backup / check-status / any step that fails a run -> run events (notifications). */
export const RunFinishedV1 = envelopeOf(
  'run.finished',
  1,
  z.strictObject({
    state: z.enum(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']),
    reason: z.string().max(2048).optional(),
    error: z
      .strictObject({ code: z.string().max(128), message: z.string().max(2048), requestId: z.string().max(128).optional() })
      .optional(),
    notifyUrl: z.string().max(2048).optional(),
  }),
);
export type RunFinishedV1 = z.infer<typeof RunFinishedV1>;
