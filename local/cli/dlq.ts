/**
 * `cbr-flow dlq list|redrive`: the stack's dead-letter queues straight on SQS (not through the HTTP
 * API). Names are the template's: `cbr-flow-<stage>-<queue>-dlq` for each pipeline queue (redrive
 * target `cbr-flow-<stage>-<queue>`) and `cbr-flow-<stage>-schedules-dlq` (Lambda OnFailure records
 * of plan firings: listed, never redriven — plan-firing-failed consumes it).
 *
 * Redrive is SQS's own StartMessageMoveTask (DLQ -> its source queue), on AWS and on the local stack
 * (local-aws-sqs 2.0.2 implements it). Where: `--sqs-endpoint <url>` (a local stack: stage `local`
 * unless --stage, dummy credentials), else `--stage <stage>` on AWS (the default AWS SDK credential
 * chain and region: AWS_PROFILE, AWS_REGION or --region), else the running local stack's SQS (the
 * `sqsEndpoint` its data folder's stack.json names).
 */
import {
  GetQueueAttributesCommand, GetQueueUrlCommand, ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { QUEUE_NAMES } from '../../lib/ports';
import { CliError } from './client';

const SERVICE = 'cbr-flow';

export interface DlqTarget { stage: string; endpoint?: string | undefined; region?: string | undefined }

export interface DlqInfo {
  name: string;
  /** The queue it redrives to (none for the schedules DLQ). */
  source?: string;
  url?: string;
  arn?: string;
  /** Visible + in flight; undefined when the queue does not exist. */
  depth?: number;
  moving?: string;
}

function clientOf(t: DlqTarget): SQSClient {
  if (t.endpoint) {
    return new SQSClient({ endpoint: t.endpoint, region: t.region ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  }
  return new SQSClient(t.region ? { region: t.region } : {});
}

function describe(err: unknown, t: DlqTarget): CliError {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const where = t.endpoint ? `the SQS at ${t.endpoint}` : `SQS (stage ${t.stage}${t.region ? `, ${t.region}` : ''})`;
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message ?? '')) {
    return new CliError(`cannot reach ${where}: no AWS credentials (the default AWS SDK chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, instance role)`, 2, { cause: err });
  }
  if (/region/i.test(e.message ?? '') && !t.region) return new CliError(`cannot reach ${where}: no AWS region (set AWS_REGION or pass --region)`, 2, { cause: err });
  const code = e.code ?? e.cause?.code ?? e.name;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'TimeoutError') {
    return new CliError(`cannot reach ${where} (${code}); is \`npm start -- --serve\` running? Pass --sqs-endpoint, or --stage for AWS`, 3, { cause: err });
  }
  return new CliError(`${where}: ${e.name ?? 'error'}: ${e.message ?? String(err)}`, 3, { cause: err });
}

const isMissing = (err: unknown) => {
  const n = (err as { name?: string; Code?: string }).name ?? '';
  return /NonExistentQueue|QueueDoesNotExist/.test(n) || /NonExistentQueue|does not exist/i.test((err as Error).message ?? '');
};

async function queueOf(sqs: SQSClient, name: string): Promise<{ url: string; arn: string; depth: number } | undefined> {
  let url: string | undefined;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  if (!url) return undefined;
  const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: url, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }));
  return { url, arn: a.QueueArn ?? '', depth: Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

export function dlqNames(stage: string): Array<{ queue: string; name: string; source?: string }> {
  return [
    ...QUEUE_NAMES.map((q) => ({ queue: q, name: `${SERVICE}-${stage}-${q}-dlq`, source: `${SERVICE}-${stage}-${q}` })),
    { queue: 'schedules', name: `${SERVICE}-${stage}-schedules-dlq` },
  ];
}

/** Runs `work` with one SQS client for the target; SQS errors become a CliError saying where. */
async function withSqs<T>(t: DlqTarget, work: (sqs: SQSClient) => Promise<T>): Promise<T> {
  const sqs = clientOf(t);
  try {
    return await work(sqs);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw describe(err, t);
  } finally {
    sqs.destroy();
  }
}

async function dlqsOf(sqs: SQSClient, t: DlqTarget): Promise<Array<DlqInfo & { queue: string }>> {
  const out: Array<DlqInfo & { queue: string }> = [];
  for (const d of dlqNames(t.stage)) {
    const q = await queueOf(sqs, d.name);
    out.push({ ...d, ...(q ? { url: q.url, arn: q.arn, depth: q.depth } : {}) });
  }
  if (out.every((d) => d.depth === undefined)) {
    throw new CliError(`no dead-letter queue of stage "${t.stage}" at ${t.endpoint ?? 'SQS'} (expected ${out[0]!.name}, …); wrong --stage or --region?`, 2);
  }
  return out;
}

/** Every DLQ of the stage with its depth (undefined: the queue does not exist there). */
export function listDlqs(t: DlqTarget): Promise<Array<DlqInfo & { queue: string }>> {
  return withSqs(t, (sqs) => dlqsOf(sqs, t));
}

/**
 * Move every message of `queue`'s DLQ (or of every DLQ holding messages) back to its source queue
 * with StartMessageMoveTask. Returns what was started: DLQ, source, messages at the start.
 */
export async function redriveDlqs(t: DlqTarget, queue: string | undefined): Promise<Array<{ name: string; source: string; depth: number; taskHandle?: string }>> {
  if (queue === 'schedules') {
    throw new CliError('the schedules DLQ holds Lambda OnFailure records of plan firings; plan-firing-failed consumes it (each becomes a FAILED run): it has no source queue to redrive to', 2);
  }
  if (queue !== undefined && !(QUEUE_NAMES as readonly string[]).includes(queue)) {
    throw new CliError(`dlq redrive: unknown queue "${queue}"; one of ${QUEUE_NAMES.join(', ')} (or none for every DLQ with messages)`, 2);
  }
  return withSqs(t, async (sqs) => {
    const all = await dlqsOf(sqs, t);
    const started: Array<{ name: string; source: string; depth: number; taskHandle?: string }> = [];
    for (const d of all.filter((x) => x.source && (queue === undefined ? (x.depth ?? 0) > 0 : x.queue === queue))) {
      if (d.depth === undefined) throw new CliError(`dead-letter queue ${d.name} does not exist at ${t.endpoint ?? 'SQS'}`, 2);
      if (d.depth === 0) { started.push({ name: d.name, source: d.source!, depth: 0 }); continue; }
      const src = await queueOf(sqs, d.source!);
      if (!src) throw new CliError(`the source queue ${d.source} of ${d.name} does not exist`, 2);
      const running = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: d.arn, MaxResults: 1 })).catch(() => undefined);
      if (running?.Results?.[0]?.Status === 'RUNNING') {
        started.push({ name: d.name, source: d.source!, depth: d.depth, taskHandle: running.Results[0].TaskHandle ?? 'running' });
        continue;
      }
      const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: d.arn, DestinationArn: src.arn }));
      started.push({ name: d.name, source: d.source!, depth: d.depth, ...(task.TaskHandle ? { taskHandle: task.TaskHandle } : {}) });
    }
    return started;
  });
}
