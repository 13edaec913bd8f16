/** Protectables: ListProtectable, ShowProtectable. */
import { paramError } from '../errors';
import type { CatalogueEntry } from '../store';
import { err, enumParam, page, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { renderProtectable } from './views';
import type { CbrService } from './service';

function protectableType(s: CbrService, ctx: OpContext, showOnly: boolean): 'OS::Nova::Server' | 'OS::Cinder::Volume' | null {
  const t = ctx.params.protectable_type;
  if (t === 'server') return 'OS::Nova::Server';
  if (t === 'disk') return 'OS::Cinder::Volume';
  const allowed = showOnly ? ['server', 'disk'] : ['server', 'disk', 'turbo', 'workspace', 'workspace_v2'];
  if (!allowed.includes(t ?? '')) throw paramError('protectable_type', `must be one of ${allowed.join(', ')}, got "${t ?? ''}"`);
  return null;
}

export function listProtectable(s: CbrService, ctx: OpContext): OpResult {
  const type = protectableType(s, ctx, false);
  const q = ctx.query;
  const name = q.get('name');
  const id = q.get('id');
  const serverId = q.get('server_id');
  const status = enumParam(q, 'status', ['available', 'error', 'protecting', 'restoring', 'removing', 'active', 'deleted']);
  const matches: CatalogueEntry[] = [];
  // Deleted instances only when asked for by status=deleted (they are answered with that status).
  const source = status === 'deleted' ? s.store.deletedCatalogue : s.store.catalogue;
  if (type) {
    for (const e of source.values()) {
      if (e.projectId !== ctx.projectId || e.type !== type) continue;
      if (name !== null && !e.name.includes(name)) continue;
      if (id !== null && e.id !== id) continue;
      if (serverId !== null && e.attachedTo !== serverId) continue;
      if (status !== undefined && status !== 'active' && status !== 'deleted') continue;
      matches.push(e);
    }
  }
  const marker = q.get('marker');
  let ordered = matches;
  if (marker !== null) {
    const at = matches.findIndex((e) => e.id === marker);
    ordered = at < 0 ? [] : matches.slice(at + 1);
  }
  const { page: items } = page(ordered, q, 50);
  return { status: 200, body: { instances: items.map((e) => renderProtectable(s, e, ctx.now, status === 'deleted' ? 'deleted' : 'active')) } };
}

export function showProtectable(s: CbrService, ctx: OpContext): OpResult {
  const type = protectableType(s, ctx, true);
  const id = requirePathId(ctx.params.instance_id, 'instance_id');
  // A deleted server/disk is still answered for a while, with status "deleted" (cbr-api.md §6.2: active|deleted|error).
  const live = s.store.catalogue.get(id);
  const e = live ?? s.store.deletedCatalogue.get(id);
  if (!e || e.projectId !== ctx.projectId || e.type !== type) throw err(404, '6302', `instance_id: ${id}`);
  return { status: 200, body: { instance: renderProtectable(s, e, ctx.now, live ? 'active' : 'deleted') } };
}
