/**
 * `cbr-flow dlq list|redrive` (main() in-process) against local-aws-sqs on loopback, with the queues
 * named and wired as the template declares them (each pipeline queue redrives to its `-dlq`).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../lib/ports';
import { main, type Io } from '../../local/cli';
import { startLocalSqs, type LocalServer } from '../../local/servers';

let sqsServer: LocalServer;
let sqs: SQSClient;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => '' };
  const code = await main(args, {}, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const urlOf = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
async function depthOf(name: string): Promise<number> {
  const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: await urlOf(name), AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
}

beforeAll(async () => {
  sqsServer = await startLocalSqs();
  sqs = new SQSClient({ endpoint: sqsServer.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  for (const q of QUEUE_NAMES) {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `cbr-flow-local-${q}-dlq` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }));
    await sqs.send(new CreateQueueCommand({ QueueName: `cbr-flow-local-${q}`, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 3 }) } }));
  }
  await sqs.send(new CreateQueueCommand({ QueueName: 'cbr-flow-local-schedules-dlq' }));
  const vaultDlq = await urlOf('cbr-flow-local-vault-dlq');
  for (let i = 0; i < 3; i++) await sqs.send(new SendMessageCommand({ QueueUrl: vaultDlq, MessageBody: JSON.stringify({ n: i }) }));
  await sqs.send(new SendMessageCommand({ QueueUrl: await urlOf('cbr-flow-local-schedules-dlq'), MessageBody: '{}' }));
}, 30_000);

afterAll(async () => {
  sqs?.destroy();
  await sqsServer?.stop();
});

describe('cbr-flow dlq', () => {
  it('list: every DLQ of the stage with its depth and where it redrives', async () => {
    const r = await cli(['dlq', 'list', '--sqs-endpoint', sqsServer.url]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^DEAD-LETTER QUEUE\s+MESSAGES\s+REDRIVES TO$/);
    expect(lines).toHaveLength(1 + QUEUE_NAMES.length + 1);
    expect(r.out).toMatch(/cbr-flow-local-vault-dlq\s+3\s+cbr-flow-local-vault\n/);
    expect(r.out).toMatch(/cbr-flow-local-share-dlq\s+0\s+cbr-flow-local-share\n/);
    expect(r.out).toMatch(/cbr-flow-local-schedules-dlq\s+1\s+\(none: plan-firing-failed consumes it\)$/);
  });

  it('redrive moves the messages back to the source queue (StartMessageMoveTask); the schedules DLQ is refused', async () => {
    const r = await cli(['dlq', 'redrive', '--sqs-endpoint', sqsServer.url]);
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining('cbr-flow-local-vault-dlq: moving 3 message(s) back to cbr-flow-local-vault') });
    expect(r.out).not.toContain('schedules');
    for (let i = 0; i < 50 && (await depthOf('cbr-flow-local-vault')) < 3; i++) await new Promise((res) => setTimeout(res, 100));
    expect(await depthOf('cbr-flow-local-vault')).toBe(3);
    expect(await depthOf('cbr-flow-local-vault-dlq')).toBe(0);
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: await urlOf('cbr-flow-local-vault'), MaxNumberOfMessages: 10 }));
    expect((got.Messages ?? []).map((m) => JSON.parse(m.Body!) as { n: number }).map((b) => b.n).sort()).toEqual([0, 1, 2]);
    expect(await cli(['dlq', 'redrive', 'vault', '--sqs-endpoint', sqsServer.url])).toMatchObject({ code: 0, out: 'cbr-flow-local-vault-dlq is empty: nothing to redrive' });
    expect(await cli(['dlq', 'redrive', 'schedules', '--sqs-endpoint', sqsServer.url])).toMatchObject({ code: 2, err: expect.stringContaining('has no source queue to redrive to') });
    expect(await cli(['dlq', 'redrive', 'bogus', '--sqs-endpoint', sqsServer.url])).toMatchObject({ code: 2, err: expect.stringContaining('unknown queue "bogus"; one of intake, vault') });
  });

  it('says what is wrong: another stage, an unreachable SQS, a bad sub-command', async () => {
    expect(await cli(['dlq', 'list', '--sqs-endpoint', sqsServer.url, '--stage', 'prod'])).toMatchObject({ code: 2, err: expect.stringContaining('no dead-letter queue of stage "prod"') });
    expect(await cli(['dlq', 'list', '--sqs-endpoint', 'http://127.0.0.1:9'])).toMatchObject({ code: 3, err: expect.stringContaining('cannot reach the SQS at http://127.0.0.1:9') });
    expect(await cli(['dlq', 'purge'])).toMatchObject({ code: 2, err: expect.stringContaining('expected `dlq list` or `dlq redrive [queue]`') });
    expect(await cli(['dlq', '--help'])).toMatchObject({ code: 0, out: expect.stringContaining('--sqs-endpoint <url>') });
  });
});
