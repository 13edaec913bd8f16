import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGE_TYPES, parseMessage, type MessageType } from '../../lib/contracts';
import { parseWith } from '../../lib/contracts/parse';
import { RunRequest } from '../../lib/contracts/run-request';

const root = join(import.meta.dirname, '../../events/contracts');
const fixtures = readdirSync(root).flatMap((dir) =>
  readdirSync(join(root, dir)).map((file) => ({ dir, file, json: JSON.parse(readFileSync(join(root, dir, file), 'utf8')) as Record<string, unknown> })),
);

describe('contract fixtures (events/contracts/<type>/v1.*.json)', () => {
  it('there is at least one fixture for every message type and for the run request', () => {
    const dirs = new Set(fixtures.map((f) => f.dir));
    for (const type of [...MESSAGE_TYPES, 'run-request']) expect(dirs, type).toContain(type);
    for (const f of fixtures) expect(f.file).toMatch(/^v\d+\.[a-z0-9-]+\.json$/);
  });

  for (const f of fixtures) {
    it(`${f.dir}/${f.file} parses and keeps every field (schemas only grow)`, () => {
      if (f.dir === 'run-request') {
        const parsed = parseWith(RunRequest, f.json);
        expect(parsed).toMatchObject(f.json);
        return;
      }
      const version = Number(/^v(\d+)/.exec(f.file)![1]);
      const message = parseMessage(f.json, f.dir as MessageType);
      expect(message.version).toBe(version);
      expect(message).toMatchObject(f.json);
      expect(parseMessage(JSON.stringify(f.json))).toEqual(message);
    });
  }
});

describe('parseMessage refusals', () => {
  const base = fixtures.find((f) => f.dir === 'vault.ready')!.json;

  it('rejects an unknown version with a clear error naming the field', () => {
    expect(() => parseMessage({ ...base, version: 2 })).toThrow(expect.objectContaining({ field: 'version', message: "version: unsupported version 2 of 'vault.ready' (supported: 1)" }));
  });

  it('rejects an unknown type, the wrong type for a queue, and text that is not JSON', () => {
    expect(() => parseMessage({ ...base, type: 'vault.exploded' })).toThrow(expect.objectContaining({ field: 'type', message: expect.stringContaining("unknown message type 'vault.exploded'") }));
    expect(() => parseMessage(base, 'checkpoint.finished')).toThrow(expect.objectContaining({ field: 'type', message: "type: expected a 'checkpoint.finished' message, got 'vault.ready'" }));
    expect(() => parseMessage('{"type":')).toThrow(expect.objectContaining({ field: 'body' }));
  });

  it('names the nested field that is wrong', () => {
    const data = base.data as Record<string, unknown>;
    expect(() => parseMessage({ ...base, data: { ...data, vaultId: '../../etc/passwd' } })).toThrow(expect.objectContaining({ field: 'data.vaultId' }));
    expect(() => parseMessage({ ...base, runId: 'x'.repeat(40) })).toThrow(expect.objectContaining({ field: 'runId' }));
    expect(() => parseMessage({ ...base, surprise: true })).toThrow(expect.objectContaining({ message: expect.stringContaining('surprise') }));
  });
});

