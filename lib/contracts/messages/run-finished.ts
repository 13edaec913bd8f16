import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { text } from '../text';

/** share-backup / check-status / any step that fails a run -> run events (notifications). */
export const RunFinishedV1 = envelopeOf(
  'run.finished',
  1,
  z.strictObject({
    state: z.enum(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']),
    reason: text().max(2048).optional(),
    error: z
      .strictObject({ code: text().max(128), message: text().max(2048), requestId: text().max(128).optional() })
      .optional(),
    notifyUrl: text().max(2048).optional(),
  }),
);
export type RunFinishedV1 = z.infer<typeof RunFinishedV1>;
