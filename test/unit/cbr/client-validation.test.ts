/** Safe input: bad ids and bodies are typed validation errors naming the culprit, and nothing is sent. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/errors';
import { createCbrClient } from '../../../lib/cbr/client';
import type { CbrClient, CbrClientOptions } from '../../../lib/cbr/client';
import { CbrValidationError } from '../../../lib/cbr/errors';
import { CBR_REGIONS } from '../../../lib/cbr/regions';
import { startLoopbackServer } from '../../helpers/loopback-server';
import type { LoopbackServer } from '../../helpers/loopback-server';
import { AK, BACKUP_ID, P, PEER, SERVER_ID, SK, VAULT_ID } from './fixtures';

let server: LoopbackServer;
let client: CbrClient;
beforeAll(async () => {
  server = await startLoopbackServer();
  client = createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'aksk', ak: AK, sk: SK } });
});
afterAll(() => server.stop());
afterEach(() => {
  // the whole point: no request ever reached the server
  expect(server.requests).toHaveLength(0);
});

async function rejection(fn: () => Promise<unknown>): Promise<CbrValidationError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CbrValidationError);
  expect(err).toBeInstanceOf(ValidationError);
  return err as CbrValidationError;
}

const BAD_IDS: unknown[] = [
  '../vaults',
  `${VAULT_ID}/../../other`,
  `${VAULT_ID}?limit=1`,
  `${VAULT_ID}#x`,
  `${VAULT_ID} `,
  '%2e%2e',
  '',
  'not-an-id',
  '0a1b2c3d4e5f60718293a4b5c6d7e8f', // 31 hex
  '0a1b2c3d4e5f60718293a4b5c6d7e8f9a', // 33 hex
  '3b5816b5f29c-4172-9d9a-76c719a659ce',
  undefined,
  null,
  42,
];

const idCalls: Array<[string, string, (id: never) => Promise<unknown>]> = [
  ['showVault', 'vaultId', (id) => client.showVault(id)],
  ['updateVault', 'vaultId', (id) => client.updateVault(id, { vault: { threshold: 50 } })],
  ['deleteVault', 'vaultId', (id) => client.deleteVault(id)],
  ['addVaultResource', 'vaultId', (id) => client.addVaultResource(id, { resources: [{ id: SERVER_ID, type: 'OS::Nova::Server' }] })],
  ['removeVaultResource', 'vaultId', (id) => client.removeVaultResource(id, { resource_ids: [SERVER_ID] })],
  ['showCheckpoint', 'checkpointId', (id) => client.showCheckpoint(id)],
  ['showBackup', 'backupId', (id) => client.showBackup(id)],
  ['deleteBackup', 'backupId', (id) => client.deleteBackup(id)],
  ['addMember', 'backupId', (id) => client.addMember(id, { members: [PEER] })],
  ['showMembersDetail', 'backupId', (id) => client.showMembersDetail(id)],
  ['showMemberDetail(backupId)', 'backupId', (id) => client.showMemberDetail(id, PEER)],
  ['showMemberDetail(memberId)', 'memberId', (id) => client.showMemberDetail(BACKUP_ID, id)],
  ['updateMemberStatus(backupId)', 'backupId', (id) => client.updateMemberStatus(id, PEER, { status: 'rejected' })],
  ['updateMemberStatus(memberId)', 'memberId', (id) => client.updateMemberStatus(BACKUP_ID, id, { status: 'rejected' })],
  ['deleteMember(backupId)', 'backupId', (id) => client.deleteMember(id, PEER)],
  ['deleteMember(memberId)', 'memberId', (id) => client.deleteMember(BACKUP_ID, id)],
  ['showOpLog', 'operationLogId', (id) => client.showOpLog(id)],
];

describe('every id in a URL path is validated before any request', () => {
  for (const [name, field, call] of idCalls) {
    it(`${name}: bad ${field} -> CbrValidationError naming ${field}`, async () => {
      for (const bad of BAD_IDS) {
        const e = await rejection(() => call(bad as never));
        expect(e.field).toBe(field);
        // memberId: the member's project id under the default memberIdInPath ('project-id').
        expect(e.message).toMatch(new RegExp(field === 'memberId' ? "^memberId: must be the member's project id" : `^${field}: must be a UUID`));
      }
    });
  }

  it('accepts upper-case UUIDs and 32-hex ids (shape only)', async () => {
    server.respond(() => ({ status: 204 }));
    try {
      await client.deleteBackup(BACKUP_ID.toUpperCase());
      await client.deleteMember(BACKUP_ID, PEER);
      expect(server.requests.map((r) => r.path)).toEqual([`/v3/${P}/backups/${BACKUP_ID.toUpperCase()}`, `/v3/${P}/backups/${BACKUP_ID}/members/${PEER}`]);
    } finally {
      server.requests.length = 0;
    }
  });
});

describe('bodies and queries are validated against the reference', () => {
  const billing = { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100 } as const;
  it.each<[string, () => Promise<unknown>, string, RegExp]>([
    ['vault name with a space', () => client.createVault({ vault: { name: 'my vault', billing, resources: [] } }), 'body.vault.name', /letters, digits/],
    ['missing billing', () => client.createVault({ vault: { name: 'v', resources: [] } } as never), 'body.vault.billing', /./],
    ['misspelt field', () => client.createVault({ vault: { name: 'v', billing, resources: [], nmae: 'x' } } as never), 'body.vault', /nmae/],
    ['size below 10 GB', () => client.createVault({ vault: { name: 'v', billing: { ...billing, size: 5 }, resources: [] } }), 'body.vault.billing.size', /./],
    ['pre_paid without period', () => client.createVault({ vault: { name: 'v', billing: { ...billing, charging_mode: 'pre_paid' }, resources: [] } }), 'body.vault.billing.period_type', /pre_paid/],
    ['unknown resource type', () => client.addVaultResource(VAULT_ID, { resources: [{ id: 'r', type: 'OS::Bogus' as never }] }), 'body.resources.0.type', /./],
    ['duplicate resources', () => client.addVaultResource(VAULT_ID, { resources: [{ id: 'r', type: 'OS::Nova::Server' }, { id: 'r', type: 'OS::Nova::Server' }] }), 'body.resources', /unique/],
    ['empty update', () => client.updateVault(VAULT_ID, { vault: {} }), 'body.vault', /nothing to update/],
    ['checkpoint vault_id not an id', () => client.createCheckpoint({ checkpoint: { vault_id: '../x' } }), 'body.checkpoint.vault_id', /UUID/],
    ['member not a project id', () => client.addMember(BACKUP_ID, { members: [VAULT_ID] }), 'body.members.0', /32 hex/],
    ['more than 10 members', () => client.addMember(BACKUP_ID, { members: Array.from({ length: 11 }, (_, i) => i.toString(16).padStart(32, '0')) }), 'body.members', /./],
    ['accept without vault_id', () => client.updateMemberStatus(BACKUP_ID, P, { status: 'accepted' }), 'body.vault_id', /required when accepting/],
    ['unknown backup status filter', () => client.listBackups({ status: ['available', 'bogus' as never] }), 'query.status', /./],
    ['limit 0', () => client.listBackups({ limit: 0 }), 'query.limit', /./],
    ['limit above 1000', () => client.listVault({ limit: 1001 }), 'query.limit', /./],
    ['bad time filter', () => client.listOpLogs({ start_time: '2020-01-01 00:00' }), 'query.start_time', /YYYY-MM-DDTHH:MM:SSZ/],
    ['bad sort', () => client.listBackups({ sort: 'created_at:sideways' }), 'query.sort', /asc\|desc/],
    ['unknown query parameter', () => client.listBackups({ vaultid: VAULT_ID } as never), 'query', /vaultid/],
    ['comma inside one resource id', () => client.listVault({ resource_ids: ['a,b'] }), 'query.resource_ids.0', /comma/],
    ['idempotent not a boolean', () => client.showVault(VAULT_ID, { idempotent: 'yes' as never }), 'opts.idempotent', /boolean/],
  ])('%s', async (_name, call, field, message) => {
    const e = await rejection(call);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
    expect(e.issues[0]!.field).toBe(field);
  });
});

describe('client options', () => {
  const base: CbrClientOptions = { region: 'ap-southeast-1', projectId: P, auth: { type: 'aksk', ak: AK, sk: SK } };
  const field = (o: Partial<CbrClientOptions>) => {
    try {
      createCbrClient({ ...base, ...o } as CbrClientOptions);
    } catch (e) {
      expect(e).toBeInstanceOf(CbrValidationError);
      return (e as CbrValidationError).field;
    }
    return undefined;
  };

  it('knows the 34 CBR regions', () => {
    expect(CBR_REGIONS).toHaveLength(34);
    for (const region of CBR_REGIONS) expect(field({ region })).toBeUndefined();
  });

  it('rejects an unknown region without an endpoint override, accepts any region with one', () => {
    expect(field({ region: 'mars-north-1' })).toBe('options.region');
    expect(field({ region: 'mars-north-1', endpoint: server.url })).toBeUndefined();
    expect(field({ region: '' , endpoint: server.url })).toBe('options.region');
  });

  it('validates projectId, endpoint, auth, timeout and retry', () => {
    expect(field({ projectId: 'abc' })).toBe('options.projectId');
    expect(field({ projectId: VAULT_ID })).toBe('options.projectId');
    expect(field({ endpoint: 'ftp://x' })).toBe('options.endpoint');
    expect(field({ endpoint: 'not a url' })).toBe('options.endpoint');
    expect(field({ endpoint: 'https://user:pw@x.example' })).toBe('options.endpoint');
    expect(field({ auth: { type: 'aksk', ak: AK, sk: '' } })).toBe('options.auth.sk');
    expect(field({ auth: { type: 'token' } as never })).toBe('options.auth.tokens');
    expect(field({ auth: undefined as never })).toBe('options.auth');
    expect(field({ timeoutMs: 0 })).toBe('options.timeoutMs');
    expect(field({ retry: { maxAttempts: 0 } })).toBe('options.retry.maxAttempts');
  });

  it('never echoes the SK in a validation error', () => {
    try {
      createCbrClient({ ...base, projectId: 'bad', auth: { type: 'aksk', ak: AK, sk: SK } });
    } catch (e) {
      expect(JSON.stringify(e) + String(e)).not.toContain(SK);
    }
  });
});
