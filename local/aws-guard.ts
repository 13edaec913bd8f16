/**
 * Every function's AWS_ENDPOINT_URL points here, so an AWS SDK call to a service the local runtime
 * does not emulate (Secrets Manager, SSM, ...) fails at once on loopback with a clear error instead of
 * trying to reach AWS. DynamoDB and SQS have their own AWS_ENDPOINT_URL_* and never come here.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsGuard { url: string; close(): Promise<void> }

export async function startAwsGuard(log: (line: string) => void): Promise<AwsGuard> {
  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const service = /^[^/]*/.exec(String(req.headers.authorization ?? '').split('Credential=')[1]?.split('/')[3] ?? '')?.[0] || 'unknown';
    const what = target || `${req.method} ${req.url}`;
    const message = `cbr-flow local runtime: AWS service "${service}" (${what}) is not emulated locally; `
      + 'pass what the handler needs through the local environment instead';
    log(`[aws] ${message}`);
    req.resume();
    const body = JSON.stringify({ __type: 'NotEmulatedLocally', message, Message: message });
    res.writeHead(501, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'NotEmulatedLocally', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
