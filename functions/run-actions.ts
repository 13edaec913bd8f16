// run-actions: POST /runs/{id}/cancel and POST /runs/{id}/retry (JWT authorizer, the run's project in cbr_projects).
// Never imports the CBR client: a cancel only records the end; a retry only starts a run (like start-run).
import { runActionsHandler } from '../lib/pipeline/edge/run-actions';
import { config, intakeDeps, log } from '../lib/wiring/runtime';

export const handler = runActionsHandler(intakeDeps, { publicBaseUrl: config.PUBLIC_BASE_URL, log });
