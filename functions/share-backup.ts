// share-backup: checkpoint.finished (share queue) -> AddMember per server backup -> run.finished.
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import { log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';
import { shareBackups } from '../lib/pipeline/share-backup';

export const handler = sqsStepHandler({ type: 'checkpoint.finished', step: 'share-backup', run: shareBackups }, pipelineDeps, log);
