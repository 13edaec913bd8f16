// add-resources: vault.ready (resources queue) -> bind missing resources -> resources.bound.
import { addResources } from '../lib/pipeline/add-resources';
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';

export const handler = sqsStepHandler({ type: 'vault.ready', step: 'add-resources', run: addResources }, pipelineDeps, log);
