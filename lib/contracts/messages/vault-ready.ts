import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { CbrId } from '../ids';

/** create-vault -> add-resources. */
export const VaultReadyV1 = envelopeOf(
  'vault.ready',
  1,
  z.strictObject({ vaultId: CbrId, vaultName: z.string().min(1).max(64), created: z.boolean() }),
);
export type VaultReadyV1 = z.infer<typeof VaultReadyV1>;
