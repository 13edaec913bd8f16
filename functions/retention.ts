// retention: POST/DELETE/GET /holds, GET /retention/preview, GET /retention/ledger (JWT, the caller's projects in cbr_projects).
// The preview lists backups through CBR for an operator within API Gateway's 30 s: OPERATOR_CALL_LIMITS, like vaults.
import { retentionApiHandler } from '../lib/pipeline/edge/retention';
import { log } from '../lib/wiring/runtime';
import { operatorRetentionDeps } from '../lib/wiring/runtime-retention';

export const handler = retentionApiHandler(operatorRetentionDeps, { log });
