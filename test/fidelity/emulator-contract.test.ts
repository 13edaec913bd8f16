/**
 * The emulator answers like the real API (issue 10 item 3): per operation, the field paths and JSON
 * types of the emulator's answers are compared with those of the real bodies in ../shared/cbr-recordings
 * (hand-edited mocks excluded). Array indices are folded (`vaults[].id`); a path's types are the set seen
 * across every body. The objects several operations return (a vault, a backup and its per-disk children,
 * a member, an operation log, a checkpoint) are compared against every recording of that object, since
 * some operations have only one or two recorded bodies; each answer's envelope (`count`, `limit`, ...)
 * per operation. `null` matches any type (CBR sends null for unset optional fields). Any difference
 * fails unless ALLOW names it with its reason.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, startEmulator, type Emulator } from '../../emulator/index';
import { server, SERVER_A, SERVER_B, vaultBody } from '../emulator/helpers';
import { officialClient } from '../emulator/sdk';

const DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), '..', 'shared', 'cbr-recordings');

type Shape = Map<string, Set<string>>;
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Dynamic-key objects: their keys are data, not fields. */
const OPAQUE = [/\.extra_info$/, /\.bind_rules$/, /\.extend_info\.os_images_data$/];

const ENTITIES: Array<[RegExp, string, RegExp]> = [
  [/^(CreateVault|ShowVault|ListVault|UpdateVault)$/, 'Vault', /^(?:vaults\[\]|vault)\./],
  [/^(ListBackups|ShowBackup)$/, 'Backup', /^(?:backups\[\]|backup)\.(?:children\[\]\.)*/],
  [/^(AddMember|ShowMembersDetail|ShowMemberDetail|UpdateMemberStatus)$/, 'Member', /^(?:members\[\]|member)\./],
  [/^(ListOpLogs|ShowOpLog)$/, 'OperationLog', /^(?:operation_logs\[\]|operation_log)\./],
  [/^(CreateCheckpoint|ShowCheckpoint)$/, 'Checkpoint', /^checkpoint\./],
];

/** `ListVault vaults[].billing.size` -> `Vault billing.size`; envelopes stay per operation. */
function keyOf(op: string, path: string): string {
  for (const [ops, entity, prefix] of ENTITIES) if (ops.test(op) && prefix.test(path)) return `${entity} ${path.replace(prefix, '')}`;
  return `${op} ${path}`;
}

function collect(shape: Shape, value: unknown, path: string, op = ''): void {
  const k = kind(value);
  if (path !== '') {
    const key = keyOf(op, path);
    let set = shape.get(key);
    if (!set) shape.set(key, (set = new Set()));
    set.add(k);
  }
  if (OPAQUE.some((re) => re.test(path))) return;
  if (k === 'array') for (const item of value as unknown[]) collect(shape, item, `${path}[]`, op);
  else if (k === 'object') for (const [key, v] of Object.entries(value as Record<string, unknown>)) collect(shape, v, path === '' ? key : `${path}.${key}`, op);
}

/**
 * Differences accepted, each with its reason. Keys: `Operation path: what`.
 */
const ALLOW: Record<string, string> = {
  'Checkpoint vault.resources[].backup_count:': 'in the reference model of checkpoint resources (cbr-api.md §3.2, §11: typed string); the two documented examples omit it',
  'Checkpoint vault.resources[].backup_size:': 'same as backup_count',
};

/** Differences between the two shapes, restricted to the keys of `ops` (the entities and envelopes both sides have). */
function diff(real: Shape, emu: Shape): string[] {
  const out: string[] = [];
  const groups = new Set([...emu.keys()].map((k) => k.split(' ')[0]!));
  for (const [path, types] of real) {
    if (!groups.has(path.split(' ')[0]!)) continue;
    const mine = emu.get(path);
    if (!mine) out.push(`${path}: missing (real: ${[...types].join('|')})`);
    else {
      const extra = [...mine].filter((t) => t !== 'null' && !types.has(t) && !(types.size === 1 && types.has('null')));
      if (extra.length > 0) out.push(`${path}: type ${extra.join('|')} (real: ${[...types].join('|')})`);
    }
  }
  for (const [path, types] of emu) if (!real.has(path)) out.push(`${path}: not in any recording (emulator: ${[...types].join('|')})`);
  return out.sort();
}

