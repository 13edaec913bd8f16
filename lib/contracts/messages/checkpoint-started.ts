import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { CbrId } from '../ids';
import { text } from '../text';

/** start-checkpoint -> run events (observers); the checker finds the run through the store's due index. */
export const CheckpointStartedV1 = envelopeOf(
  'checkpoint.started',
  1,
  z.strictObject({
    vaultId: CbrId,
    checkpointId: CbrId,
    checkpointName: text().min(1).max(64),
    seq: z.number().int().min(1).max(20),
    resourceIds: z.array(CbrId).max(256),
    skipped: z.array(z.strictObject({ id: text().max(64), reason: text().max(512) })).max(256),
  }),
);
export type CheckpointStartedV1 = z.infer<typeof CheckpointStartedV1>;
