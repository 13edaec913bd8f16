/**
 * A loopback server speaking the AWS JSON 1.1 protocol for the two calls the secret loader makes:
 * Secrets Manager GetSecretValue (X-Amz-Target: secretsmanager.GetSecretValue) and SSM GetParameter
 * (X-Amz-Target: AmazonSSM.GetParameter). The real SDK clients talk to it through `endpoint`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeAnswer =
  | { value: string }
  | { error: string; status?: number; message?: string }
  | { delayMs: number; then: FakeAnswer };

export interface FakeAws {
  url: string;
  /** Secret or parameter id -> answer (read at each request, so tests can change it). */
  answers: Map<string, FakeAnswer>;
  calls: Array<{ target: string; id: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startFakeAws(): Promise<FakeAws> {
  const answers = new Map<string, FakeAnswer>();
  const calls: FakeAws['calls'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const id = String(body.SecretId ?? body.Name ?? '');
      calls.push({ target, id, headers: req.headers, body });
      let answer = answers.get(id) ?? { error: target.startsWith('AmazonSSM') ? 'ParameterNotFound' : 'ResourceNotFoundException', status: 400 };
      while ('delayMs' in answer) {
        await new Promise((r) => setTimeout(r, (answer as { delayMs: number }).delayMs));
        answer = answer.then;
      }
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.setHeader('x-amzn-requestid', `req-${calls.length}`);
      if ('error' in answer) {
        res.writeHead(answer.status ?? 400);
        res.end(JSON.stringify({ __type: answer.error, Message: answer.message ?? answer.error }));
        return;
      }
      res.writeHead(200);
      if (target === 'secretsmanager.GetSecretValue') {
        res.end(JSON.stringify({ ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`, Name: id, SecretString: answer.value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 }));
      } else if (target === 'AmazonSSM.GetParameter') {
        res.end(JSON.stringify({ Parameter: { Name: id, Type: 'SecureString', Value: answer.value, Version: 1, ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${id}` } }));
      } else {
        res.writeHead(400);
        res.end(JSON.stringify({ __type: 'UnknownOperationException' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answers,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** SDK client settings for the fake: loopback endpoint, dummy credentials, no SDK-level retries. */
export function fakeClientConfig(url: string) {
  return {
    endpoint: url,
    region: 'us-east-1',
    clientConfig: { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-access-key' }, maxAttempts: 1 },
  };
}
