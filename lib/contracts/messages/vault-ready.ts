import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { CbrId } from '../ids';
import { text } from '../text';

/** create-vault -> add-resources. */
export const VaultReadyV1 = envelopeOf(
  'vault.ready',
  1,
  z.strictObject({ vaultId: CbrId, vaultName: text().min(1).max(64), created: z.boolean() }),
);
export type VaultReadyV1 = z.infer<typeof VaultReadyV1>;
