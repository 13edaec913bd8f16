/** Operation logs: the records operations leave, ListOpLogs, ShowOpLog. */
import { PROVIDER_SERVER } from '../store';
import type { BackupRec, OpLogRec, VaultRec } from '../store';
import { PROVIDER_BY_OBJECT, OPLOG_TYPES, OPLOG_STATUSES, err, enumParam, timeParam, page, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { renderOpLog } from './views';
import type { CbrService } from './service';

export function addOpLog(
  s: CbrService,
  ctx: OpContext,
  v: VaultRec,
  type: OpLogRec['type'],
  o: { endAt: number; backup?: BackupRec; checkpointId?: string; resource: OpLogRec['resource']; extra: Record<string, unknown>; restore?: OpLogRec['restore'] },
): OpLogRec {
  const rec: OpLogRec = {
    id: s.store.newId(),
    projectId: ctx.projectId,
    type,
    createdAt: ctx.now,
    endAt: o.endAt,
    nominalMs: o.backup ? o.backup.nominalMs : Math.max(1, o.endAt - ctx.now),
    providerId: PROVIDER_BY_OBJECT[v.billing.objectType] ?? PROVIDER_SERVER,
    vaultId: v.id,
    vaultName: v.name,
    checkpointId: o.checkpointId ?? null,
    requestId: `req-${s.store.ids.uuid()}`,
    resource: o.resource,
    extra: o.extra,
    ...(o.backup ? { backup: o.backup } : {}),
    ...(o.restore ? { restore: o.restore } : {}),
  };
  s.store.addOpLog(rec);
  return rec;
}

export function opLogState(s: CbrService, o: OpLogRec, now: number): { status: 'running' | 'success' | 'failed'; progress: number; endedAt: number | null; failure: BackupRec['failure'] } {
  const end = o.backup ? o.backup.doneAt : o.endAt;
  const failure = o.backup ? o.backup.failure : (o.restore?.failure ?? null);
  if (now < end) {
    const progress = Math.min(99, Math.floor(((now - o.createdAt) * 100) / Math.max(1, o.nominalMs)));
    return { status: 'running', progress, endedAt: null, failure: null };
  }
  if (failure) return { status: 'failed', progress: Math.min(99, Math.floor(((end - o.createdAt) * 100) / Math.max(1, o.nominalMs))), endedAt: end, failure };
  return { status: 'success', progress: 100, endedAt: end, failure: null };
}

export function listOpLogs(s: CbrService, ctx: OpContext): OpResult {
  const q = ctx.query;
  const type = enumParam(q, 'operation_type', OPLOG_TYPES);
  const status = enumParam(q, 'status', OPLOG_STATUSES);
  const start = timeParam(q, 'start_time');
  const end = timeParam(q, 'end_time');
  const vaultId = q.get('vault_id');
  const vaultName = q.get('vault_name');
  const resourceId = q.get('resource_id');
  const resourceName = q.get('resource_name');
  const providerId = q.get('provider_id');
  const eps = q.get('enterprise_project_id');
  const matches: OpLogRec[] = [];
  for (const o of s.store.opLogsByProject.get(ctx.projectId)?.values() ?? []) {
    if (type && o.type !== type) continue;
    if (status && opLogState(s, o, ctx.now).status !== status) continue;
    if (start !== undefined && o.createdAt < start) continue;
    if (end !== undefined && o.createdAt > end) continue;
    if (vaultId !== null && o.vaultId !== vaultId) continue;
    if (vaultName !== null && !o.vaultName.includes(vaultName)) continue;
    if (resourceId !== null && o.resource?.id !== resourceId) continue;
    if (resourceName !== null && !(o.resource?.name ?? '').includes(resourceName)) continue;
    if (providerId !== null && o.providerId !== providerId) continue;
    if (eps !== null && eps !== 'all_granted_eps' && eps !== '0') continue;
    matches.push(o);
  }
  matches.reverse();
  const { page: items } = page(matches, q);
  return {
    status: 200,
    body: { operation_logs: items.map((o) => renderOpLog(s, o, ctx.now)), count: matches.length },
  };
}

export function showOpLog(s: CbrService, ctx: OpContext): OpResult {
  const id = requirePathId(ctx.params.operation_log_id, 'operation_log_id');
  const o = s.store.opLogs.get(id);
  if (!o || o.projectId !== ctx.projectId) throw err(404, '6500');
  return { status: 200, body: { operation_log: renderOpLog(s, o, ctx.now) } };
}
