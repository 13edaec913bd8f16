/** Replication targets on a run request and in a plan: validated when loaded, each refusal naming its field. */
import { describe, expect, it } from 'vitest';
import { RunRequest } from '../../../lib/contracts/run-request';
import { parsePlanFile } from '../../../lib/plans/plans';

const base = {
  projectId: '0605767b5780d5762fc5c0118072a564',
  region: 'ap-southeast-1',
  vault: { mode: 'reuse', name: 'v1' },
  resources: [{ id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' }],
};
const issues = (input: unknown) => {
  const r = RunRequest.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('run request replication', () => {
  it('defaults: none; a target gets vaultSizeGb 100 and no acceleration', () => {
    expect(RunRequest.parse(base).replication).toEqual([]);
    expect(RunRequest.parse({ ...base, replication: [{ region: 'ap-southeast-3', vaultName: 'dr' }] }).replication).toEqual([
      { region: 'ap-southeast-3', vaultName: 'dr', vaultSizeGb: 100, enableAcceleration: false },
    ]);
  });

  it('refuses the own region, a region twice, disk runs, bad names and unknown keys, naming the field', () => {
    expect(issues({ ...base, replication: [{ region: 'ap-southeast-1', vaultName: 'dr' }] })).toEqual([expect.stringMatching(/^replication\.0\.region: is the run's own region/)]);
    expect(issues({ ...base, replication: [{ region: 'ap-southeast-3', vaultName: 'a' }, { region: 'ap-southeast-3', vaultName: 'b' }] })).toEqual([expect.stringMatching(/^replication\.1\.region: ap-southeast-3 is named twice/)]);
    expect(issues({ ...base, resources: [{ id: '9b2e7c4a-1d3f-4e5a-8b6c-7d8e9f0a1b2c', type: 'OS::Cinder::Volume' }], replication: [{ region: 'ap-southeast-3', vaultName: 'dr' }] })).toEqual([
      expect.stringMatching(/^replication: cloud disk backups cannot be replicated/),
    ]);
    expect(issues({ ...base, replication: [{ region: 'mars', vaultName: 'dr' }] })[0]).toMatch(/^replication\.0\.region:/);
    expect(issues({ ...base, replication: [{ region: 'ap-southeast-3', vaultName: 'has space' }] })[0]).toMatch(/^replication\.0\.vaultName:/);
    expect(issues({ ...base, replication: [{ region: 'ap-southeast-3', vaultName: 'dr', projectId: 'x' }] })[0]).toMatch(/^replication\.0\.projectId:/);
    expect(issues({ ...base, replication: [{ region: 'ap-southeast-3', vaultName: 'dr', size: 1 }] })[0]).toMatch(/^replication\.0: Unrecognized key/);
  });

  it('a plan carries replication in its request and is refused at load the same way', () => {
    const plan = (replication: unknown) => ({ plans: [{ name: 'nightly', cron: '0 2 * * *', timezone: 'UTC', request: { ...base, replication } }] });
    expect(parsePlanFile(plan([{ region: 'ap-southeast-3', vaultName: 'dr' }])).plans[0]!.request.replication[0]!.region).toBe('ap-southeast-3');
    expect(() => parsePlanFile(plan([{ region: 'ap-southeast-1', vaultName: 'dr' }]))).toThrow(/plans\.yml\.plans\[0\]\.request\.replication\[0\]\.region/);
  });
});
