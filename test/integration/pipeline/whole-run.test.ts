/**
 * One whole backup run through the real function modules (functions/*.ts, config from the environment,
 * credentials from CBR_CREDENTIALS_JSON as on the local stage), real protocols on loopback: the CBR
 * emulator (manual clock), dynalite and local-aws-sqs. The test plays the Lambda SQS poller: it
 * receives batches, invokes the handler, deletes only what the handler did not report in
 * batchItemFailures, and delivers every step batch twice (at-least-once delivery).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message as SqsMessage } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../../emulator/index';
import { startLocalDynamo, startLocalSqs, type LocalServer } from '../../../local/servers';
import { toSqsRecord } from '../../../local/sqs-driver';
import { parseMessage } from '../../../lib/contracts';
import { QUEUE_NAMES, type QueueName } from '../../../lib/ports';
import { createRunsTable } from '../../../lib/store/dynamodb/table';
import { ALL_PROJECTS_READER, makeContext, makeHttpEvent, makeScheduledEvent } from '../../helpers/factories';
import { signedPost, TEST_WEBHOOK_KEY } from '../../helpers/webhooks';

let emulator: Emulator;
let dynamo: LocalServer;
let sqs: LocalServer;
let sqsClient: SQSClient;
const urls = {} as Record<QueueName, string>;
// A fresh invocation of a step: the whole 90 s timeout of serverless.yml ahead (the steps check it before each CBR call).
const ctx = { ...makeContext(), getRemainingTimeInMillis: () => 90_000 };
const MAX_RECEIVE = 3;

beforeAll(async () => {
  [emulator, dynamo, sqs] = await Promise.all([startEmulator({ clock: 'manual' }), startLocalDynamo(), startLocalSqs()]);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  sqsClient = new SQSClient({ endpoint: sqs.url, region: 'us-east-1', credentials });
  for (const q of QUEUE_NAMES) {
    const dlq = (await sqsClient.send(new CreateQueueCommand({ QueueName: `cbr-flow-it-${q}-dlq` }))).QueueUrl!;
    const { Attributes } = await sqsClient.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }));
    urls[q] = (
      await sqsClient.send(
        new CreateQueueCommand({
          QueueName: `cbr-flow-it-${q}`,
          Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: MAX_RECEIVE }) },
        }),
      )
    ).QueueUrl!;
  }
  const ddb = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials });
  await createRunsTable(ddb, 'cbr-flow-it-runs');
  ddb.destroy();
  Object.assign(process.env, {
    STAGE: 'local',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: 'cbr-flow-it-runs',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    INTAKE_QUEUE_URL: urls.intake,
    VAULT_QUEUE_URL: urls.vault,
    RESOURCES_QUEUE_URL: urls.resources,
    CHECKPOINT_QUEUE_URL: urls.checkpoint,
    SHARE_QUEUE_URL: urls.share,
    EVENTS_QUEUE_URL: urls.events,
    CBR_ENDPOINT: emulator.url,
    IAM_ENDPOINT: emulator.url,
    CBR_REGION: DEMO.region,
    CBR_CREDENTIALS_JSON: JSON.stringify({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }),
    // POST /runs is authenticated on the local stage too; the keys come inline here (local stage only).
    WEBHOOK_KEYS_JSON: JSON.stringify([TEST_WEBHOOK_KEY]),
    CHECK_FIRST_DELAY_SECONDS: '0',
    CHECK_BASE_DELAY_SECONDS: '1',
    MAX_RECEIVE_COUNT: String(MAX_RECEIVE),
    LOG_LEVEL: 'warn',
    // Inbound webhook signatures are covered by their own tests (and signed in test/helpers/pipeline-harness.ts).
    WEBHOOK_AUTH: 'off',
  });
});

afterAll(async () => {
  sqsClient?.destroy();
  await Promise.all([emulator?.stop(), dynamo?.stop(), sqs?.stop()]);
});

function toRecord(m: SqsMessage, queue: QueueName): SQSRecord {
  return toSqsRecord(m, `arn:aws:sqs:us-east-1:000000000000:cbr-flow-it-${queue}`, 'us-east-1');
}

type SqsHandler = (event: SQSEvent, context: typeof ctx) => Promise<SQSBatchResponse>;

/** Poll one queue once like Lambda's event source mapping (batch of up to 10), each batch delivered `copies` times. */
async function pollOnce(queue: QueueName, handler: SqsHandler, copies: number): Promise<number> {
  const out = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: urls[queue], MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }));
  const messages = out.Messages ?? [];
  if (messages.length === 0) return 0;
  const records = messages.map((m) => toRecord(m, queue));
  const failed = new Set<string>();
  for (let i = 0; i < copies; i++) {
    const res = await handler({ Records: records }, ctx);
    for (const f of res.batchItemFailures) failed.add(f.itemIdentifier);
  }
  for (const m of messages) {
    if (!failed.has(m.MessageId!)) await sqsClient.send(new DeleteMessageCommand({ QueueUrl: urls[queue], ReceiptHandle: m.ReceiptHandle! }));
  }
  return messages.length;
}

