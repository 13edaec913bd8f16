/**
 * The SQS driver (local/sqs-driver.ts) on virtual time, against local-aws-sqs on loopback: what a
 * handler sees and where its messages end up, as with Lambda's event-source mapping.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalServer } from '../../local/servers';
import { SqsDriver } from '../../local/sqs-driver';

let server: LocalServer;
let sqs: SQSClient;
let driver: SqsDriver;
let now = Date.UTC(2026, 10, 22, 10, 0, 0);
const clock = { now: () => now };

beforeEach(async () => {
  server = await startLocalSqs();
  sqs = new SQSClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  driver = new SqsDriver({ endpoint: server.url, region: 'us-east-1', time: { kind: 'virtual', clock } });
});

afterEach(async () => {
  await driver.stop();
  sqs.destroy();
  await server.stop();
});

async function queueWithDlq(name: string, maxReceiveCount: number): Promise<{ url: string; arn: string; dlqUrl: string }> {
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const url = (await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: { VisibilityTimeout: '60', RedrivePolicy: driver.redrivePolicy(dlqArn, maxReceiveCount) },
  }))).QueueUrl!;
  return { url, arn: `arn:aws:sqs:us-east-1:000000000000:${name}`, dlqUrl };
}

async function bodies(queueUrl: string): Promise<string[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
  return (out.Messages ?? []).map((m) => m.Body ?? '').sort();
}

describe('SQS driver on virtual time', () => {
  it("send() (Lambda's own delivery, e.g. an OnFailure destination) reaches that queue's mapping in the same pump", async () => {
    const source = await queueWithDlq('drv-source', 3);
    const dest = await queueWithDlq('drv-dest', 3);
    const delivered: string[] = [];
    driver.add({
      queueUrl: source.url, queueArn: source.arn, queueName: 'drv-source', functionKey: 'fn',
      batchSize: 10, maximumBatchingWindowInSeconds: 0, reportBatchItemFailures: true, pollers: 1,
      // The destination's worker is idle while this batch is in flight; the record sent is still delivered in this pump.
      invoke: async (event: SQSEvent) => {
        for (const r of event.Records) await driver.send(dest.url, `record of ${r.body}`);
        return { batchItemFailures: [] };
      },
    });
    driver.add({
      queueUrl: dest.url, queueArn: dest.arn, queueName: 'drv-dest', functionKey: 'on-failure',
      batchSize: 10, maximumBatchingWindowInSeconds: 0, reportBatchItemFailures: true, pollers: 1,
      invoke: async (event: SQSEvent) => {
        delivered.push(...event.Records.map((r) => r.body));
        return { batchItemFailures: [] };
      },
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: source.url, MessageBody: 'firing' }));
    expect(await driver.pump()).toBe(2);
    expect(delivered).toEqual(['record of firing']);
    expect(await bodies(dest.url)).toEqual([]);
  });

  it('deletes what succeeded, redelivers what batchItemFailures lists with the real receive count, and redrives it after maxReceiveCount receives', async () => {
    const q = await queueWithDlq('drv-partial', 3);
    const seen: Array<{ body: string; receives: string }> = [];
    driver.add({
      queueUrl: q.url, queueArn: q.arn, queueName: 'drv-partial', functionKey: 'fn',
      batchSize: 10, maximumBatchingWindowInSeconds: 0, reportBatchItemFailures: true, pollers: 1,
      invoke: async (event: SQSEvent) => {
        for (const r of event.Records) seen.push({ body: r.body, receives: r.attributes.ApproximateReceiveCount });
        return { batchItemFailures: event.Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: q.url, Entries: ['ok-1', 'bad', 'ok-2'].map((b, i) => ({ Id: String(i), MessageBody: b })) }));

    await driver.pump();

    expect(seen.filter((s) => s.body === 'bad').map((s) => s.receives)).toEqual(['1', '2', '3']);
    expect(seen.filter((s) => s.body.startsWith('ok')).map((s) => s.receives)).toEqual(['1', '1']);
    expect(await bodies(q.url)).toEqual([]);
    expect(await bodies(q.dlqUrl)).toEqual(['bad']);
  });

  it('a thrown error fails the whole batch; an invalid batch response too', async () => {
    const q = await queueWithDlq('drv-throw', 1);
    let calls = 0;
    driver.add({
      queueUrl: q.url, queueArn: q.arn, queueName: 'drv-throw', functionKey: 'fn',
      batchSize: 10, maximumBatchingWindowInSeconds: 0, reportBatchItemFailures: true, pollers: 1,
      invoke: async (event: SQSEvent) => {
        calls++;
        if (event.Records.some((r) => r.body === 'throw')) throw new Error('boom');
        return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
      },
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'throw' }));
    await driver.pump();
    await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'invalid' }));
    await driver.pump();

    expect(calls).toBe(2);
    expect(await bodies(q.dlqUrl)).toEqual(['invalid', 'throw']);
  });

  it('holds a delayed send until the virtual clock reaches it', async () => {
    const q = await queueWithDlq('drv-delay', 5);
    const delivered: string[] = [];
    driver.add({
      queueUrl: q.url, queueArn: q.arn, queueName: 'drv-delay', functionKey: 'fn',
      batchSize: 10, maximumBatchingWindowInSeconds: 0, reportBatchItemFailures: true, pollers: 2,
      invoke: async (event: SQSEvent) => { delivered.push(...event.Records.map((r) => r.body)); },
    });
    const send = async (): Promise<void> => { await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'later' })); };
    driver.hold(now + 30_000, q.url, send);
    expect(driver.nextDueAt()).toBe(now + 30_000);

    now += 29_000;
    await driver.releaseDue();
    await driver.pump();
    expect(delivered).toEqual([]);

    now += 1_000;
    await driver.releaseDue();
    await driver.pump();
    expect(delivered).toEqual(['later']);
    expect(driver.nextDueAt()).toBe(Infinity);
  });
});
