/**
 * In-memory MessageBus: records what each queue would receive (with its delay), so unit tests can
 * assert hand-offs and drive the next step by draining a queue.
 */
import type { Message } from '../contracts';
import type { MessageBus, QueueName } from '../ports';

export interface SentMessage {
  queue: QueueName;
  message: Message;
  delaySeconds: number;
}

export class MemoryBus implements MessageBus {
  readonly sent: SentMessage[] = [];

  async send(queue: QueueName, message: Message, options: { delaySeconds?: number } = {}): Promise<void> {
    this.sent.push({ queue, message: structuredClone(message), delaySeconds: options.delaySeconds ?? 0 });
  }

  /** Messages sent to `queue`, oldest first. */
  on(queue: QueueName): Message[] {
    return this.sent.filter((s) => s.queue === queue).map((s) => s.message);
  }

  /** Remove and return everything sent to `queue`. */
  drain(queue: QueueName): SentMessage[] {
    const taken = this.sent.filter((s) => s.queue === queue);
    for (const t of taken) this.sent.splice(this.sent.indexOf(t), 1);
    return taken;
  }
}