async function receiveAll(queue: QueueName) {
  const all = [];
  for (;;) {
    const out = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: urls[queue], MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
    if (!out.Messages?.length) return all;
    all.push(...out.Messages.map((m) => parseMessage(m.Body!)));
  }
}

/** The real function modules, imported after the environment is set (config is parsed at module load). */
async function functions() {
  const startRun = (await import('../../../functions/start-run')).handler;
  const getRun = (await import('../../../functions/get-run')).handler;
  const steps: Partial<Record<QueueName, SqsHandler>> = {
    vault: (await import('../../../functions/create-vault')).handler,
    resources: (await import('../../../functions/add-resources')).handler,
    checkpoint: (await import('../../../functions/start-checkpoint')).handler,
    share: (await import('../../../functions/share-backup')).handler,
  };
  const checkStatus = (await import('../../../functions/check-status')).handler;
  const pumpSteps = async () => {
    for (let quiet = 0, guard = 0; quiet < 2 && guard < 50; guard++) {
      let n = 0;
      for (const [queue, handler] of Object.entries(steps) as Array<[QueueName, SqsHandler]>) n += await pollOnce(queue, handler, 2);
      quiet = n === 0 ? quiet + 1 : 0;
    }
  };
  return { startRun, getRun, checkStatus, pumpSteps };
}

