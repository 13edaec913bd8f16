// retention: POST/DELETE/GET /holds, GET /retention/preview, GET /retention/ledger (JWT, the caller's projects in cbr_projects).
import { retentionApiHandler } from '../lib/pipeline/edge/retention';
import { log } from '../lib/wiring/runtime';
import { retentionDeps } from '../lib/wiring/runtime-retention';

export const handler = retentionApiHandler(retentionDeps, { log });
