import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { CbrId } from '../ids';
import { text } from '../text';

export const FinishedBackup = z.strictObject({
  id: CbrId,
  resourceId: text().min(1).max(64),
  resourceType: text().min(1).max(64),
  status: z.enum(['available', 'error']),
});

/** check-status -> share-backup: every checkpoint of the run has reached a final status. */
export const CheckpointFinishedV1 = envelopeOf(
  'checkpoint.finished',
  1,
  z.strictObject({
    checkpoints: z
      .array(
        z.strictObject({
          id: CbrId,
          seq: z.number().int().min(1).max(20),
          status: z.enum(['available', 'error', 'partial', 'empty']),
          backups: z.array(FinishedBackup).max(256),
        }),
      )
      .min(1)
      .max(20),
  }),
);
export type CheckpointFinishedV1 = z.infer<typeof CheckpointFinishedV1>;
