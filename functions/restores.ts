// restores: POST /restores and GET /restores/{id} (JWT authorizer, the restore's project in cbr_projects).
// Calls CBR for an operator within API Gateway's 30 s (OPERATOR_CALL_LIMITS); the checker follows the restore.
import { restoresHandler } from '../lib/restore/edge';
import { config, log } from '../lib/wiring/runtime';
import { restoreDeps } from '../lib/wiring/runtime-cbr';

export const handler = restoresHandler(restoreDeps, { publicBaseUrl: config.PUBLIC_BASE_URL, log });
