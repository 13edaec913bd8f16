// vaults: GET /vaults (capacity and forecast), GET /vaults/orphaned and DELETE /vaults/{vaultId} (JWT authorizer, the vault's project in cbr_projects).
// Calls CBR for an operator within API Gateway's 30 s: OPERATOR_CALL_LIMITS, the invocation's remaining time checked before each call.
import { vaultsHandler } from '../lib/pipeline/edge/vaults';
import { log } from '../lib/wiring/runtime';
import { operatorCbrDeps } from '../lib/wiring/runtime-cbr';

export const handler = vaultsHandler(operatorCbrDeps, { log });
