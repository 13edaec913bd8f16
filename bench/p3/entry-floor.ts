/**
 * P3's floor: the least any client must do per ShowCheckpoint on this machine — one keep-alive
 * node:http GET with headers signed ONCE up front (replayed; the emulator accepts a date within 15 min)
 * and a JSON.parse of the body. No per-request signing, validation, timeout or retry. The CPU a real
 * client spends above this floor is the client's own overhead; both P3 peers are compared on it too.
 */
import { Agent, request } from 'node:http';
import { signRequest } from '../../lib/cbr/signer';
import type { CreateSender } from './sender';

export const createSender: CreateSender = (o) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const url = `${o.endpoint}/v3/${o.projectId}/checkpoints/${o.checkpointId}`;
  const base = { 'Content-Type': 'application/json', 'X-Project-Id': o.projectId };
  const headers = { ...base, ...signRequest({ method: 'GET', url, headers: base }, { ak: o.ak, sk: o.sk }) };
  return () =>
    new Promise<string>((resolve, reject) => {
      const req = request(url, { method: 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { checkpoint?: { status?: string } };
          if (res.statusCode !== 200 || typeof body.checkpoint?.status !== 'string') reject(new Error(`floor: HTTP ${res.statusCode}`));
          else resolve(body.checkpoint.status);
        });
      });
      req.on('error', reject);
      req.end();
    });
};
