/** Backups: ListBackups (filters, sort, marker paging), ShowBackup, DeleteBackup. */
import { paramError } from '../errors';
import { backupState, holdsData } from '../store';
import type { BackupRec, MemberRec, VaultRec } from '../store';
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
    if (imageType && (b.replicaOf ? 'replication' : 'backup') !== imageType) return;
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

/**
 * DeleteBackup refuses (400) where CBR does (cbr-api.md §4.3, OTC error_codes.rst): a backup still
 * protecting (6203), already deleting (6201), being restored (6216 "in use"), accepted by another project
 * (6216, quirk deleteAcceptedShare), an automatic backup in a locked vault (6220); a disk backup of a
 * server backup on its own (6201).
 */
export function deleteBackup(s: CbrService, ctx: OpContext): OpResult {
  const b = s.ownBackupOr404(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
  if (b.parent) throw err(400, '6201', 'A disk backup of a server backup cannot be deleted on its own.');
  const st = backupState(b, ctx.now);
  if (st === 'protecting') throw err(400, '6203');
  if (st === 'deleting') throw err(400, '6201', 'The backup is already being deleted.');
  if (st === 'restoring') throw err(400, '6216', 'The backup is being restored.');
  if (s.config.quirks.deleteAcceptedShare === 'refuse') {
    const accepted = [...b.members.values()].filter((m) => m.status === 'accepted').map((m) => m.destProjectId);
    if (accepted.length > 0) throw err(400, '6216', `The backup is shared with and accepted by project(s) ${accepted.join(', ')}; cancel the sharing (DeleteMember) first.`);
  }
  const v = s.store.vaults.get(b.vaultId)!;
  if (v.locked && b.autoTrigger) throw err(400, '6220');
  const doneAt = ctx.now + s.store.draw(s.config.timing.backupDeleteMs);
  b.deleteAt = ctx.now;
  b.deleteDoneAt = doneAt;
  for (const c of b.children) {
    c.deleteAt = ctx.now;
    c.deleteDoneAt = doneAt;
  }
  mergeOnDelete(v, b, ctx.now);
  addOpLog(s, ctx, v, 'delete', {
    endAt: doneAt,
    checkpointId: b.checkpointId,
    resource: { id: b.resourceId, name: b.resourceName, type: b.resourceType },
    extra: { delete: { backup_id: b.id, backup_name: b.name } },
  });
  return { status: 204 };
}

/**
 * Incremental chains (emulator/README.md "Capacity"): CBR merges a deleted backup's data into the next
 * backup of the same resource, which must stay restorable. Modelled as: the next (newer, completed,
 * not deleting) backup of the resource in the vault takes the larger of its own size and the deleted
 * one's. So deleting the newest backup frees its whole size, deleting a chain's full backup frees only
 * about an incremental's worth (the next backup becomes the full), and deleting an incremental in the
 * middle frees its size (same-sized increments are taken to overlap).
 */
function mergeOnDelete(v: VaultRec, deleted: BackupRec, now: number): void {
  const next = [...v.backups.values()].find(
    (x) => x !== deleted && x.resourceId === deleted.resourceId && x.createdAt >= deleted.createdAt && holdsData(backupState(x, now)) && backupState(x, now) !== 'deleting' && isAfter(v, x, deleted),
  );
  if (!next) return;
  next.sizeMb = Math.max(next.sizeMb, deleted.sizeMb);
  for (const c of next.children) {
    const old = deleted.children.find((d) => d.resourceId === c.resourceId);
    if (old) c.sizeMb = Math.max(c.sizeMb, old.sizeMb);
  }
}

/** `later` was created after `earlier` (the vault's backups are kept in creation order). */
function isAfter(v: VaultRec, later: BackupRec, earlier: BackupRec): boolean {
  let seenEarlier = false;
  for (const x of v.backups.values()) {
    if (x === earlier) seenEarlier = true;
    else if (x === later) return seenEarlier;
  }
  return false;
}
