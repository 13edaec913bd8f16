// start-checkpoint: resources.bound (checkpoint queue) -> CreateCheckpoint -> checkpoint.started.
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { log } from '../lib/pipeline/runtime';
import { pipelineDeps } from '../lib/pipeline/runtime-cbr';
import { startCheckpoint } from '../lib/pipeline/start-checkpoint';

export const handler = sqsStepHandler({ type: 'resources.bound', step: 'start-checkpoint', run: startCheckpoint }, pipelineDeps, log);
