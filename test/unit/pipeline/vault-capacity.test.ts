// The capacity decision before CreateCheckpoint (lib/pipeline/vault-capacity.ts), on vault views shaped
// like CBR's ShowVault answers (GB sizes, MB used and backup_size; recorded ListVault answers).
import { describe, expect, it } from 'vitest';
import type { CbrVaultView } from '../../../lib/ports';
import { decideCapacity, expectedBackupMb } from '../../../lib/pipeline/vault-capacity';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
function vault(billing: Partial<NonNullable<CbrVaultView['billing']>>, resources: CbrVaultView['resources'] = [], extra: Partial<CbrVaultView> = {}): CbrVaultView {
  return { id: 'v-1', name: 'nightly', billing: { charging_mode: 'post_paid', ...billing }, resources, ...extra };
}

describe('expected backup size', () => {
  it('a first backup needs the resource size; a later incremental one the mean of its backups; unknown sizes are named', () => {
    // The recorded answer: a 50 GB server with 2 backups taking 17048 MB in all.
    const v = vault({ size: 100, used: 17048 }, [
      { id: A, size: 50, backup_size: 17048, backup_count: 2 },
      { id: B, size: 40, backup_size: 0, backup_count: 0 },
    ]);
    expect(expectedBackupMb(v, [A, B], true)).toEqual({ needMb: 8524 + 40 * 1024, unknown: [] });
    // A full (non-incremental) backup is counted at the resource's size.
    expect(expectedBackupMb(v, [A], false)).toEqual({ needMb: 50 * 1024, unknown: [] });
    expect(expectedBackupMb(vault({ size: 100 }, [{ id: A, size: null }]), [A, B], true)).toEqual({ needMb: 0, unknown: [A, B] });
  });
});

describe('decision', () => {
  const twoServers = [
    { id: A, size: 40 },
    { id: B, size: 40 },
  ];

  it('fits: ok; no size in the answer or CBR auto_expand: not checked', () => {
    expect(decideCapacity(vault({ size: 80, used: 0 }, twoServers), [A, B], true, undefined).kind).toBe('ok');
    expect(decideCapacity(vault({ size: null }, twoServers), [A, B], true, undefined)).toMatchObject({ kind: 'ok', detail: expect.stringContaining('not checked') });
    expect(decideCapacity(vault({ size: 10 }, twoServers, { auto_expand: true }), [A, B], true, undefined)).toMatchObject({ kind: 'ok', detail: expect.stringContaining('auto_expand') });
  });

  it('expands a pay-per-use vault to the whole GB needed, within the cap', () => {
    expect(decideCapacity(vault({ size: 50, used: 2048 + 300 }, twoServers), [A, B], true, { maxSizeGB: 100 })).toMatchObject({ kind: 'expand', fromGb: 50, toGb: 83 });
    expect(decideCapacity(vault({ size: 50, used: 0 }, twoServers), [A, B], true, { maxSizeGB: 79 })).toMatchObject({
      kind: 'fail',
      reason: expect.stringContaining('above vault.autoExpand.maxSizeGB 79 GB. Raise the cap to at least 80 GB'),
    });
  });

  it('never expands a yearly/monthly vault, and says why', () => {
    const d = decideCapacity(vault({ size: 50, used: 1536, charging_mode: 'pre_paid' }, twoServers), [A, B], true, { maxSizeGB: 500 });
    expect(d).toEqual({
      kind: 'fail',
      reason:
        'vault v-1 (nightly) is too small for this backup: size 50 GB, used 1.5 GB, this backup needs about 80 GB, 82 GB in all. It is a yearly/monthly vault, which cbr-flow does not expand (vault.autoExpand applies to pay-per-use vaults only): expand it in the CBR console (its order), or delete backups it no longer needs (retention)',
    });
  });
});
