// List semantics of ListBackups: limit/offset with count = total, repeated status filter, sort key:dir
// with default desc, marker, filters by vault/resource/name/time, and 9900 naming the bad parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator } from '../../emulator/index';
import type { Emulator } from '../../emulator/index';
import { raw, server, SERVER_A, SERVER_B, SERVER_C, SERVER_D, vaultBody } from './helpers';
import { officialClient, sdkFailure } from './sdk';
import type { OfficialClient } from './sdk';

let emu: Emulator;
let sdk: OfficialClient;
let vaultId: string;
const checkpoints: string[] = [];
beforeAll(async () => {
  emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 5_000 }, startTime: Date.now() });
  sdk = officialClient(emu.url);
  vaultId = (await sdk.createVault(vaultBody('lists', { resources: [SERVER_A, SERVER_B, SERVER_C, SERVER_D].map((id) => server(id)) }, { size: 10_000 }))).body.vault.id;
  // 3 completed checkpoints of 4 servers (named b0, b1, b2), then one that failed (b3) and one still protecting (b4)
  emu.faults.scriptCheckpoint({ match: { name: 'b3' }, outcome: 'error', resourceIds: [SERVER_A] });
  for (let i = 0; i < 5; i++) {
    const resources = i === 3 ? [SERVER_A] : i === 4 ? [SERVER_B] : undefined;
    const c = (await sdk.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters: { name: `b${i}`, ...(resources ? { resources } : {}) } } })).body.checkpoint;
    checkpoints.push(c.id);
    if (i !== 4) emu.clock.advance(5_000);
  }
});
afterAll(() => emu.stop());

describe('ListBackups', () => {
  it('count is the total; limit/offset page through it; default sort created_at desc', async () => {
    const all = (await sdk.listBackups({ vault_id: vaultId })).body;
    expect(all.count).toBe(14);
    expect(all.backups[0].name).toBe('b4');
    expect(all.backups.at(-1).name).toBe('b0');
    const pages: string[] = [];
    for (let offset = 0; offset < 14; offset += 5) {
      const page = (await sdk.listBackups({ vault_id: vaultId, limit: 5, offset })).body;
      expect(page.count).toBe(14);
      pages.push(...page.backups.map((b: any) => b.id));
    }
    expect(pages).toEqual(all.backups.map((b: any) => b.id));
    expect(new Set(pages).size).toBe(14);
    expect((await sdk.listBackups({ vault_id: vaultId, offset: 14 })).body).toEqual({ backups: [], count: 14, limit: 1000, offset: 14 });
  });

  it('repeated status filter', async () => {
    const q = (status: string[]) => sdk.listBackups({ vault_id: vaultId, status }).then((r) => r.body.count);
    expect(await q(['available'])).toBe(12);
    expect(await q(['protecting'])).toBe(1);
    expect(await q(['error'])).toBe(1);
    expect(await q(['error', 'protecting'])).toBe(2);
    // raw wire form status=a&status=b
    const r = await raw(emu.url, { path: `/v3/${DEMO.projectId}/backups`, query: 'status=error&status=protecting', sign: { date: new Date(emu.clock.now()) } });
    expect(r.json.count).toBe(2);
  });

  it('sort by name asc / desc and by several keys; bad key -> 9900', async () => {
    const names = async (sort: string) => (await sdk.listBackups({ vault_id: vaultId, sort })).body.backups.map((b: any) => b.name);
    const asc = await names('name:asc');
    expect(asc).toEqual([...asc].sort());
    expect(asc[0]).toBe('b0');
    expect((await names('name'))[0]).toBe('b4'); // direction defaults to desc
    const byStatus = (await sdk.listBackups({ vault_id: vaultId, sort: 'status:asc,created_at:desc' })).body.backups.map((b: any) => b.status);
    expect(byStatus[0]).toBe('available');
    expect(byStatus.at(-1)).toBe('protecting');
    const f = await sdkFailure(sdk.listBackups({ sort: 'size:asc' }));
    expect(f).toMatchObject({ httpStatusCode: 400, errorCode: 'BackupService.9900' });
    expect(f.errorMsg).toContain('sort');
  });

  it('filters: checkpoint, resource, name, time window, marker; bad enum -> 9900', async () => {
    expect((await sdk.listBackups({ checkpoint_id: checkpoints[1] })).body.count).toBe(4);
    expect((await sdk.listBackups({ resource_id: SERVER_A })).body.count).toBe(4);
    expect((await sdk.listBackups({ name: 'b2' })).body.count).toBe(4);
    expect((await sdk.listBackups({ resource_type: 'OS::Cinder::Volume' })).body.count).toBe(0);
    const all = (await sdk.listBackups({ vault_id: vaultId })).body.backups;
    const t = new Date(Date.parse(`${all[8].created_at}Z`)).toISOString().slice(0, 19) + 'Z';
    const since = (await sdk.listBackups({ start_time: t })).body.count;
    expect(since).toBeGreaterThanOrEqual(6);
    expect(since).toBeLessThan(14);
    const afterMarker = (await sdk.listBackups({ vault_id: vaultId, marker: all[3].id, limit: 2 })).body.backups.map((b: any) => b.id);
    expect(afterMarker).toEqual([all[4].id, all[5].id]);
    for (const [param, value] of [
      ['status', 'done'],
      ['own_type', 'mine'],
      ['start_time', '2024-01-01'],
      ['limit', '1001'],
      ['offset', '-1'],
    ]) {
      const e = await sdkFailure(sdk.listBackups({ [param!]: value }));
      expect(e.errorCode).toBe('BackupService.9900');
      expect(e.errorMsg).toContain(param);
    }
  });

  it('parent_id lists the disk backups of a server backup', async () => {
    const [b] = (await sdk.listBackups({ checkpoint_id: checkpoints[0], resource_id: SERVER_B })).body.backups;
    const children = (await sdk.listBackups({ parent_id: b.id })).body;
    expect(children.count).toBe(2);
    expect(children.backups.every((c: any) => c.parent_id === b.id && c.resource_type === 'OS::Cinder::Volume')).toBe(true);
  });

  it('members list pages with count = total', async () => {
    const [b] = (await sdk.listBackups({ checkpoint_id: checkpoints[0], resource_id: SERVER_A })).body.backups;
    await sdk.addMember(b.id, { members: [DEMO.peerProjectId] });
    expect((await sdk.showMembersDetail(b.id, { limit: 1, offset: 1 })).body).toEqual({ members: [], count: 1 });
    expect((await sdk.showMembersDetail(b.id, { dest_project_id: DEMO.peerProjectId })).body.members).toHaveLength(1);
  });
});
