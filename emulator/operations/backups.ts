/** Backups: ListBackups (filters, sort, marker paging), ShowBackup, DeleteBackup. */
import { paramError } from '../errors';
import { backupState } from '../store';
import type { BackupRec, MemberRec } from '../store';
import { BACKUP_STATUSES, err, intParam, enumParam, enumListParam, boolParam, timeParam, parseSort, page, requirePathId } from './common';
import type { OpContext, OpResult, SortKey } from './common';
import { addOpLog } from './oplogs';
import { backupUpdatedAt, renderBackup } from './views';
import type { CbrService } from './service';

export function listBackups(s: CbrService, ctx: OpContext): OpResult {
  const q = ctx.query;
  const ownType = enumParam(q, 'own_type', ['private', 'shared', 'all_granted']) ?? 'private';
  const statuses = enumListParam(q, 'status', BACKUP_STATUSES);
  const resourceType = enumParam(q, 'resource_type', ['OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Workspace::DesktopV2']);
  const imageType = enumParam(q, 'image_type', ['backup', 'replication']);
  const memberStatus = enumParam(q, 'member_status', ['pending', 'accepted', 'rejected']);
  const start = timeParam(q, 'start_time');
  const end = timeParam(q, 'end_time');
  const usedPercent = intParam(q, 'used_percent', 1, 100);
  const incrementalFilter = boolParam(q, 'incremental');
  boolParam(q, 'show_replication');
  boolParam(q, 'dec');
  const sort = parseSort(q.get('sort'));
  const checkpointId = q.get('checkpoint_id');
  const vaultId = q.get('vault_id');
  const resourceId = q.get('resource_id');
  const resourceName = q.get('resource_name');
  const resourceAz = q.get('resource_az');
  const name = q.get('name');
  const parentId = q.get('parent_id');
  const eps = q.get('enterprise_project_id');
  const marker = q.get('marker');

  type Row = { b: BackupRec; member?: MemberRec; seq: number };
  const rows: Row[] = [];
  let seq = 0;
  const consider = (b: BackupRec, member?: MemberRec) => {
    const st = backupState(b.parent ?? b, ctx.now);
    if (st === 'gone') return;
    const shownVault = member ? member.vaultId : b.vaultId;
    if (checkpointId !== null && b.checkpointId !== checkpointId) return;
    if (vaultId !== null && shownVault !== vaultId) return;
    if (resourceId !== null && b.resourceId !== resourceId) return;
    if (resourceName !== null && !b.resourceName.includes(resourceName)) return;
    if (resourceType && b.resourceType !== resourceType) return;
    if (resourceAz !== null && b.az !== resourceAz) return;
    if (name !== null && !b.name.includes(name)) return;
    if (statuses.length > 0 && !statuses.includes(st)) return;
    if (imageType && imageType !== 'backup') return;
    if (start !== undefined && b.createdAt < start) return;
    if (end !== undefined && b.createdAt > end) return;
    if (incrementalFilter !== undefined && b.incremental !== incrementalFilter) return;
    if (eps !== null && eps !== 'all_granted_eps' && eps !== '0') return;
    if (memberStatus && !member && ![...b.members.values()].some((m) => m.status === memberStatus)) return;
    if (usedPercent !== undefined) {
      const v = s.store.vaults.get(b.vaultId);
      if (!v || (s.store.usedMb(v, ctx.now) * 100) / (v.billing.sizeGb * 1024) < usedPercent) return;
    }
    rows.push(member ? { b, member, seq: seq++ } : { b, seq: seq++ });
  };

  if (parentId !== null) {
    const parent = s.visibleBackup(ctx, parentId);
    if (parent) for (const c of parent.backup.children) consider(c, parent.member);
  } else {
    if (ownType === 'private' || ownType === 'all_granted') {
      const index =
        vaultId !== null
          ? s.store.vaults.get(vaultId)?.projectId === ctx.projectId
            ? s.store.vaults.get(vaultId)!.backups
            : undefined
          : checkpointId !== null
            ? checkpointIndex(s, ctx, checkpointId)
            : s.store.backupsByProject.get(ctx.projectId);
      for (const b of s.store.backupsIn(index, ctx.now)) consider(b);
    }
    if (ownType === 'shared' || ownType === 'all_granted') {
      for (const b of s.store.backupsIn(s.store.sharedWith.get(ctx.projectId), ctx.now)) {
        const m = b.members.get(ctx.projectId);
        if (!m) continue;
        if (memberStatus ? m.status !== memberStatus : m.status === 'rejected') continue;
        consider(b, m);
      }
    }
  }

  sortRows(s, rows, sort, ctx.now);
  let ordered = rows;
  if (marker !== null) {
    const at = rows.findIndex((r) => r.b.id === marker);
    if (at < 0) throw paramError('marker', `no backup with id "${marker}" in this listing`);
    ordered = rows.slice(at + 1);
  }
  const { page: items, limit, offset } = page(ordered, q);
  return {
    status: 200,
    body: { backups: items.map((r) => renderBackup(s, r.b, ctx.now, r.member)), count: rows.length, limit: limit ?? 1000, offset: offset ?? 0 },
  };
}