interface Row { file: string | null; operation: string; http_status: number; provenance?: string }
const recorded: Shape = new Map();
const recordedOps = new Set<string>();
for (const f of ['manifest-c7n.jsonl', 'manifest-docs.jsonl']) {
  for (const line of readFileSync(join(DIR, f), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as Row;
    if (r.provenance === 'hand-edited' || !r.file || r.http_status >= 300) continue;
    const text = readFileSync(join(DIR, r.file), 'utf8');
    if (text.trim() === '' || text.trim() === '{}') continue;
    recordedOps.add(r.operation);
    collect(recorded, JSON.parse(text), '', r.operation);
  }
}

let emu: Emulator;
const answers: Shape = new Map();
const answeredOps = new Set<string>();
function record(op: string, body: unknown): void {
  answeredOps.add(op);
  collect(answers, body, '', op);
}

beforeAll(async () => {
  emu = await startEmulator({ clock: 'manual', timing: { checkpointMs: 8_000 } });
  const sdk = officialClient(emu.url);
  const peer = officialClient(emu.url, { ak: DEMO.peer.ak, sk: DEMO.peer.sk, projectId: DEMO.peerProjectId });
  const created = await sdk.createVault(vaultBody('contract', { resources: [server(SERVER_A)], tags: [{ key: 'team', value: 'ops' }] }));
  record('CreateVault', created.body);
  const ordered = await sdk.createVault(vaultBody('contract_pp', {}, { charging_mode: 'pre_paid', period_type: 'month', period_num: 1 }));
  record('CreateVault', ordered.body);
  const vaultId = created.body.vault.id as string;
  record('ShowVault', (await sdk.showVault(vaultId)).body);
  record('AddVaultResource', (await sdk.addVaultResource(vaultId, { resources: [server(SERVER_B)] })).body);
  const cp = await sdk.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters: { name: 'contract', resources: [SERVER_A] } } });
  record('CreateCheckpoint', cp.body);
  emu.clock.advance(10_000);
  record('ShowCheckpoint', (await sdk.showCheckpoint(cp.body.checkpoint.id)).body);
  record('ListVault', (await sdk.listVault({ limit: 10, offset: 0 })).body);
  record('UpdateVault', (await sdk.updateVault(vaultId, { vault: { name: 'contract2' } })).body);
  const backups = await sdk.listBackups({ vault_id: vaultId });
  record('ListBackups', backups.body);
  const backupId = backups.body.backups[0].id as string;
  record('ShowBackup', (await sdk.showBackup(backupId)).body);
  record('AddMember', (await sdk.addMember(backupId, { members: [DEMO.peerProjectId] })).body);
  record('ShowMembersDetail', (await sdk.showMembersDetail(backupId)).body);
  record('ShowMemberDetail', (await sdk.showMemberDetail(backupId, DEMO.peerProjectId)).body);
  const inbox = await peer.createVault(vaultBody('inbox'));
  record('UpdateMemberStatus', (await peer.updateMemberStatus(backupId, DEMO.peerProjectId, { status: 'accepted', vault_id: inbox.body.vault.id })).body);
  record('RemoveVaultResource', (await sdk.removeVaultResource(vaultId, { resource_ids: [SERVER_B] })).body);
  const logs = await sdk.listOpLogs({});
  record('ListOpLogs', logs.body);
  record('ShowOpLog', (await sdk.showOpLog(logs.body.operation_logs[0].id)).body);
});
afterAll(() => emu?.stop());

describe('emulator answers vs real CBR answers: field paths and JSON types per operation', () => {
  it('every operation cbr-flow uses that has recordings was exercised', () => {
    const missing = [...recordedOps].filter((op) => !answeredOps.has(op) && !['AssociateVaultPolicy', 'CreatePolicy', 'ListPolicies', 'BatchCreateAndDeleteVaultTags', 'DeleteBackup'].includes(op));
    expect(missing).toEqual([]);
  });

  it('no difference outside the allowlist', () => {
    const diffs = diff(recorded, answers);
    const unexplained = diffs.filter((d) => !Object.keys(ALLOW).some((k) => d.startsWith(k)));
    if (process.env.PRINT_SHAPE_DIFFS) console.log(`${diffs.length} differences:\n${diffs.join('\n')}`);
    expect(unexplained).toEqual([]);
  });

  it('every allowlist entry still matches a difference (no stale reasons)', () => {
    const diffs = diff(recorded, answers);
    expect(Object.keys(ALLOW).filter((k) => !diffs.some((d) => d.startsWith(k)))).toEqual([]);
  });
});
