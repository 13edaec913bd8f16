// get-run: GET /runs/{id} (record + timeline, 404 when unknown) and GET /runs (recent runs, for the CLI).
import { getRunHandler } from '../lib/pipeline/edge/get-run';
import { log, store } from '../lib/wiring/runtime';

export const handler = getRunHandler(store, log);
