/**
 * The message registry: every hand-off type and the versions this build understands. `parseMessage`
 * refuses an unknown type or version with a ValidationError naming `type` or `version`.
 */
import * as z from 'zod';
import { ValidationError } from '../errors';
import { EnvelopeHeader } from './envelope';
import { parseWith } from './parse';
import { stableUuid } from './ids';
import { CheckpointFinishedV1 } from './messages/checkpoint-finished';
import { CheckpointStartedV1 } from './messages/checkpoint-started';
import { ResourcesBoundV1 } from './messages/resources-bound';
import { RunFinishedV1 } from './messages/run-finished';
import { RunRequestedV1 } from './messages/run-requested';
import { SharePendingV1 } from './messages/share-pending';
import { VaultReadyV1 } from './messages/vault-ready';

export { CheckpointFinishedV1, CheckpointStartedV1, ResourcesBoundV1, RunFinishedV1, RunRequestedV1, SharePendingV1, VaultReadyV1 };

export const MESSAGE_SCHEMAS = {
  'run.requested': { 1: RunRequestedV1 },
  'vault.ready': { 1: VaultReadyV1 },
  'resources.bound': { 1: ResourcesBoundV1 },
  'checkpoint.started': { 1: CheckpointStartedV1 },
  'checkpoint.finished': { 1: CheckpointFinishedV1 },
  'run.finished': { 1: RunFinishedV1 },
  'share.pending': { 1: SharePendingV1 },
} as const;

export type MessageType = keyof typeof MESSAGE_SCHEMAS;
export const MESSAGE_TYPES = Object.keys(MESSAGE_SCHEMAS) as MessageType[];

export type Message =
  | RunRequestedV1
  | VaultReadyV1
  | ResourcesBoundV1
  | CheckpointStartedV1
  | CheckpointFinishedV1
  | RunFinishedV1
  | SharePendingV1;
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/**
 * Largest message body cbr-flow produces or accepts: SQS's classic limit (256 KiB). Queues may allow
 * up to 1 MiB today, so a bigger body can arrive from another producer; it is refused, never parsed.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(MESSAGE_SCHEMAS, type);
}

/** Parse any message (object or JSON text). Optionally insist on one type (a queue carries one). */
export function parseMessage<T extends MessageType>(input: unknown, expected?: T): MessageOf<T>;
export function parseMessage(input: unknown, expected?: MessageType): Message {
  let value = input;
  if (typeof input === 'string') {
    const bytes = Buffer.byteLength(input);
    if (bytes > MAX_MESSAGE_BYTES) throw new ValidationError('body', `is ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit of a message`);
    try {
      value = JSON.parse(input) as unknown;
    } catch (cause) {
      throw new ValidationError('body', 'is not valid JSON', { cause });
    }
  }
  const header = parseWith(EnvelopeHeader, value);
  if (!isMessageType(header.type)) {
    throw new ValidationError('type', `unknown message type '${header.type}' (known: ${MESSAGE_TYPES.join(', ')})`);
  }
  if (expected !== undefined && header.type !== expected) {
    throw new ValidationError('type', `expected a '${expected}' message, got '${header.type}'`);
  }
  const versions: Record<number, z.ZodType<Message>> = MESSAGE_SCHEMAS[header.type];
  const schema = versions[header.version];
  if (!schema) {
    const supported = Object.keys(versions).join(', ');
    throw new ValidationError('version', `unsupported version ${header.version} of '${header.type}' (supported: ${supported})`);
  }
  return parseWith(schema, value);
}

/**
 * Build an envelope. The id is stable for (run, type, key, attempt): a step that re-publishes after a
 * crash or a duplicate delivery emits the very same id, so consumers can de-duplicate on it.
 */
export function buildMessage<T extends MessageType>(
  type: T,
  fields: { runId: string; data: MessageOf<T>['data']; occurredAt: Date | number; attempt?: number; key?: string | number },
): MessageOf<T> {
  const attempt = fields.attempt ?? 1;
  const message = {
    id: stableUuid(fields.runId, type, fields.key ?? '', attempt),
    type,
    version: 1,
    runId: fields.runId,
    occurredAt: new Date(fields.occurredAt).toISOString(),
    attempt,
    data: fields.data,
  };
  return message as unknown as MessageOf<T>;
}
