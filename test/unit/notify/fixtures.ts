import { RunRecord } from '../../../lib/store/run';

export const RUN_ID = '3f2a6c1e-8b7d-4e5f-9a0b-1c2d3e4f5a6b';
const T0 = Date.UTC(2026, 10, 22, 2, 0, 0);

/** A PARTIAL run: one server backed up and shared to one project, one share refused, one resource failed. */
export function finishedRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return RunRecord.parse({
    runId: RUN_ID,
    version: 9,
    state: 'PARTIAL',
    step: 'done',
    request: {
      projectId: '0605767b5780d5762fc5c0118072a564',
      region: 'ap-southeast-1',
      vault: { mode: 'reuse', name: 'web_nightly' },
      resources: [
        { id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' },
        { id: '97595625-198e-4e4d-879b-9d53f68ba551', type: 'OS::Nova::Server' },
      ],
      shareWith: ['1a2b3c4d5e6f708192a3b4c5d6e7f801', '2a2b3c4d5e6f708192a3b4c5d6e7f802'],
      notifyUrl: 'https://hooks.example.com/cbr/T0KEN-IN-PATH?sig=abc',
    },
    source: { kind: 'http' },
    createdAt: T0,
    updatedAt: T0 + 600_000,
    deadlineAt: T0 + 240 * 60_000,
    finishedAt: T0 + 600_000,
    vault: { id: 'a1b2c3d4-0000-4000-8000-000000000001', name: 'web_nightly', created: false },
    checkpoints: [
      {
        seq: 1,
        name: 'cbrflow_3f2a6c1e8b7d4e5f9a0b1c2d3e4f5a6b',
        id: 'c0ffee00-0000-4000-8000-000000000002',
        status: 'partial',
        resourceIds: ['e8cc6bfd-d324-4b88-9109-9fb0ba70676f', '97595625-198e-4e4d-879b-9d53f68ba551'],
        backups: [{ id: 'b0000000-0000-4000-8000-000000000003', resourceId: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', resourceType: 'OS::Nova::Server', status: 'available' }],
      },
    ],
    failedResources: [{ id: '97595625-198e-4e4d-879b-9d53f68ba551', reason: 'BackupService.6008: disk busy' }],
    shares: [
      { backupId: 'b0000000-0000-4000-8000-000000000003', resourceId: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', projectId: '1a2b3c4d5e6f708192a3b4c5d6e7f801', status: 'pending' },
      { backupId: 'b0000000-0000-4000-8000-000000000003', resourceId: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', projectId: '2a2b3c4d5e6f708192a3b4c5d6e7f802', status: 'failed', code: 'BackupService.6250', message: 'x' },
    ],
    lastError: { code: 'BackupService.6008', message: 'disk busy', requestId: 'req-42', step: 'check-status', at: T0 + 500_000 },
    reason: '1 of 2 resources failed; 1 of 2 shares failed',
    ...overrides,
  });
}
