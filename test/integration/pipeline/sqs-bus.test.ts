import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalServer } from '../../../local/servers';
import { buildMessage, parseMessage } from '../../../lib/contracts';
import { QUEUE_NAMES, type QueueName } from '../../../lib/ports';
import { SqsBus } from '../../../lib/queue/sqs';

let sqs: LocalServer;
let client: SQSClient;
let urls: Record<QueueName, string>;

beforeAll(async () => {
  sqs = await startLocalSqs();
  client = new SQSClient({ endpoint: sqs.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  urls = Object.fromEntries(
    await Promise.all(QUEUE_NAMES.map(async (q) => [q, (await client.send(new CreateQueueCommand({ QueueName: `bus-${q}` }))).QueueUrl!])),
  ) as Record<QueueName, string>;
});
afterAll(async () => {
  client.destroy();
  await sqs.stop();
});

const message = buildMessage('vault.ready', {
  runId: '3f9c2a7e-5b1d-4c8e-9a2f-6d4b8e1c0a57',
  occurredAt: Date.parse('2026-11-22T02:00:05Z'),
  data: { vaultId: 'ea7b8717-2543-478a-a92d-3ca7ee448f67', vaultName: 'my_vault', created: true },
});

describe('SqsBus on local-aws-sqs', () => {
  it('sends the envelope as the body with type, runId and version attributes, to the right queue', async () => {
    const bus = new SqsBus(client, urls);
    await bus.send('resources', message);
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: urls.resources, MessageAttributeNames: ['All'], AttributeNames: ['All'], WaitTimeSeconds: 1 }));
    const [m] = out.Messages ?? [];
    expect(parseMessage(m!.Body!, 'vault.ready')).toEqual(message);
    expect(m!.MessageAttributes).toMatchObject({
      type: { DataType: 'String', StringValue: 'vault.ready' },
      runId: { DataType: 'String', StringValue: message.runId },
      version: { DataType: 'Number', StringValue: '1' },
    });
    const other = await client.send(new ReceiveMessageCommand({ QueueUrl: urls.vault, WaitTimeSeconds: 0 }));
    expect(other.Messages ?? []).toHaveLength(0);
  });

  it('honours DelaySeconds', async () => {
    const bus = new SqsBus(client, urls);
    await bus.send('checkpoint', message, { delaySeconds: 1 });
    const early = await client.send(new ReceiveMessageCommand({ QueueUrl: urls.checkpoint, WaitTimeSeconds: 0 }));
    expect(early.Messages ?? []).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1100));
    const late = await client.send(new ReceiveMessageCommand({ QueueUrl: urls.checkpoint, WaitTimeSeconds: 1 }));
    expect(late.Messages ?? []).toHaveLength(1);
  });

  it('wraps a send failure in a retryable QueueSendError naming the queue', async () => {
    const bus = new SqsBus(client, { ...urls, share: `${sqs.url}/000000000000/no-such-queue` });
    await expect(bus.send('share', message)).rejects.toMatchObject({ name: 'QueueSendError', queue: 'share', retryable: true });
  });
});