describe('run request rules', () => {
  const valid = fixtures.find((f) => f.file === 'v1.post-paid.json')!.json;
  const issuesOf = (input: unknown) => {
    try {
      parseWith(RunRequest, input);
      return [];
    } catch (e) {
      return (e as { issues: Array<{ field: string; message: string }> }).issues;
    }
  };

  it('needs periodType and periodNum for yearly/monthly vaults', () => {
    const vault = { mode: 'create', name: 'v', billing: { chargingMode: 'pre_paid', size: 100 } };
    expect(issuesOf({ ...valid, vault }).map((i) => i.field)).toEqual(['vault.billing.periodType', 'vault.billing.periodNum']);
  });

  it('refuses mixed resource types, duplicates, bad ids, too-long checkpoint names and non-http notify URLs', () => {
    const resources = [
      { id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' },
      { id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Cinder::Volume' },
    ];
    const fields = issuesOf({ ...valid, resources, checkpoint: { name: 'x'.repeat(29) }, notifyUrl: 'file:///etc/passwd', projectId: 'ABC' }).map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['resources', 'resources[1].id', 'checkpoint.name', 'notifyUrl', 'projectId']));
  });

  it('selects resources instead of listing them: one of the two, a selection that says what to pick', () => {
    const { resources: _r, ...noResources } = valid;
    expect(issuesOf({ ...noResources, select: { all: true } })).toEqual([]);
    expect(issuesOf({ ...noResources, select: { type: 'disk', names: ['evs-*'], exclude: { tags: ['keep=no'] } } })).toEqual([]);
    expect(issuesOf(noResources)).toEqual([{ field: 'resources', message: expect.stringContaining('at least one resource is required (or select them') }]);
    expect(issuesOf({ ...valid, select: { all: true } })).toEqual([{ field: 'select', message: 'give resources or select, not both' }]);
    expect(issuesOf({ ...noResources, select: {} })).toEqual([{ field: 'select', message: 'needs all: true, tags or names (what to select)' }]);
    expect(issuesOf({ ...noResources, select: { all: true, tags: ['env=prod'] } }).map((i) => i.field)).toEqual(['select.all']);
    expect(issuesOf({ ...noResources, select: { tags: ['=prod'] } }).map((i) => i.field)).toEqual(['select.tags[0]']);
    expect(issuesOf({ ...noResources, select: { type: 'vm', all: true } }).map((i) => i.field)).toEqual(['select.type']);
    expect(issuesOf({ ...noResources, select: { all: true, exclude: { ids: ['nope'] } } }).map((i) => i.field)).toEqual(['select.exclude.ids[0]']);
  });

  it('accepts optional retention rules and names the field of a bad one', () => {
    expect(issuesOf({ ...valid, retention: { keepLast: 7, maxAgeDays: 30 } })).toEqual([]);
    expect(issuesOf({ ...valid, retention: { keepLast: 0 } })).toEqual([{ field: 'retention.keepLast', message: expect.stringContaining('keeps nothing') }]);
    expect(issuesOf({ ...valid, retention: { gfs: { days: 0, weeks: 0 }, floor: 0 } }).map((i) => i.field)).toEqual(['retention.gfs', 'retention.floor']);
    expect(issuesOf({ ...valid, retention: { maxAgeDays: 0 } }).map((i) => i.field)).toEqual(['retention.maxAgeDays']);
    expect(issuesOf({ ...valid, retention: { keeplast: 3 } }).map((i) => i.field)).toEqual(['retention.keeplast', 'retention']);
    expect(issuesOf({ ...valid, retention: { gfs: { weeks: 2.5 } } }).map((i) => i.field)).toEqual(['retention.gfs.weeks']);
  });

  it('vault.autoExpand: a cap of at least the vault size, for pay-per-use vaults only, in create and reuse mode', () => {
    const vault = valid.vault as Record<string, unknown>;
    expect(issuesOf({ ...valid, vault: { ...vault, autoExpand: { maxSizeGB: 400 } } })).toEqual([]);
    expect(issuesOf({ ...valid, vault: { mode: 'reuse', name: 'v', autoExpand: { maxSizeGB: 10 } } })).toEqual([]);
    expect(issuesOf({ ...valid, vault: { ...vault, autoExpand: { maxSizeGB: 100 } } })).toEqual([
      { field: 'vault.autoExpand.maxSizeGB', message: expect.stringContaining("is 100 GB, below the vault's billing.size of 200 GB") },
    ]);
    const prePaid = { mode: 'create', name: 'v', billing: { chargingMode: 'pre_paid', size: 100, periodType: 'month', periodNum: 1 }, autoExpand: { maxSizeGB: 400 } };
    expect(issuesOf({ ...valid, vault: prePaid })).toEqual([{ field: 'vault.autoExpand', message: expect.stringContaining('only a pay-per-use vault') }]);
    expect(issuesOf({ ...valid, vault: { ...vault, autoExpand: { maxSizeGB: 5 } } }).map((i) => i.field)).toEqual(['vault.autoExpand.maxSizeGB']);
    expect(issuesOf({ ...valid, vault: { ...vault, autoExpand: { max: 400 } } }).map((i) => i.field)).toEqual(expect.arrayContaining(['vault.autoExpand.maxSizeGB']));
  });
});

describe('share targets (issue 15)', () => {
  const base = { projectId: '0605767b5780d5762fc5c0118072a564', vault: { mode: 'reuse', name: 'v' }, resources: [{ id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' }] };
  it('a required share without vaultName, a ttl out of range and an unknown field are refused, naming the field', () => {
    const r = RunRequest.safeParse({ ...base, shareWith: [{ projectId: '075e6035d300d48c2fd0c00b78b71ebf', required: true }, { projectId: '1a2b3c4d5e6f708192a3b4c5d6e7f801', ttlHours: 0 }] });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('shareWith.0.required');
    expect(r.error!.issues.find((i) => i.path.join('.') === 'shareWith.0.required')!.message).toContain('needs vaultName');
    expect(RunRequest.safeParse({ ...base, shareWith: [{ projectId: '075e6035d300d48c2fd0c00b78b71ebf', vault: 'x' }] }).success).toBe(false);
  });
  it('plain ids and objects mix; the same project twice is refused', () => {
    const twice = RunRequest.safeParse({ ...base, shareWith: ['075e6035d300d48c2fd0c00b78b71ebf', { projectId: '075e6035d300d48c2fd0c00b78b71ebf', ttlHours: 1 }] });
    expect(twice.error!.issues.map((i) => i.message)).toContain('duplicate project id 075e6035d300d48c2fd0c00b78b71ebf');
  });
});
