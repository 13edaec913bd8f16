import { describe, expect, it } from 'vitest';
import * as S from '../../../lib/cbr/schemas';
import { cbrTimestampMs, formatQueryTime, parseCbrTimestamp } from '../../../lib/cbr/time';
import { BACKUP, CHECKPOINT, MEMBER, OPLOG, VAULT } from './fixtures';

describe('CBR timestamps (three shapes, cbr-api.md §1/§11)', () => {
  it.each([
    ['2020-02-05T10:38:34.209782', '2020-02-05T10:38:34.209Z'],
    ['2019-05-10T07:59:12.733+00:00', '2019-05-10T07:59:12.733Z'],
    ['2020-02-23T01:00:32Z', '2020-02-23T01:00:32.000Z'],
    ['2020-01-04T09:05:22.701000Z', '2020-01-04T09:05:22.701Z'],
    ['2020-02-05T10:38:40.000+08:00', '2020-02-05T02:38:40.000Z'],
    ['2020-02-05T10:38:40-0130', '2020-02-05T12:08:40.000Z'],
    ['2020-02-05 10:38:40', '2020-02-05T10:38:40.000Z'],
    // a bare date, as a recorded ListBackups sends `protected_at`: midnight UTC
    ['2025-03-22', '2025-03-22T00:00:00.000Z'],
  ])('%s -> %s (naive = UTC, whatever the local zone)', (input, iso) => {
    expect(parseCbrTimestamp(input).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '2020-02-30T00:00:00Z', '2020-13-01T00:00:00', '2020-02-05T25:00:00', '2020-02-30', '1580899114'])('rejects %j', (input) => {
    expect(cbrTimestampMs(input)).toBeUndefined();
    expect(() => parseCbrTimestamp(input)).toThrow(RangeError);
    expect(S.CbrTimestamp.safeParse(input).success).toBe(false);
  });

  it('formats list filters as YYYY-MM-DDTHH:MM:SSZ', () => {
    expect(formatQueryTime(new Date('2018-02-01T12:00:00.999Z'))).toBe('2018-02-01T12:00:00Z');
  });
});

describe('tolerant responses', () => {
  it('numbers sent as strings are coerced, garbage is not', () => {
    expect(S.NumberLike.parse('40')).toBe(40);
    expect(S.NumberLike.parse(' 12.5 ')).toBe(12.5);
    expect(S.NumberLike.parse(7)).toBe(7);
    expect(S.NumberLike.safeParse('forty').success).toBe(false);
    expect(S.NumberLike.safeParse('').success).toBe(false);
    expect(S.NumberLike.safeParse(null).success).toBe(false);
  });

  it('unknown fields are kept at every level', () => {
    const v = S.Vault.parse({ ...VAULT, billing: { ...VAULT.billing, new_billing_field: 1 }, brand_new: true });
    expect(v).toMatchObject({ brand_new: true, billing: { new_billing_field: 1 } });
  });

  it('nullable optional fields may be null or absent', () => {
    const { description: _d, tags: _t, created_at: _c, ...minimal } = VAULT;
    expect(S.Vault.safeParse(minimal).success).toBe(true);
    expect(S.Backup.safeParse({ ...BACKUP, description: null, resource_size: null, extend_info: null, children: null }).success).toBe(true);
    expect(S.Member.safeParse({ ...MEMBER, created_at: null }).success).toBe(true);
    expect(S.OperationLog.safeParse({ ...OPLOG, error_info: null, extra_info: null }).success).toBe(true);
  });

  it('fields cbr-flow reads stay required; the rest may be missing', () => {
    const { status: _s, ...noStatus } = CHECKPOINT;
    expect(S.Checkpoint.safeParse(noStatus).success).toBe(false);
    const { id: _i, ...noId } = VAULT;
    expect(S.Vault.safeParse(noId).success).toBe(false);
    const { billing: _b, provider_id: _p, ...noBilling } = VAULT;
    expect(S.Vault.safeParse(noBilling).success).toBe(true);
    expect(S.Vault.parse({ ...VAULT, enterprise_project_id: 0 }).enterprise_project_id).toBe('0');
  });

  it('enums are open: known values typed, an unknown one kept as sent for the use-cases to handle', () => {
    expect(S.Backup.parse({ ...BACKUP, status: 'frozen' }).status).toBe('frozen');
    expect(S.isKnownValue(S.RESPONSE_BACKUP_STATUSES, 'frozen')).toBe(false);
    expect(S.isKnownValue(S.RESPONSE_BACKUP_STATUSES, S.Backup.parse(BACKUP).status)).toBe(true);
    expect(S.Member.parse({ ...MEMBER, status: 'maybe' }).status).toBe('maybe');
    expect(S.VaultResource.parse({ id: 'r', name: 'n', type: 'OS::Nova::Server', protect_status: 'deleted' }).protect_status).toBe('deleted');
    expect(S.Backup.safeParse({ ...BACKUP, status: 7 }).success).toBe(false);
  });

  it('server backups carry per-disk children parsed as backups', () => {
    const b = S.Backup.parse(BACKUP);
    expect(b.children![0]!.resource_type).toBe('OS::Cinder::Volume');
    expect(b.children![0]!.resource_size).toBe(40);
    expect(b.resource_size).toBe(40);
  });
});
