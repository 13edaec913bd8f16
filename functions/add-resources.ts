// add-resources: vault.ready (resources queue) -> bind missing resources -> resources.bound.
import { addResources } from '../lib/pipeline/add-resources';
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { log } from '../lib/pipeline/runtime';
import { pipelineDeps } from '../lib/pipeline/runtime-cbr';

export const handler = sqsStepHandler({ type: 'vault.ready', step: 'add-resources', run: addResources }, pipelineDeps, log);
