import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { CbrId } from '../ids';

/**
 * add-resources -> start-checkpoint (seq 1), and start-checkpoint -> itself, delayed, for resources
 * CBR skipped because they were still being backed up (seq 2, 3, ...).
 */
export const ResourcesBoundV1 = envelopeOf(
  'resources.bound',
  1,
  z.strictObject({
    vaultId: CbrId,
    resourceIds: z.array(CbrId).min(1).max(256),
    seq: z.number().int().min(1).max(20),
  }),
);
export type ResourcesBoundV1 = z.infer<typeof ResourcesBoundV1>;