describe('a whole run on the emulator, dynalite and local-aws-sqs', () => {
  it('webhook -> vault -> resources -> checkpoint -> checker -> share -> COMPLETED', async () => {
    const { startRun, getRun, checkStatus, pumpSteps } = await functions();
    const servers = DEMO.servers.slice(0, 2);

    // 1. The webhook.
    const body = {
      projectId: DEMO.projectId,
      vault: { mode: 'create', name: 'it_vault', billing: { chargingMode: 'post_paid', size: 500 } },
      resources: servers.map((s) => ({ id: s.id, type: 'OS::Nova::Server', name: s.name })),
      checkpoint: { name: 'it', description: 'integration run' },
      shareWith: [DEMO.peerProjectId],
    };
    const accepted = (await startRun(signedPost(JSON.stringify(body)), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(accepted.statusCode).toBe(202);
    const { runId, statusUrl } = JSON.parse(accepted.body!) as { runId: string; statusUrl: string };
    expect(statusUrl).toMatch(new RegExp(`/runs/${runId}$`));

    // 2. vault -> resources -> checkpoint, every batch delivered twice.
    await pumpSteps();
    const show = async () => {
      const res = (await getRun(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: `/runs/${runId}`, routeKey: 'GET /runs/{id}', pathParameters: { id: runId } }), ctx)) as APIGatewayProxyStructuredResultV2;
      expect(res.statusCode).toBe(200);
      return JSON.parse(res.body!) as { state: string; step: string; checkpoints: Array<{ id: string; status: string }>; shares: unknown[]; timeline: Array<{ event: string }> };
    };
    let run = await show();
    expect(run).toMatchObject({ state: 'RUNNING', step: 'check-status' });

    // 3. The checker while the checkpoint is still protecting: nothing finishes, the run is rescheduled.
    let sweep = await checkStatus(makeScheduledEvent(), ctx);
    expect(sweep).toMatchObject({ due: 1, vaults: 1, finished: 0, rescheduled: 1, errors: 0 });
    expect(await receiveAll('share')).toEqual([]);

    // 4. CBR finishes the backups; the next sweep (due 1 s later) hands off to share-backup.
    emulator.clock.advance(15_000);
    await new Promise((r) => setTimeout(r, 1100));
    sweep = await checkStatus(makeScheduledEvent(), ctx);
    expect(sweep).toMatchObject({ finished: 1, errors: 0 });
    await pumpSteps();

    // 5. The run and CBR's own state.
    run = await show();
    expect(run.state).toBe('COMPLETED');
    expect(run.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['vault-created', 'resources-bound', 'checkpoint-started', 'checkpoint-available', 'completed']));
    const snap = emulator.state.snapshot();
    expect(snap.vaults.map((v) => v.name)).toEqual(['it_vault']);
    expect(snap.checkpoints).toHaveLength(1);
    expect(snap.checkpoints[0]).toMatchObject({ id: run.checkpoints[0]!.id, status: 'available' });
    const serverBackups = snap.backups.filter((b) => b.resource_type === 'OS::Nova::Server');
    expect(serverBackups.map((b) => b.resource_id).sort()).toEqual(servers.map((s) => s.id).sort());
    expect(snap.members).toHaveLength(serverBackups.length);
    for (const m of snap.members) expect(m).toMatchObject({ dest_project_id: DEMO.peerProjectId, status: 'pending' });
    expect(run.shares).toHaveLength(serverBackups.length);

    const events = await receiveAll('events');
    // Duplicates are expected (at-least-once, every batch delivered twice) but carry one stable id per event.
    const idsOf = (type: string) => new Set(events.filter((m) => m.type === type).map((m) => m.id));
    expect(idsOf('checkpoint.started').size).toBe(1);
    expect(idsOf('run.finished').size).toBe(1);
    expect(events.find((m) => m.type === 'run.finished')!.data).toMatchObject({ state: 'COMPLETED' });
    for (const q of QUEUE_NAMES.filter((q) => q !== 'events')) expect(await receiveAll(q), q).toEqual([]);

    const calls = emulator.state.requestCounts.byOperation;
    expect(calls.CreateVault).toBe(1);
    expect(calls.CreateCheckpoint).toBe(1);
    // Two copies of vault.ready in one batch run concurrently: the second AddVaultResource is refused
    // (7116, already in this vault) and re-read as success; nothing is bound twice.
    expect(calls.AddVaultResource).toBeLessThanOrEqual(2);
    expect((snap.vaults[0]!.resources as unknown[]).length).toBe(servers.length);
    expect(calls.AddMember).toBe(serverBackups.length);
    console.log(`CBR calls for one run (every step batch delivered twice): ${JSON.stringify(calls)}`);
  });

  it('a checkpoint CBR ends in error fails the run with CBR\'s reason from the task log', async () => {
    const { startRun, getRun, checkStatus, pumpSteps } = await functions();
    emulator.state.resetRequestCounts();
    emulator.faults.scriptCheckpoint({ match: 'next', outcome: 'error', reason: 'snapshot quota exceeded', code: 'BackupService.0002' });
    const server = DEMO.servers[2]!;
    const body = { projectId: DEMO.projectId, vault: { mode: 'create', name: 'it_failing', billing: { chargingMode: 'post_paid', size: 500 } }, resources: [{ id: server.id, type: 'OS::Nova::Server' }], shareWith: [DEMO.peerProjectId] };
    const accepted = (await startRun(signedPost(JSON.stringify(body)), ctx)) as APIGatewayProxyStructuredResultV2;
    const { runId } = JSON.parse(accepted.body!) as { runId: string };
    await pumpSteps();
    emulator.clock.advance(15_000);
    await checkStatus(makeScheduledEvent(), ctx);
    await pumpSteps();
    const res = (await getRun(makeHttpEvent({ method: 'GET', claims: ALL_PROJECTS_READER, path: `/runs/${runId}`, routeKey: 'GET /runs/{id}', pathParameters: { id: runId } }), ctx)) as APIGatewayProxyStructuredResultV2;
    const run = JSON.parse(res.body!) as { state: string; reason: string; lastError: { code: string; message: string } };
    expect(run.state).toBe('FAILED');
    expect(run.reason).toContain('snapshot quota exceeded');
    expect(run.lastError).toMatchObject({ code: 'BackupService.0002', message: expect.stringContaining('snapshot quota exceeded') });
    expect(emulator.state.requestCounts.byOperation.AddMember ?? 0).toBe(0);
  });
});
