/**
 * Which function consumes which queue (serverless.yml must agree: test/contract/serverless.test.ts).
 *   intake     -> start-run        (run.requested from other functions)
 *   vault      -> create-vault     (run.requested from start-run; re-queued to itself while a lease is busy)
 *   resources  -> add-resources    (vault.ready)
 *   checkpoint -> start-checkpoint (resources.bound; delayed to itself for skipped resources)
 *   share      -> share-backup     (checkpoint.finished from check-status)
 *   events     -> notify-run-finished (run.finished, share.pending -> signed notification; checkpoint.started is ignored)
 * check-status runs on a schedule and reads the store's due index instead of a queue.
 */
import type { QueueName } from '../ports';

export const QUEUE_CONSUMERS: Readonly<Record<QueueName, string | undefined>> = {
  intake: 'start-run',
  vault: 'create-vault',
  resources: 'add-resources',
  checkpoint: 'start-checkpoint',
  share: 'share-backup',
  events: 'notify-run-finished',
};

/** CloudFormation logical id of each queue (its DLQ is the same with DLQ instead of Queue). */
export const QUEUE_LOGICAL_IDS: Readonly<Record<QueueName, string>> = {
  intake: 'IntakeQueue',
  vault: 'VaultQueue',
  resources: 'ResourcesQueue',
  checkpoint: 'CheckpointQueue',
  share: 'ShareQueue',
  events: 'EventsQueue',
};
