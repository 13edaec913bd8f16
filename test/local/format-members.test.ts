/** `cbr-flow status` shows a run's share members with their states (issue 15). */
import { describe, expect, it } from 'vitest';
import { RunView } from '../../local/cli/client';
import { formatRun } from '../../local/cli/format';

describe('cbr-flow status: members', () => {
  it('one line per member: project, state, backup, receiving vault, lifetime or revocation, reason', () => {
    const view = RunView.parse({
      runId: 'r1',
      state: 'PARTIAL',
      createdAt: '2026-11-22T10:00:00Z',
      timeline: [],
      shares: [
        { backupId: 'b1', resourceId: 's1', projectId: 'p-accepting', status: 'accepted', vaultId: 'v9', expiresAt: Date.parse('2026-11-25T10:00:00Z') },
        { backupId: 'b1', resourceId: 's1', projectId: 'p-nocreds', status: 'pending', code: 'NO_RECEIVER_CREDENTIALS', message: 'no CBR credentials' },
        { backupId: 'b2', resourceId: 's2', projectId: 'p-gone', status: 'revoked', revokedAt: Date.parse('2026-11-23T10:00:00Z'), expiresAt: 1 },
      ],
    });
    const lines = formatRun(view).split('\n');
    const at = lines.indexOf('members');
    expect(lines.slice(at + 1, at + 4)).toEqual([
      '  p-accepting  accepted backup b1  into vault v9; until 2026-11-25T10:00:00.000Z',
      '  p-nocreds  pending  backup b1  NO_RECEIVER_CREDENTIALS: no CBR credentials',
      '  p-gone  revoked  backup b2  revoked 2026-11-23T10:00:00.000Z',
    ]);
  });
});

describe('cbr-flow status: copies', () => {
  it('one line per cross-region copy: region, state, backup, replica and vault, reason', () => {
    const view = RunView.parse({
      runId: 'r2',
      state: 'PARTIAL',
      createdAt: '2026-11-22T10:00:00Z',
      timeline: [],
      copies: [
        { backupId: 'b1', resourceId: 's1', region: 'ap-southeast-3', projectId: 'p', vaultName: 'dr', name: 'n1', state: 'COMPLETED', replicaId: 'r1', createdAt: 1, deadlineAt: 2 },
        { backupId: 'b2', resourceId: 's2', region: 'ap-southeast-3', projectId: 'p', vaultName: 'dr', name: 'n2', state: 'FAILED', code: 'BackupService.9910', message: 'link lost', createdAt: 1, deadlineAt: 2 },
      ],
    });
    const lines = formatRun(view).split('\n');
    const at = lines.indexOf('copies');
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '  ap-southeast-3   COMPLETED backup b1  replica r1; in vault dr',
      '  ap-southeast-3   FAILED    backup b2  in vault dr; BackupService.9910: link lost',
    ]);
    expect(formatRun(RunView.parse({ runId: 'r3', state: 'COMPLETED', timeline: [] }))).not.toContain('copies');
  });
});
