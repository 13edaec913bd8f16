/**
 * P3 entry, cbr-flow's side: exactly what a handler needs to send a signed ShowCheckpoint (the client,
 * AK/SK auth, zod-validated response). Bundled on its own for the bytes / cold-import figures.
 */
import { createCbrClient } from '../../lib/cbr/client';
import type { CreateSender } from './sender';

export const createSender: CreateSender = (o) => {
  const client = createCbrClient({ region: o.region, projectId: o.projectId, endpoint: o.endpoint, auth: { type: 'aksk', ak: o.ak, sk: o.sk } });
  return async () => (await client.showCheckpoint(o.checkpointId)).checkpoint.status;
};
