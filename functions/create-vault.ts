// create-vault: run.requested (vault queue) -> find or create the vault -> vault.ready.
import { createVault } from '../lib/pipeline/create-vault';
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';

export const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, pipelineDeps, log);
