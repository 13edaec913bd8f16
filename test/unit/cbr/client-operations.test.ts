/**
 * Every operation of INTERFACES.md §1 against a loopback HTTP server that checks method, path, query,
 * headers (including an independent AK/SK signature check) and body, then the parsed result.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCbrClient } from '../../../lib/cbr/client';
import type { CbrClient } from '../../../lib/cbr/client';
import { parseCbrTimestamp } from '../../../lib/cbr/time';
import { startLoopbackServer, verifyAkSk } from '../../helpers/loopback-server';
import type { LoopbackServer, RecordedRequest, Reply } from '../../helpers/loopback-server';
import { AK, BACKUP, BACKUP_ID, CHECKPOINT, CHECKPOINT_ID, MEMBER, OPLOG, OPLOG_ID, P, PEER, SERVER_ID, SK, VAULT, VAULT_ID } from './fixtures';

let server: LoopbackServer;
let client: CbrClient;

beforeAll(async () => {
  server = await startLoopbackServer();
  client = createCbrClient({ region: 'ap-southeast-1', projectId: P, endpoint: server.url, auth: { type: 'aksk', ak: AK, sk: SK }, retry: { maxAttempts: 1 } });
});
afterAll(() => server.stop());
beforeEach(() => {
  server.requests.length = 0;
});

function expectWellFormed(req: RecordedRequest, hasBody: boolean): void {
  expect(req.headers['x-project-id']).toBe(P);
  expect(req.headers['content-type']).toBe('application/json');
  expect(req.headers.host).toBe(new URL(server.url).host);
  expect(req.headers['x-auth-token']).toBeUndefined();
  const v = verifyAkSk(req, { [AK]: SK }, new Date());
  expect(v, v.reason).toMatchObject({ ok: true, ak: AK });
  expect(v.signedHeaders).toEqual(['content-type', 'host', 'x-project-id', 'x-sdk-date']);
  if (!hasBody) expect(req.body).toBe('');
}

interface OpCase {
  name: string;
  call: (c: CbrClient) => Promise<unknown>;
  method: string;
  path: string;
  query?: string;
  body?: unknown;
  reply: Reply;
  check: (result: never) => void;
}

const cases: OpCase[] = [
  {
    name: 'createVault',
    call: (c) =>
      c.createVault(
        {
          vault: {
            name: 'vault-1',
            billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100 },
            resources: [{ id: SERVER_ID, type: 'OS::Nova::Server', name: 'ecs-1' }],
            tags: [{ key: 'env', value: 'prod' }],
            auto_bind: false,
          },
        },
        { idempotent: false },
      ),
    method: 'POST',
    path: `/v3/${P}/vaults`,
    body: {
      vault: {
        name: 'vault-1',
        billing: { consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: 100 },
        resources: [{ id: SERVER_ID, type: 'OS::Nova::Server', name: 'ecs-1' }],
        tags: [{ key: 'env', value: 'prod' }],
        auto_bind: false,
      },
    },
    reply: { body: { vault: VAULT } },
    check: (r: { vault: typeof VAULT & { billing: { used: number } } }) => {
      expect(r.vault.id).toBe(VAULT_ID);
      expect(r.vault.billing.used).toBe(0); // "0" coerced
      expect(r.vault.some_future_field).toEqual({ x: 1 }); // unknown fields kept
      expect(parseCbrTimestamp(r.vault.created_at!).toISOString()).toBe('2019-05-10T07:59:12.733Z');
    },
  },
  {
    name: 'showVault',
    call: (c) => c.showVault(VAULT_ID),
    method: 'GET',
    path: `/v3/${P}/vaults/${VAULT_ID}`,
    reply: { body: { vault: VAULT } },
    check: (r: { vault: { resources: Array<{ protect_status: string }> } }) => expect(r.vault.resources[0]!.protect_status).toBe('available'),
  },
  {
    name: 'listVault with every filter, repeated id and comma-joined resource_ids',
    call: (c) =>
      c.listVault({
        limit: 10,
        offset: 0,
        name: 'my vault',
        cloud_type: 'public',
        protect_type: 'backup',
        object_type: 'server',
        enterprise_project_id: 'all_granted_eps',
        id: [VAULT_ID, 'aa2999fa5ae640f28926f8fd79188934'],
        policy_id: 'pol-1',
        status: 'available',
        resource_ids: [SERVER_ID, 'r2'],
      }),
    method: 'GET',
    path: `/v3/${P}/vaults`,
    query:
      `cloud_type=public&enterprise_project_id=all_granted_eps&id=${VAULT_ID}&id=aa2999fa5ae640f28926f8fd79188934` +
      `&limit=10&name=my%20vault&object_type=server&offset=0&policy_id=pol-1&protect_type=backup&resource_ids=${SERVER_ID}%2Cr2&status=available`,
    reply: { body: { vaults: [VAULT], count: '1' } },
    check: (r: { vaults: unknown[]; count: number }) => {
      expect(r.vaults).toHaveLength(1);
      expect(r.count).toBe(1);
    },
  },
  {
    name: 'updateVault',
    call: (c) => c.updateVault(VAULT_ID, { vault: { name: 'renamed', billing: { size: 200 }, threshold: 90 } }),
    method: 'PUT',
    path: `/v3/${P}/vaults/${VAULT_ID}`,
    body: { vault: { name: 'renamed', billing: { size: 200 }, threshold: 90 } },
    reply: { body: { vault: { ...VAULT, name: 'renamed' } } },
    check: (r: { vault: { name: string } }) => expect(r.vault.name).toBe('renamed'),
  },
  {
    name: 'deleteVault (204, empty body)',
    call: (c) => c.deleteVault(VAULT_ID),
    method: 'DELETE',
    path: `/v3/${P}/vaults/${VAULT_ID}`,
    reply: { status: 204 },
    check: (r: undefined) => expect(r).toBeUndefined(),
  },
  {
    name: 'addVaultResource',
    call: (c) => c.addVaultResource(VAULT_ID, { resources: [{ id: SERVER_ID, type: 'OS::Nova::Server', extra_info: { exclude_volumes: ['v1'] } }] }),
    method: 'POST',
    path: `/v3/${P}/vaults/${VAULT_ID}/addresources`,
    body: { resources: [{ id: SERVER_ID, type: 'OS::Nova::Server', extra_info: { exclude_volumes: ['v1'] } }] },
    reply: { body: { add_resource_ids: [SERVER_ID] } },
    check: (r: { add_resource_ids: string[] }) => expect(r.add_resource_ids).toEqual([SERVER_ID]),
  },
  {
    name: 'removeVaultResource',
    call: (c) => c.removeVaultResource(VAULT_ID, { resource_ids: [SERVER_ID] }),
    method: 'POST',
    path: `/v3/${P}/vaults/${VAULT_ID}/removeresources`,
    body: { resource_ids: [SERVER_ID] },
    reply: { body: { remove_resource_ids: [SERVER_ID] } },
    check: (r: { remove_resource_ids: string[] }) => expect(r.remove_resource_ids).toEqual([SERVER_ID]),
  },
  {
    name: 'createCheckpoint',
    call: (c) =>
      c.createCheckpoint({
        checkpoint: { vault_id: VAULT_ID, parameters: { auto_trigger: false, description: 'backup_description', incremental: true, name: 'backup_name', resources: [SERVER_ID] } },
      }),
    method: 'POST',
    path: `/v3/${P}/checkpoints`,
    body: { checkpoint: { vault_id: VAULT_ID, parameters: { auto_trigger: false, description: 'backup_description', incremental: true, name: 'backup_name', resources: [SERVER_ID] } } },
    reply: { body: { checkpoint: CHECKPOINT } },
    check: (r: { checkpoint: { status: string; vault: { resources: Array<{ resource_size: number }> } } }) => {
      expect(r.checkpoint.status).toBe('protecting');
      expect(r.checkpoint.vault.resources[0]!.resource_size).toBe(40); // "40" coerced
    },
  },
  {
    name: 'showCheckpoint',
    call: (c) => c.showCheckpoint(CHECKPOINT_ID),
    method: 'GET',
    path: `/v3/${P}/checkpoints/${CHECKPOINT_ID}`,
    reply: { body: { checkpoint: { ...CHECKPOINT, status: 'available', extra_info: { name: 'b', description: null, retention_duration: null } } } },
    check: (r: { checkpoint: { status: string; created_at: string } }) => {
      expect(r.checkpoint.status).toBe('available');
      // naive timestamp read as UTC, not local time
      expect(parseCbrTimestamp(r.checkpoint.created_at).toISOString()).toBe('2019-05-10T07:59:12.037Z');
    },
  },
  {
    name: 'listBackups with every documented filter, repeated status sorted, Date filter formatted',
    call: (c) =>
      c.listBackups({
        checkpoint_id: CHECKPOINT_ID,
        vault_id: VAULT_ID,
        resource_id: SERVER_ID,
        resource_name: 'ecs 1',
        resource_type: 'OS::Nova::Server',
        resource_az: 'ap-southeast-1a',
        name: 'backup_name',
        status: ['error', 'available'],
        image_type: 'backup',
        own_type: 'all_granted',
        member_status: 'accepted',
        start_time: new Date('2018-02-01T12:00:00.000Z'),
        end_time: '2018-02-02T12:00:00Z',
        sort: 'created_at:desc,name:asc',
        limit: 5,
        offset: 10,
        marker: BACKUP_ID,
        enterprise_project_id: '0',
        parent_id: BACKUP_ID,
        used_percent: 80,
        show_replication: true,
        incremental: false,
        dec: false,
      }),
    method: 'GET',
    path: `/v3/${P}/backups`,
    query: [
      `checkpoint_id=${CHECKPOINT_ID}`,
      'dec=false',
      'end_time=2018-02-02T12%3A00%3A00Z',
      'enterprise_project_id=0',
      'image_type=backup',
      'incremental=false',
      'limit=5',
      `marker=${BACKUP_ID}`,
      'member_status=accepted',
      'name=backup_name',
      'offset=10',
      'own_type=all_granted',
      `parent_id=${BACKUP_ID}`,
      'resource_az=ap-southeast-1a',
      `resource_id=${SERVER_ID}`,
      'resource_name=ecs%201',
      'resource_type=OS%3A%3ANova%3A%3AServer',
      'show_replication=true',
      'sort=created_at%3Adesc%2Cname%3Aasc',
      'start_time=2018-02-01T12%3A00%3A00Z',
      'status=available',
      'status=error',
      'used_percent=80',
      `vault_id=${VAULT_ID}`,
    ].join('&'),
    reply: { body: { backups: [BACKUP], count: 50, limit: 5, offset: 10 } },
    check: (r: { backups: Array<{ resource_size: number; children: Array<{ parent_id: string }> }>; count: number }) => {
      expect(r.count).toBe(50);
      expect(r.backups[0]!.resource_size).toBe(40);
      expect(r.backups[0]!.children[0]!.parent_id).toBe(BACKUP_ID);
    },
  },
  {
    name: 'showBackup',
    call: (c) => c.showBackup(BACKUP_ID),
    method: 'GET',
    path: `/v3/${P}/backups/${BACKUP_ID}`,
    reply: { body: { backup: BACKUP } },
    check: (r: { backup: { id: string; protected_at: string } }) => {
      expect(r.backup.id).toBe(BACKUP_ID);
      expect(parseCbrTimestamp(r.backup.protected_at).toISOString()).toBe('2020-02-05T02:38:40.000Z');
    },
  },
  {
    name: 'deleteBackup (204)',
    call: (c) => c.deleteBackup(BACKUP_ID),
    method: 'DELETE',
    path: `/v3/${P}/backups/${BACKUP_ID}`,
    reply: { status: 204 },
    check: (r: { requestId?: string }) => expect(r).toEqual({ requestId: 'req-0' }),
  },
  {
    name: 'addMember',
    call: (c) => c.addMember(BACKUP_ID, { members: [PEER] }),
    method: 'POST',
    path: `/v3/${P}/backups/${BACKUP_ID}/members`,
    body: { members: [PEER] },
    reply: { body: { members: [MEMBER], count: 1 } },
    check: (r: { members: Array<{ status: string; dest_project_id: string }> }) => expect(r.members[0]).toMatchObject({ status: 'pending', dest_project_id: PEER }),
  },
  {
    name: 'showMembersDetail (list members) with filters',
    call: (c) => c.showMembersDetail(BACKUP_ID, { dest_project_id: PEER, status: 'pending', limit: 10, offset: 0, sort: 'created_at:desc' }),
    method: 'GET',
    path: `/v3/${P}/backups/${BACKUP_ID}/members`,
    query: `dest_project_id=${PEER}&limit=10&offset=0&sort=created_at%3Adesc&status=pending`,
    reply: { body: { members: [MEMBER], count: 1 } },
    check: (r: { count: number }) => expect(r.count).toBe(1),
  },
  {
    name: 'showMemberDetail',
    call: (c) => c.showMemberDetail(BACKUP_ID, PEER),
    method: 'GET',
    path: `/v3/${P}/backups/${BACKUP_ID}/members/${PEER}`,
    reply: { body: { member: MEMBER } },
    check: (r: { member: { id: string } }) => expect(r.member.id).toBe(MEMBER.id),
  },
  {
    name: 'updateMemberStatus (accept into a vault)',
    call: (c) => c.updateMemberStatus(BACKUP_ID, P, { status: 'accepted', vault_id: VAULT_ID }),
    method: 'PUT',
    path: `/v3/${P}/backups/${BACKUP_ID}/members/${P}`,
    body: { status: 'accepted', vault_id: VAULT_ID },
    reply: { body: { member: { ...MEMBER, dest_project_id: P, status: 'accepted', vault_id: VAULT_ID } } },
    check: (r: { member: { status: string; vault_id: string } }) => expect(r.member).toMatchObject({ status: 'accepted', vault_id: VAULT_ID }),
  },
  {
    name: 'deleteMember (204)',
    call: (c) => c.deleteMember(BACKUP_ID, PEER),
    method: 'DELETE',
    path: `/v3/${P}/backups/${BACKUP_ID}/members/${PEER}`,
    reply: { status: 204 },
    check: (r: undefined) => expect(r).toBeUndefined(),
  },
  {
    name: 'listOpLogs with filters',
    call: (c) =>
      c.listOpLogs({ operation_type: 'backup', status: 'running', vault_id: VAULT_ID, resource_id: SERVER_ID, start_time: '2020-02-23T01:00:32Z', limit: 100, offset: 1 }),
    method: 'GET',
    path: `/v3/${P}/operation-logs`,
    query: `limit=100&offset=1&operation_type=backup&resource_id=${SERVER_ID}&start_time=2020-02-23T01%3A00%3A32Z&status=running&vault_id=${VAULT_ID}`,
    reply: { body: { operation_logs: [OPLOG], count: 1, limit: 100, offset: 1 } },
    check: (r: { operation_logs: Array<{ extra_info: { common: { progress: number } } }> }) => expect(r.operation_logs[0]!.extra_info.common.progress).toBe(100),
  },
  {
    name: 'showOpLog',
    call: (c) => c.showOpLog(OPLOG_ID),
    method: 'GET',
    path: `/v3/${P}/operation-logs/${OPLOG_ID}`,
    reply: { body: { operation_log: OPLOG } },
    check: (r: { operation_log: { status: string } }) => expect(r.operation_log.status).toBe('success'),
  },
  {
    // The body of a recorded ListProtectable (../shared/cbr-recordings c7n/56d90e13a2e8): status "ACTIVE", code "", vault null.
    name: 'listProtectable (recorded answer)',
    call: (c) => c.listProtectable('server', { limit: 50, offset: 0 }),
    method: 'GET',
    path: `/v3/${P}/protectables/server/instances`,
    query: 'limit=50&offset=0',
    reply: { body: { instances: [{ id: SERVER_ID, type: 'OS::Nova::Server', name: 'ecs-legally-tagged', size: 40, status: 'ACTIVE', protectable: { result: true, code: '', reason: '', vault: null }, detail: { status: 'ACTIVE' }, children: [{ id: 'ad2d1d67-f8ed-42ec-aa23-7d2adfba3381', type: 'OS::Cinder::Volume', children: [] }] }], count: 1 } },
    check: (r: { instances: Array<{ id: string; status: string; protectable: { result: boolean; vault: unknown } }>; count: number }) =>
      expect(r).toMatchObject({ instances: [{ id: SERVER_ID, status: 'ACTIVE', protectable: { result: true, vault: null } }], count: 1 }),
  },
  {
    name: 'showProtectable (bound: protectable.vault names the holder)',
    call: (c) => c.showProtectable('disk', SERVER_ID),
    method: 'GET',
    path: `/v3/${P}/protectables/disk/instances/${SERVER_ID}`,
    reply: { body: { instance: { id: SERVER_ID, type: 'OS::Cinder::Volume', status: 'active', protectable: { result: false, code: 6103, vault: { id: VAULT_ID, name: 'holder' } } } } },
    check: (r: { instance: { protectable: { code: string; vault: { id: string; name: string } } } }) =>
      expect(r.instance.protectable).toMatchObject({ code: '6103', vault: { id: VAULT_ID, name: 'holder' } }),
  },
];

describe('every CBR operation on the wire', () => {
  for (const c of cases) {
    it(c.name, async () => {
      server.respond(() => c.reply);
      const result = await c.call(client);
      expect(server.requests).toHaveLength(1);
      const req = server.requests[0]!;
      expect(req.method).toBe(c.method);
      expect(req.path).toBe(c.path);
      expect(req.query).toBe(c.query ?? '');
      if (c.body === undefined) expect(req.body).toBe('');
      else expect(JSON.parse(req.body)).toEqual(c.body);
      expectWellFormed(req, c.body !== undefined);
      c.check(result as never);
    });
  }

  it('covers all 19 operations of INTERFACES.md §1 and the two protectable reads of the pre-flight', () => {
    const ops = new Set(cases.map((c) => c.name.split(' ')[0]));
    expect([...ops].sort()).toEqual(
      [
        'addMember', 'addVaultResource', 'createCheckpoint', 'createVault', 'deleteBackup', 'deleteMember', 'deleteVault', 'listBackups',
        'listOpLogs', 'listVault', 'removeVaultResource', 'showBackup', 'showCheckpoint', 'showMemberDetail', 'showMembersDetail',
        'showOpLog', 'showVault', 'updateMemberStatus', 'updateVault', 'listProtectable', 'showProtectable',
      ].sort(),
    );
  });
});

describe('paging', () => {
  const page = (req: RecordedRequest, total: number, shortAt = Infinity): Reply => {
    const q = new URLSearchParams(req.query);
    const limit = Number(q.get('limit'));
    const offset = Number(q.get('offset'));
    const n = Math.max(0, Math.min(limit, total - offset, shortAt - offset));
    return { body: { backups: Array.from({ length: n }, (_, i) => ({ ...BACKUP, name: `b${offset + i}`, children: [] })), count: total } };
  };

  it('paginateBackups walks limit/offset until count is reached, keeping the filters', async () => {
    server.respond((req) => page(req, 5));
    const names: string[] = [];
    for await (const b of client.paginateBackups({ vault_id: VAULT_ID, status: ['available', 'error'] }, { pageSize: 2 })) names.push(b.name ?? "");
    expect(names).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(server.requests.map((r) => new URLSearchParams(r.query).get('offset'))).toEqual(['0', '2', '4']);
    for (const r of server.requests) {
      expect(r.queryPairs.filter(([k]) => k === 'status').map(([, v]) => v)).toEqual(['available', 'error']);
      expect(new URLSearchParams(r.query).get('vault_id')).toBe(VAULT_ID);
      expect(new URLSearchParams(r.query).get('limit')).toBe('2');
    }
  });

  it('stops exactly at count without an extra empty request', async () => {
    server.respond((req) => page(req, 4));
    let n = 0;
    for await (const _ of client.paginateBackups({}, { pageSize: 2 })) n++;
    expect(n).toBe(4);
    expect(server.requests).toHaveLength(2);
  });

  it('stops on a short page even if count claims more', async () => {
    server.respond((req) => page(req, 100, 3));
    let n = 0;
    for await (const _ of client.paginateBackups({ offset: 0 }, { pageSize: 2 })) n++;
    expect(n).toBe(3);
    expect(server.requests).toHaveLength(2);
  });

  it('paginateVaults pages ListVault the same way', async () => {
    server.respond((req) => {
      const offset = Number(new URLSearchParams(req.query).get('offset'));
      const n = Math.min(2, 3 - offset);
      return { body: { vaults: Array.from({ length: n }, () => VAULT), count: 3 } };
    });
    let n = 0;
    for await (const v of client.paginateVaults({ id: VAULT_ID }, { pageSize: 2 })) {
      expect(v.id).toBe(VAULT_ID);
      n++;
    }
    expect(n).toBe(3);
    expect(server.requests.map((r) => r.query)).toEqual([`id=${VAULT_ID}&limit=2&offset=0`, `id=${VAULT_ID}&limit=2&offset=2`]);
  });

  it('rejects a bad page size before any request', () => {
    expect(() => client.paginateBackups({}, { pageSize: 0 })).toThrow(/pageSize/);
    expect(() => client.paginateBackups({}, { pageSize: 1001 })).toThrow(/pageSize/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('response validation', () => {
  it('a 2xx body without a field cbr-flow needs is a non-retryable CBR_ANSWER_MISSING_FIELD error naming operation and field', async () => {
    const { status: _s, ...noStatus } = CHECKPOINT;
    server.respond(() => ({ body: { checkpoint: noStatus } }));
    await expect(client.showCheckpoint(CHECKPOINT_ID)).rejects.toMatchObject({
      name: 'CbrApiError',
      kind: 'invalid-response',
      operation: 'ShowCheckpoint',
      errorCode: 'CBR_ANSWER_MISSING_FIELD',
      retryable: false,
      message: expect.stringContaining('ShowCheckpoint failed: the answer lacks checkpoint.status'),
    });
  });

  it('a field of the wrong JSON type is an invalid-response error naming it', async () => {
    server.respond(() => ({ body: { checkpoint: { ...CHECKPOINT, status: 42 } } }));
    await expect(client.showCheckpoint(CHECKPOINT_ID)).rejects.toMatchObject({ kind: 'invalid-response', retryable: false, message: expect.stringContaining('checkpoint.status') });
  });

  it('an unknown status is kept as sent', async () => {
    server.respond(() => ({ body: { checkpoint: { ...CHECKPOINT, status: 'hibernating' } } }));
    expect((await client.showCheckpoint(CHECKPOINT_ID)).checkpoint.status).toBe('hibernating');
  });

  it('a non-JSON 2xx body is an invalid-response error', async () => {
    server.respond(() => ({ body: '<html>proxy</html>' }));
    await expect(client.showVault(VAULT_ID)).rejects.toMatchObject({ kind: 'invalid-response', httpStatus: 200 });
  });

  it('a timestamp in none of the three shapes is rejected', async () => {
    server.respond(() => ({ body: { checkpoint: { ...CHECKPOINT, created_at: 'yesterday' } } }));
    await expect(client.showCheckpoint(CHECKPOINT_ID)).rejects.toMatchObject({ kind: 'invalid-response', message: expect.stringContaining('created_at') });
  });
});
