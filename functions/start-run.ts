// start-run: POST /runs (webhook), the intake queue, plan schedules and direct invokes -> a new run.
// Never imports the CBR client (cold start): see test/unit/pipeline/bundles.test.ts.
import { startRunHandler } from '../lib/pipeline/edge/start-run';
import { config, intakeDeps, log } from '../lib/pipeline/runtime';

export const handler = startRunHandler(intakeDeps, { publicBaseUrl: config.PUBLIC_BASE_URL, log });
