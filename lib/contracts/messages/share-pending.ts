import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { CbrId } from '../ids';
import { text } from '../text';

/**
 * check-status's share sweep -> run events: a share member is still `pending` SHARE_PENDING_ALERT_HOURS
 * after it was shared (issue 15). notify-run-finished turns it into a signed `share.pending`
 * notification to the run's notifyUrl; published only for runs that have one.
 */
export const SharePendingV1 = envelopeOf(
  'share.pending',
  1,
  z.strictObject({
    backupId: CbrId,
    /** The receiving (member) project. */
    projectId: text().min(1).max(64),
    sharedAt: z.iso.datetime({ offset: true }),
  }),
);
export type SharePendingV1 = z.infer<typeof SharePendingV1>;
