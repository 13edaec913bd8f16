/**
 * MessageBus on SQS: JSON body (the envelope), message attributes `type`, `runId` and `version` so
 * consumers, filters and humans can see what a message is without parsing it.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AppError } from '../errors';
import { MAX_MESSAGE_BYTES, type Message } from '../contracts';
import type { MessageBus, QueueName } from '../ports';

export class QueueSendError extends AppError {
  override readonly name = 'QueueSendError';
  readonly queue: QueueName;
  constructor(queue: QueueName, options: { cause?: unknown }) {
    super(`sending to the ${queue} queue failed`, { cause: options.cause, retryable: true });
    this.queue = queue;
  }
}

/** A message over MAX_MESSAGE_BYTES: consumers would refuse it, so it is never sent. */
export class MessageTooLargeError extends AppError {
  override readonly name = 'MessageTooLargeError';
  constructor(
    readonly queue: QueueName,
    readonly type: string,
    readonly bytes: number,
  ) {
    super(`a ${type} message of ${bytes} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit (queue ${queue})`, { retryable: false });
  }
}

export class SqsBus implements MessageBus {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Readonly<Record<QueueName, string>>,
  ) {}

  async send(queue: QueueName, message: Message, options: { delaySeconds?: number } = {}): Promise<void> {
    const delay = Math.max(0, Math.min(900, Math.round(options.delaySeconds ?? 0)));
    const body = JSON.stringify(message);
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(queue, message.type, bytes);
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrls[queue],
          MessageBody: body,
          ...(delay > 0 ? { DelaySeconds: delay } : {}),
          MessageAttributes: {
            type: { DataType: 'String', StringValue: message.type },
            runId: { DataType: 'String', StringValue: message.runId },
            version: { DataType: 'Number', StringValue: String(message.version) },
          },
        }),
      );
    } catch (cause) {
      throw new QueueSendError(queue, { cause });
    }
  }
}
