// start-checkpoint: resources.bound (checkpoint queue) -> CreateCheckpoint -> checkpoint.started.
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';
import { startCheckpoint } from '../lib/pipeline/start-checkpoint';

export const handler = sqsStepHandler({ type: 'resources.bound', step: 'start-checkpoint', run: startCheckpoint }, pipelineDeps, log);
