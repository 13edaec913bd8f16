/** Vaults: CreateVault, ShowVault, ListVault, UpdateVault, DeleteVault. */
import { cbrError } from '../errors';
import { CreateVaultBody, parseBody, UpdateVaultBody } from '../schemas';
import { backupState, vaultState } from '../store';
import type { VaultRec } from '../store';
import { err, enumParam, page, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { checkNewResources, bind } from './resources';
import { addOpLog } from './oplogs';
import { renderVault } from './views';
import type { CbrService } from './service';

export function createVault(s: CbrService, ctx: OpContext): OpResult {
  const { vault: input } = parseBody(CreateVaultBody, ctx.body, s.strict);
  if (s.config.quirks.uniqueVaultNames) {
    for (const v of s.store.vaultsOf(ctx.projectId, ctx.now)) if (v.name === input.name) throw err(400, '6106', `name: ${input.name}`);
  }
  const toBind = checkNewResources(s, ctx, null, input.billing.object_type, input.resources);
  const prePaid = input.billing.charging_mode === 'pre_paid';
  const vault: VaultRec = {
    id: s.store.newId(),
    projectId: ctx.projectId,
    userId: ctx.userId,
    name: input.name,
    description: input.description ?? null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    billing: {
      cloudType: input.billing.cloud_type ?? 'public',
      consistentLevel: input.billing.consistent_level,
      objectType: input.billing.object_type,
      protectType: input.billing.protect_type,
      sizeGb: input.billing.size,
      chargingMode: prePaid ? 'pre_paid' : 'post_paid',
      periodType: input.billing.period_type ?? null,
      periodNum: input.billing.period_num ?? null,
      isAutoRenew: input.billing.is_auto_renew ?? false,
      isAutoPay: input.billing.is_auto_pay ?? false,
      isMultiAz: input.billing.is_multi_az ?? false,
      orderId: prePaid ? `CS${s.store.ids.hex(16).toUpperCase()}` : null,
      productId: prePaid ? s.store.ids.hex(32) : null,
    },
    tags: (input.tags ?? []).map((t) => ({ key: t.key, value: t.value ?? null })),
    enterpriseProjectId: input.enterprise_project_id ?? '0',
    autoBind: input.auto_bind ?? false,
    bindRules: input.bind_rules ?? {},
    autoExpand: input.auto_expand ?? false,
    smnNotify: input.smn_notify ?? true,
    threshold: input.threshold ?? 80,
    locked: input.locked ?? false,
    backupPolicyId: input.backup_policy_id ?? null,
    backupNamePrefix: input.backup_name_prefix ?? null,
    sysLockSourceService: input.sys_lock_source_service ?? null,
    availabilityZone: input.availability_zone ?? null,
    resources: new Map(),
    backups: new Map(),
  };
  s.store.addVault(vault);
  bind(s, vault, toBind, ctx.now);
  if (prePaid && s.config.quirks.prePaidCreate === 'order') {
    vault.paidAt = vault.billing.isAutoPay ? ctx.now + s.store.draw(s.config.timing.orderPayMs) : Number.POSITIVE_INFINITY;
    const order = { cloudServiceId: 'cbr', orderId: vault.billing.orderId, resourceId: vault.id, subscribeResult: 1 };
    return { status: 200, body: { errText: 'success', error_code: '0', orders: [order], retCode: 0 } };
  }
  return { status: 200, body: { vault: renderVault(s, vault, ctx.now) } };
}

export function showVault(s: CbrService, ctx: OpContext): OpResult {
  const v = s.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
  return { status: 200, body: { vault: renderVault(s, v, ctx.now) } };
}

export function listVault(s: CbrService, ctx: OpContext): OpResult {
  const q = ctx.query;
  const name = q.get('name');
  const cloudType = enumParam(q, 'cloud_type', ['public', 'hybrid']);
  const protectType = enumParam(q, 'protect_type', ['backup', 'replication']);
  const objectType = q.get('object_type');
  const eps = q.get('enterprise_project_id');
  const ids = q.getAll('id');
  const policyId = q.get('policy_id');
  const status = q.get('status');
  const resourceIds = q.get('resource_ids')?.split(',').filter((s) => s !== '');
  const fuzzy = s.config.quirks.listVaultNameMatch === 'fuzzy';
  const matches: VaultRec[] = [];
  for (const v of s.store.vaultsOf(ctx.projectId, ctx.now)) {
    if (name !== null && (fuzzy ? !v.name.includes(name) : v.name !== name)) continue;
    if (cloudType && v.billing.cloudType !== cloudType) continue;
    if (protectType && v.billing.protectType !== protectType) continue;
    if (objectType !== null && v.billing.objectType !== objectType) continue;
    if (eps !== null && eps !== 'all_granted_eps' && v.enterpriseProjectId !== eps) continue;
    if (ids.length > 0 && !ids.includes(v.id)) continue;
    if (policyId !== null && v.backupPolicyId !== policyId) continue;
    if (status !== null && vaultState(v, ctx.now) !== status) continue;
    if (resourceIds && !resourceIds.some((r) => v.resources.has(r))) continue;
    matches.push(v);
  }
  matches.reverse(); // newest first
  const { page: items, limit, offset } = page(matches, q);
  return { status: 200, body: { vaults: items.map((v) => renderVault(s, v, ctx.now)), count: matches.length, limit: limit ?? 1000, offset: offset ?? 0 } };
}

export function updateVault(s: CbrService, ctx: OpContext): OpResult {
  const v = s.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
  const { vault: input } = parseBody(UpdateVaultBody, ctx.body, s.strict);
  if (vaultState(v, ctx.now) === 'deleting') throw err(400, '6112');
  if (input.locked === false && v.locked) throw cbrError(400, '6110', 'vault not support to modify locked attribute from true to false.');
  if (input.auto_expand === true && v.billing.chargingMode === 'pre_paid') throw err(400, '6110', 'auto_expand is only supported by pay-per-use vaults.');
  if (input.billing?.size !== undefined) {
    const used = s.store.usedMb(v, ctx.now);
    if (input.billing.size * 1024 < used) throw err(400, '6101', `size ${input.billing.size} GB is below the used capacity.`);
    v.billing.sizeGb = input.billing.size;
  }
  if (input.billing?.consistent_level !== undefined) v.billing.consistentLevel = input.billing.consistent_level;
  if (input.name !== undefined) v.name = input.name;
  if (input.auto_bind !== undefined) v.autoBind = input.auto_bind;
  if (input.bind_rules !== undefined) v.bindRules = input.bind_rules;
  if (input.auto_expand !== undefined) v.autoExpand = input.auto_expand;
  if (input.smn_notify !== undefined) v.smnNotify = input.smn_notify;
  if (input.threshold !== undefined) v.threshold = input.threshold;
  if (input.locked !== undefined) v.locked = input.locked;
  v.updatedAt = ctx.now;
  return { status: 200, body: { vault: renderVault(s, v, ctx.now) } };
}

export function deleteVault(s: CbrService, ctx: OpContext): OpResult {
  const v = s.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
  if (v.billing.chargingMode === 'pre_paid') throw err(400, '6111', 'Yearly/monthly vaults must be unsubscribed.');
  if (vaultState(v, ctx.now) === 'deleting') throw err(400, '6112');
  for (const b of s.store.backupsIn(v.backups, ctx.now)) if (backupState(b, ctx.now) === 'protecting') throw err(400, '6203');
  const doneAt = ctx.now + s.store.draw(s.config.timing.vaultDeleteMs);
  v.deleteAt = ctx.now;
  v.deleteDoneAt = doneAt;
  let total = 0;
  for (const b of v.backups.values()) {
    total++;
    if (b.deleteAt === undefined) b.deleteAt = ctx.now;
    b.deleteDoneAt = Math.min(b.deleteDoneAt ?? doneAt, doneAt);
    for (const c of b.children) {
      c.deleteAt = b.deleteAt;
      c.deleteDoneAt = b.deleteDoneAt;
    }
  }
  addOpLog(s, ctx, v, 'vault_delete', {
    endAt: doneAt,
    resource: null,
    extra: { vault_delete: { fail_count: 0, total_count: total } },
  });
  return { status: 204 };
}
