// check-status: every minute (EventBridge) -> sweep the due runs -> checkpoint.finished / EXPIRED / re-drives.
import { checkStatusHandler } from '../lib/pipeline/edge/check-status';
import { log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';

export const handler = checkStatusHandler(pipelineDeps, log);
