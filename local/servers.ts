/**
 * Local stand-ins for the AWS services cbr-flow uses, speaking the real wire protocols on loopback:
 * dynalite (DynamoDB JSON API) and local-aws-sqs (SQS Query + JSON protocols). Used by `npm start`,
 * the integration tests and the benchmarks. Never used by a deployed function.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { createSqsServer } from 'local-aws-sqs';

const require = createRequire(import.meta.url);

export interface LocalServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  stop(): Promise<void>;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.closeAllConnections?.();
    server.close((err) => (err ? reject(err) : resolve()));
  });
}

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const { port: bound } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${bound}`);
    });
  });
}

/** dynalite on 127.0.0.1. `path` keeps the tables on disk (LevelDB); omit it for memory only. */
export async function startLocalDynamo(options: { port?: number; path?: string } = {}): Promise<LocalServer> {
  // dynalite ships no types and is CommonJS.
  const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  const url = await listen(server, options.port ?? 0);
  return { url, stop: () => closeServer(server) };
}

/** local-aws-sqs on 127.0.0.1; queue URLs look like http://127.0.0.1:PORT/<account>/<name>. */
export async function startLocalSqs(options: { port?: number; accountId?: string; region?: string } = {}): Promise<LocalServer> {
  const server = await createSqsServer({
    port: options.port ?? 0,
    hostname: '127.0.0.1',
    accountId: options.accountId ?? '000000000000',
    region: options.region ?? 'us-east-1',
    emulateQueueCreationLifecycle: false,
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}
