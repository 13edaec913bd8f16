/** Vault resources: AddVaultResource, RemoveVaultResource, and the resource checks CreateVault shares. */
import { AddResourcesBody, parseBody, RemoveResourcesBody } from '../schemas';
import type { ResourceCreate } from '../schemas';
import { backupState, vaultState } from '../store';
import type { VaultRec, VaultResourceRec } from '../store';
import { OBJECT_TYPE_RESOURCE, err, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { addOpLog } from './oplogs';
import type { CbrService } from './service';

export function checkNewResources(s: CbrService, ctx: OpContext, vault: VaultRec | null, objectType: string, list: ResourceCreate[]): ResourceCreate[] {
  const seen = new Set<string>();
  for (const r of list) {
    if (seen.has(r.id)) throw err(400, '6104', `resource_id: ${r.id}`);
    seen.add(r.id);
  }
  const toBind: ResourceCreate[] = [];
  for (const r of list) {
    const entry = s.store.catalogue.get(r.id);
    if (!entry || entry.projectId !== ctx.projectId || entry.type !== r.type) throw err(404, '6302', `resource_id: ${r.id}`);
    if (OBJECT_TYPE_RESOURCE[objectType] !== r.type) throw err(400, '6102', `resource type ${r.type} cannot be added to a ${objectType} vault.`);
    const bound = s.store.boundVault(r.id, ctx.now);
    if (bound && bound !== vault) throw err(400, '6103', `resource_id: ${r.id}`);
    if (bound && bound === vault) {
      if (s.config.quirks.rebindSameVault === 'error') throw err(400, r.type === 'OS::Nova::Server' ? '7116' : '7006', `resource_id: ${r.id}`);
      continue;
    }
    toBind.push(r);
  }
  const current = vault ? vault.resources.size : 0;
  if (current + toBind.length > s.config.limits.maxVaultResources) {
    throw err(400, '6100', `A vault holds at most ${s.config.limits.maxVaultResources} resources.`);
  }
  return toBind;
}

export function bind(s: CbrService, vault: VaultRec, resources: ResourceCreate[], now: number): void {
  for (const r of resources) {
    const entry = s.store.catalogue.get(r.id)!;
    const rec: VaultResourceRec = {
      id: r.id,
      type: r.type,
      name: r.name ?? entry.name,
      extraInfo: r.extra_info ?? {},
      addedAt: now,
    };
    vault.resources.set(r.id, rec);
    s.store.bindings.set(r.id, vault);
  }
}

export function addVaultResource(s: CbrService, ctx: OpContext): OpResult {
  const v = s.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
  const { resources } = parseBody(AddResourcesBody, ctx.body, s.strict);
  if (vaultState(v, ctx.now) !== 'available') throw err(400, '6108', `Vault status: ${vaultState(v, ctx.now)}.`);
  const toBind = checkNewResources(s, ctx, v, v.billing.objectType, resources);
  bind(s, v, toBind, ctx.now);
  v.updatedAt = ctx.now;
  return { status: 200, body: { add_resource_ids: resources.map((r) => r.id) } };
}

export function removeVaultResource(s: CbrService, ctx: OpContext): OpResult {
  const v = s.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
  const { resource_ids: ids } = parseBody(RemoveResourcesBody, ctx.body, s.strict);
  if (vaultState(v, ctx.now) === 'deleting') throw err(400, '6112');
  const unique = [...new Set(ids)];
  for (const id of unique) {
    const r = v.resources.get(id);
    if (!r) throw err(400, '6135', `resource_id: ${id}`);
    if (r.lastBackup && backupState(r.lastBackup, ctx.now) === 'protecting') throw err(400, '6203', `resource_id: ${id}`);
  }
  for (const id of unique) {
    const r = v.resources.get(id)!;
    v.resources.delete(id);
    if (s.store.bindings.get(id) === v) s.store.bindings.delete(id);
    // Removing a resource also deletes its backups in this vault (asynchronously).
    const doneAt = ctx.now + s.store.draw(s.config.timing.removeResourceMs);
    for (const b of v.backups.values()) {
      if (b.resourceId !== id || b.deleteAt !== undefined) continue;
      b.deleteAt = ctx.now;
      b.deleteDoneAt = doneAt;
      for (const c of b.children) {
        c.deleteAt = ctx.now;
        c.deleteDoneAt = doneAt;
      }
    }
    addOpLog(s, ctx, v, 'remove_resource', {
      endAt: doneAt,
      resource: { id, name: r.name, type: r.type },
      extra: { remove_resources: { fail_count: 0, total_count: 1, resources: [{ id, name: r.name, type: r.type }] } },
    });
  }
  v.updatedAt = ctx.now;
  return { status: 200, body: { remove_resource_ids: unique } };
}