function checkpointIndex(s: CbrService, ctx: OpContext, checkpointId: string): Map<string, BackupRec> | undefined {
  const c = s.store.checkpoints.get(checkpointId);
  if (!c || c.projectId !== ctx.projectId) return undefined;
  return new Map(c.backups.map((b) => [b.id, b]));
}

function sortRows(s: CbrService, rows: Array<{ b: BackupRec; seq: number }>, sort: Array<{ key: SortKey; desc: boolean }>, now: number): void {
  const only = sort.length === 1 ? sort[0]! : undefined;
  if (only && only.key === 'created_at') {
    // Rows arrive in creation order: reverse for desc, keep for asc (no comparison sort needed).
    if (only.desc) rows.reverse();
    return;
  }
  const value = (b: BackupRec, key: SortKey): string | number => {
    switch (key) {
      case 'created_at':
      case 'protected_at':
        return b.createdAt;
      case 'updated_at':
        return backupUpdatedAt(s, b, now);
      case 'name':
        return b.name;
      case 'status':
        return backupState(b.parent ?? b, now);
      case 'id':
        return b.id;
    }
  };
  const firstDesc = sort[0]!.desc;
  rows.sort((x, y) => {
    for (const { key, desc } of sort) {
      const a = value(x.b, key);
      const b = value(y.b, key);
      if (a < b) return desc ? 1 : -1;
      if (a > b) return desc ? -1 : 1;
    }
    return firstDesc ? y.seq - x.seq : x.seq - y.seq;
  });
}

export function showBackup(s: CbrService, ctx: OpContext): OpResult {
  const seen = s.visibleBackup(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
  if (!seen) throw err(404, '6200');
  return { status: 200, body: { backup: renderBackup(s, seen.backup, ctx.now, seen.member) } };
}

export function deleteBackup(s: CbrService, ctx: OpContext): OpResult {
  const b = s.ownBackupOr404(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
  if (b.parent) throw err(400, '6201', 'A disk backup of a server backup cannot be deleted on its own.');
  const st = backupState(b, ctx.now);
  if (st === 'protecting') throw err(400, '6203');
  if (st === 'deleting') throw err(400, '6201', 'The backup is already being deleted.');
  const doneAt = ctx.now + s.store.draw(s.config.timing.backupDeleteMs);
  b.deleteAt = ctx.now;
  b.deleteDoneAt = doneAt;
  for (const c of b.children) {
    c.deleteAt = ctx.now;
    c.deleteDoneAt = doneAt;
  }
  const v = s.store.vaults.get(b.vaultId)!;
  addOpLog(s, ctx, v, 'delete', {
    endAt: doneAt,
    checkpointId: b.checkpointId,
    resource: { id: b.resourceId, name: b.resourceName, type: b.resourceType },
    extra: { delete: { backup_id: b.id, backup_name: b.name } },
  });
  return { status: 204 };
}
