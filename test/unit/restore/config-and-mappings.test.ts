// Restore configuration validated at load (DRILL_TARGETS, windows) and the disk mapping rule (lib/restore/mappings.ts).
import { describe, expect, it } from 'vitest';
import { loadConfig, restoreSettingsFrom } from '../../../lib/config';
import { mapDisks } from '../../../lib/restore/mappings';

describe('restore configuration', () => {
  it('DRILL_TARGETS is a comma list of server ids, checked at load; windows have defaults', () => {
    const env = {
      TABLE_NAME: 'runs',
      ...Object.fromEntries(['INTAKE', 'VAULT', 'RESOURCES', 'CHECKPOINT', 'SHARE', 'EVENTS'].map((q) => [`${q}_QUEUE_URL`, `http://127.0.0.1:9324/q/${q}`])),
      CBR_CREDENTIALS_JSON: '{}',
      WEBHOOK_AUTH: 'off',
    };
    expect(restoreSettingsFrom(loadConfig(env))).toMatchObject({ drillTargets: new Set(), windowMs: 6 * 3600_000, graceMs: 120_000 });
    const set = restoreSettingsFrom(loadConfig({ ...env, DRILL_TARGETS: ' 7A8B9C0D-1e2f-4a3b-9c4d-5e6f7a8b9c0d, e8cc6bfd-d324-4b88-9109-9fb0ba70676f ', RESTORE_WINDOW_MINUTES: '30', RESTORE_CONFIRM_GRACE_SECONDS: '60' }));
    expect([...set.drillTargets]).toEqual(['7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d', 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f']);
    expect(set).toMatchObject({ windowMs: 30 * 60_000, graceMs: 60_000 });
    expect(() => loadConfig({ ...env, DRILL_TARGETS: 'ecs-app-01' })).toThrow(/DRILL_TARGETS.*server id \(UUID\)/);
  });
});

describe('mapDisks', () => {
  const sys = (id: string, sizeGb: number) => ({ id, sizeGb, system: true });
  const data = (id: string, sizeGb: number) => ({ id, sizeGb, system: false });
  it('system onto system, data largest first onto data largest first', () => {
    const r = mapDisks([data('b1', 20), sys('b0', 40), data('b2', 100)], [data('t2', 30), sys('t0', 50), data('t1', 120)], 'srv');
    expect(r.ok && r.mappings.map((m) => [m.backupId, m.volumeId])).toEqual([['b0', 't0'], ['b2', 't1'], ['b1', 't2']]);
  });
  it('refuses too few disks, a disk too small, no system disk, with the sizes named', () => {
    expect(mapDisks([sys('b0', 40), data('b1', 10)], [sys('t0', 40)], 'srv')).toMatchObject({ ok: false, code: 'DISK_COUNT' });
    expect(mapDisks([sys('b0', 40)], [sys('t0', 20)], 'srv')).toMatchObject({ ok: false, code: 'DISK_TOO_SMALL', message: expect.stringMatching(/40 GB .* only 20 GB/) });
    expect(mapDisks([sys('b0', 40)], [data('t0', 80)], 'srv')).toMatchObject({ ok: false, code: 'NO_SYSTEM_DISK' });
    expect(mapDisks([sys('b0', 40), data('b1', 10)], [sys('t0', 40), sys('t1', 40)], 'srv')).toMatchObject({ ok: false, code: 'DISK_COUNT' });
  });
});
