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
  if (type) {
    for (const e of s.store.catalogue.values()) {
      if (e.projectId !== ctx.projectId || e.type !== type) continue;
      if (name !== null && !e.name.includes(name)) continue;
      if (id !== null && e.id !== id) continue;
      if (serverId !== null && e.attachedTo !== serverId) continue;
      if (status !== undefined && status !== 'active') continue;
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
  return { status: 200, body: { instances: items.map((e) => renderProtectable(s, e, ctx.now)) } };
}

export function showProtectable(s: CbrService, ctx: OpContext): OpResult {
  const type = protectableType(s, ctx, true);
  const id = requirePathId(ctx.params.instance_id, 'instance_id');
  const e = s.store.catalogue.get(id);
  if (!e || e.projectId !== ctx.projectId || e.type !== type) throw err(404, '6302', `instance_id: ${id}`);
  return { status: 200, body: { instance: renderProtectable(s, e, ctx.now) } };
}
