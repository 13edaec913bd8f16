// ReplicateBackup through cbr-flow's client (lib/cbr): strict in what it sends (a request the reference
// would refuse never leaves the process, the failure names the field), tolerant in what it reads (the
// reference's answer with every field optional, nulls and unknown fields), and in agreement with the
// emulator over HTTP across two regions (one CBR_ENDPOINT template `http://127.0.0.1:<port>/{region}`).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCbrClient } from '../../lib/cbr/client';
import { CbrApiError, CbrValidationError } from '../../lib/cbr/errors';
import type { CallEvent } from '../../lib/cbr/http';
import type { Transport } from '../../lib/cbr/transport';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator } from '../../emulator/index';

const P = DEMO.projectId;
const B = 'a5200268-74a5-4806-acc6-95793ab0228b';
const V = '0ca3eb86-8800-46da-9c37-9d657a825274';
const DEST = { destination_project_id: DEMO.other.projectId, destination_region: DEMO.other.region, destination_vault_id: V };

function seam(status: number, body: unknown, sent: string[] = []) {
  const transport: Transport = async (req) => {
    sent.push(`${req.method} ${req.origin}${req.path}`);
    return { status, headers: { 'x-request-id': 'r1' }, text: typeof body === 'string' ? body : JSON.stringify(body) };
  };
  return createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: 'http://127.0.0.1:9', auth: { type: 'aksk', ak: 'AK', sk: 'SK' }, transport, retry: { maxAttempts: 1 } });
}

describe('ReplicateBackup client: strict request, tolerant answer', () => {
  it("reads the reference's answer, with nulls and unknown fields", async () => {
    const sent: string[] = [];
    const body = {
      replication: {
        backup_id: B,
        destination_project_id: DEST.destination_project_id,
        destination_region: 'region2',
        destination_vault_id: V,
        project_id: P,
        provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
        replication_record_id: null,
        source_region: 'region1',
        something_new: { x: 1 },
      },
    };
    const r = await seam(200, body, sent).replicateBackup(B, { replicate: { ...DEST, name: 'copy_1', enable_acceleration: false } });
    expect(r.replication.backup_id).toBe(B);
    expect(r.replication.replication_record_id).toBeNull();
    expect(sent).toEqual([`POST http://127.0.0.1:9/v3/${P}/backups/${B}/replicate`]);
    // Only the envelope is required.
    expect((await seam(200, { replication: {} }).replicateBackup(B, { replicate: DEST })).replication).toEqual({});
    const missing = await seam(200, { something: 1 }).replicateBackup(B, { replicate: DEST }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(CbrApiError);
    expect((missing as CbrApiError).message).toContain('replication');
  });

  it('refuses, before sending, what the reference refuses, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ replicate: { ...DEST, destination_vault_id: 'nope' } }, 'destination_vault_id'],
      [{ replicate: { ...DEST, destination_project_id: 'x' } }, 'destination_project_id'],
      [{ replicate: { ...DEST, destination_region: '' } }, 'destination_region'],
      [{ replicate: { ...DEST, name: 'has space' } }, 'name'],
      [{ replicate: { ...DEST, description: '<b>' } }, 'description'],
      [{ replicate: { ...DEST, extra: 1 } }, 'extra'],
      [{ replicate: { destination_region: 'ap-southeast-3' } }, 'destination_project_id'],
    ];
    for (const [body, field] of cases) {
      const sent: string[] = [];
      const e = await seam(200, {}, sent).replicateBackup(B, body as never).catch((x: unknown) => x);
      expect(e, field).toBeInstanceOf(CbrValidationError);
      expect(String((e as Error).message), field).toContain(field);
      expect(sent).toEqual([]);
    }
  });
});

describe('ReplicateBackup client against the emulator (two regions)', () => {
  let emu: Emulator;
  let events: CallEvent[];
  beforeEach(async () => {
    events = [];
    emu = await startEmulator({ clock: 'manual', regions: [DEMO.other.region], timing: { checkpointMs: 5_000, replicationMs: 10_000 } });
  });
  afterEach(() => emu.stop());
  const client = (projectId: string, region: string) =>
    createCbrClient({ region, projectId, endpoint: `${emu.url}/{region}`, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, now: () => new Date(emu.clock.now()), retry: { baseDelayMs: 1 }, onCall: (e) => events.push(e) });

  it('replicates; the replica is found by name in the destination vault and the op log reads back', async () => {
    const src = client(P, DEMO.region);
    const dst = client(DEMO.other.projectId, DEMO.other.region);
    const server = DEMO.servers[0].id;
    const vault = (await src.createVault({ vault: { name: 'src', billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100 }, resources: [{ id: server, type: 'OS::Nova::Server' }] } })).vault!;
    const cp = (await src.createCheckpoint({ checkpoint: { vault_id: vault.id, parameters: { resources: [server] } } })).checkpoint;
    emu.clock.advance(5_000);
    const backup = (await src.listBackups({ checkpoint_id: cp.id })).backups[0]!;
    const target = (await dst.createVault({ vault: { name: 'dr', billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'replication', size: 100 }, resources: [] } })).vault!;
    const r = await src.replicateBackup(backup.id, { replicate: { ...DEST, destination_vault_id: target.id, name: 'rep_1' } });
    expect(r.replication).toMatchObject({ backup_id: backup.id, destination_region: DEMO.other.region, source_region: DEMO.region });
    const copies = (await dst.listBackups({ vault_id: target.id, name: 'rep_1' })).backups;
    expect(copies.map((c) => [c.status, c.image_type])).toEqual([['protecting', 'replication']]);
    const log = (await src.listOpLogs({ operation_type: 'replication' })).operation_logs[0]!;
    expect(log.extra_info?.replication?.destination_backup_id).toBe(copies[0]!.id);
    emu.clock.advance(10_000);
    expect((await dst.showBackup(copies[0]!.id)).backup.status).toBe('available');
    // Not repeated on its own: a refused second replicate is one call, one 400.
    const again = await src.replicateBackup(backup.id, { replicate: { ...DEST, destination_vault_id: target.id } }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(CbrApiError);
    expect(events.filter((e) => e.operation === 'ReplicateBackup')).toHaveLength(2);
  });
});
