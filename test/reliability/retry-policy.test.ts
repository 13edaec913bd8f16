/**
 * The client-side retry rules the API-fault suite depends on, against the emulator: a throttled (429)
 * POST is repeated — the gateway refused it before CBR saw it — while a POST that failed with a 5xx
 * is not (it may have taken effect; the pipeline's lookups decide), so a throttle never costs a step
 * its SQS receive and a 5xx never makes a second checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../emulator/index';
import { createCbrClient, type CbrClient } from '../../lib/cbr/client';

let emu: Emulator;
let client: CbrClient;
let vaultId: string;

beforeAll(async () => {
  emu = await startEmulator({ clock: 'manual', seed: 6010 });
  client = createCbrClient({ region: DEMO.region, projectId: DEMO.projectId, endpoint: emu.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, sleep: async () => {}, now: () => new Date(emu.clock.now()) });
  const { vault } = await client.createVault({
    vault: { name: 'retry_policy', billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100 }, resources: [{ id: DEMO.servers[0].id, type: 'OS::Nova::Server' }] },
  });
  vaultId = vault!.id;
});
afterAll(async () => emu?.stop());

describe('retry policy for POSTs', () => {
  it('a 429 (gateway throttle) is retried even for a non-idempotent POST: one checkpoint', async () => {
    emu.state.resetRequestCounts();
    emu.faults.add({ id: 'throttle-once', operations: ['CreateCheckpoint'], error: { rate: 1, statuses: [429], retryAfterSeconds: 1 }, times: 1 });
    const { checkpoint } = await client.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters: { name: 'after_throttle' } } });
    expect(checkpoint.id).toBeDefined();
    expect(emu.state.requestCounts.byOperation.CreateCheckpoint).toBe(2);
    expect(emu.state.requestCounts.byStatus).toMatchObject({ 429: 1, 200: 1 });
    expect(emu.state.snapshot().checkpoints.filter((c) => (c.vault as { id: string }).id === vaultId)).toHaveLength(1);
  });

  it('a 5xx on a non-idempotent POST is not repeated by the client', async () => {
    emu.clock.advance(60_000); // the first checkpoint is done
    emu.state.resetRequestCounts();
    emu.faults.add({ id: 'fail-once', operations: ['CreateCheckpoint'], error: { rate: 1, statuses: [503] }, times: 1 });
    await expect(client.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters: { name: 'after_503' } } })).rejects.toMatchObject({ httpStatus: 503, retryable: true });
    expect(emu.state.requestCounts.byOperation.CreateCheckpoint).toBe(1);
  });
});
