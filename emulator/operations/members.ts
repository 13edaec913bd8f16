/** Members (sharing): AddMember, ShowMembersDetail, ShowMemberDetail, UpdateMemberStatus, DeleteMember. */
import { paramError } from '../errors';
import { AddMemberBody, HEX32_RE, parseBody, UpdateMemberBody, UUID_RE } from '../schemas';
import { backupState, vaultState } from '../store';
import type { BackupRec, MemberRec } from '../store';
import { OBJECT_TYPE_RESOURCE, err, enumParam, page, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { renderMember } from './views';
import type { CbrService } from './service';

export function addMember(s: CbrService, ctx: OpContext): OpResult {
  const b = s.ownBackupOr404(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
  const { members } = parseBody(AddMemberBody, ctx.body, s.strict);
  if (b.parent || !s.config.quirks.shareableTypes.includes(b.resourceType)) throw err(400, '6700');
  if (backupState(b, ctx.now) !== 'available') throw err(400, '6702');
  const v = s.store.vaults.get(b.vaultId);
  if (!v || vaultState(v, ctx.now) !== 'available') throw err(400, '6712');
  const unique = new Set<string>();
  for (const dest of members) {
    if (!HEX32_RE.test(dest) || dest === ctx.projectId || !s.store.projects.has(dest)) throw err(400, '6704', `project_id: ${dest}`);
    if (unique.has(dest) || b.members.has(dest)) throw err(400, '6703', `project_id: ${dest}`);
    unique.add(dest);
  }
  if (b.members.size + unique.size > s.config.limits.maxMembersPerBackup) throw err(400, '6701');
  const created: MemberRec[] = [];
  for (const dest of unique) {
    const m: MemberRec = {
      id: s.store.newId(),
      backupId: b.id,
      destProjectId: dest,
      status: 'pending',
      vaultId: null,
      createdAt: ctx.now,
      updatedAt: null,
    };
    b.members.set(dest, m);
    s.store.share(b, dest);
    created.push(m);
  }
  // No `count`: neither documented AddMember answer has one.
  return { status: 200, body: { members: created.map((m) => renderMember(s, m)) } };
}

export function showMembersDetail(s: CbrService, ctx: OpContext): OpResult {
  const backupId = requirePathId(ctx.params.backup_id, 'backup_id');
  const b = s.store.liveBackup(backupId, ctx.now);
  if (!b || b.projectId !== ctx.projectId) {
    throw s.checkpointNotFound('6200');
  }
  const q = ctx.query;
  const dest = q.get('dest_project_id');
  const status = enumParam(q, 'status', ['pending', 'accepted', 'rejected']);
  const vaultId = q.get('vault_id');
  const imageId = q.get('image_id');
  const sort = q.get('sort');
  let list = [...b.members.values()].filter(
    (m) => (dest === null || m.destProjectId === dest) && (!status || m.status === status) && (vaultId === null || m.vaultId === vaultId) && (imageId === null),
  );
  if (sort !== null && sort !== '') {
    const [key, dir] = sort.split(':');
    if (!['created_at', 'updated_at', 'status', 'dest_project_id', 'id'].includes(key!)) throw paramError('sort', `unknown sort key "${key}"`);
    if (dir !== undefined && dir !== 'asc' && dir !== 'desc') throw paramError('sort', `direction must be asc or desc`);
    const k = key as 'created_at' | 'updated_at' | 'status' | 'dest_project_id' | 'id';
    const field = (m: MemberRec) =>
      k === 'created_at' ? m.createdAt : k === 'updated_at' ? (m.updatedAt ?? 0) : k === 'status' ? m.status : k === 'id' ? m.id : m.destProjectId;
    list = list.sort((x, y) => {
      const a = field(x);
      const c = field(y);
      return (a < c ? -1 : a > c ? 1 : 0) * (dir === 'asc' ? 1 : -1);
    });
  }
  const marker = q.get('marker');
  let ordered = list;
  if (marker !== null) {
    const at = list.findIndex((m) => m.id === marker);
    ordered = at < 0 ? [] : list.slice(at + 1);
  }
  const { page: items } = page(ordered, q);
  return { status: 200, body: { members: items.map((m) => renderMember(s, m)), count: list.length } };
}

/** member_id is the destination project id; the owner or that destination project may read it. */
function memberFor(s: CbrService, ctx: OpContext): { b: BackupRec; m: MemberRec } {
  const backupId = requirePathId(ctx.params.backup_id, 'backup_id');
  const byRecord = s.config.quirks.memberIdInPath === 'member-id';
  const memberId = requirePathId(ctx.params.member_id, 'member_id', byRecord ? UUID_RE : HEX32_RE);
  const b = s.store.liveBackup(backupId, ctx.now);
  if (!b || (b.projectId !== ctx.projectId && !b.members.has(ctx.projectId))) throw err(404, '6200');
  const m = byRecord ? [...b.members.values()].find((x) => x.id === memberId) : b.members.get(memberId);
  if (!m || (b.projectId !== ctx.projectId && m.destProjectId !== ctx.projectId)) throw err(404, '6705');
  return { b, m };
}

export function showMemberDetail(s: CbrService, ctx: OpContext): OpResult {
  const { m } = memberFor(s, ctx);
  return { status: 200, body: { member: renderMember(s, m) } };
}

export function updateMemberStatus(s: CbrService, ctx: OpContext): OpResult {
  const { b, m } = memberFor(s, ctx);
  // The recipient answers the share, calling with its own project id as both {project_id} and {member_id}.
  if (m.destProjectId !== ctx.projectId) throw err(400, '6706', 'Only the destination project can update the member status.');
  const input = parseBody(UpdateMemberBody, ctx.body, s.strict);
  if (input.status === 'accepted') {
    if (input.vault_id === undefined) throw paramError('vault_id', 'is required when status is accepted');
    const v = s.vaultOr404(ctx, input.vault_id);
    if (OBJECT_TYPE_RESOURCE[v.billing.objectType] !== b.resourceType) throw err(400, '6713');
    if (vaultState(v, ctx.now) !== 'available') throw err(400, '6712');
    m.vaultId = v.id;
  } else {
    m.vaultId = null; // rejecting (or resetting to pending) needs no vault; a vault_id sent anyway is ignored
  }
  m.status = input.status;
  m.updatedAt = ctx.now;
  return { status: 200, body: { member: renderMember(s, m) } };
}

export function deleteMember(s: CbrService, ctx: OpContext): OpResult {
  const { b, m } = memberFor(s, ctx);
  if (b.projectId !== ctx.projectId) throw err(404, '6200');
  b.members.delete(m.destProjectId);
  s.store.unshare(b, m.destProjectId);
  return { status: 204 };
}
