/** Checkpoints: CreateCheckpoint (one backup per resource, outcomes from fault scripts), ShowCheckpoint. */
import { CreateCheckpointBody, parseBody } from '../schemas';
import { backupState, holdsData, vaultState } from '../store';
import type { BackupRec, CatalogueEntry, CheckpointRec, MemberRec, SkippedResource, VaultRec, VaultResourceRec } from '../store';
import { err, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { addOpLog } from './oplogs';
import { renderCheckpoint } from './views';
import type { CbrService } from './service';

export function createCheckpoint(s: CbrService, ctx: OpContext): OpResult {
  const { checkpoint: input } = parseBody(CreateCheckpointBody, ctx.body, s.strict);
  const v = s.vaultOr404(ctx, input.vault_id);
  const vs = vaultState(v, ctx.now);
  if (vs !== 'available') throw err(400, '6113', `Vault status: ${vs}.`);
  if (v.billing.protectType === 'replication') throw err(400, '6124');
  const p = input.parameters ?? {};
  const requested = [...new Set([...(p.resources ?? []), ...(p.resource_details ?? []).map((r) => r.id)])];
  let targets: VaultResourceRec[];
  if (requested.length === 0) {
    targets = [...v.resources.values()].filter((r) => s.store.catalogue.has(r.id)); // a deleted server is not backed up
    if (targets.length === 0) throw err(400, '0001');
  } else {
    targets = requested.map((id) => {
      const inVault = v.resources.get(id);
      if (inVault && s.store.catalogue.has(id)) return inVault;
      if (inVault) throw err(404, '6302', `resource_id: ${id}`);
      const entry = s.store.catalogue.get(id);
      if (!entry || entry.projectId !== ctx.projectId) throw err(404, '6302', `resource_id: ${id}`);
      throw err(400, '6135', `resource_id: ${id}`);
    });
  }
  // A resource being restored cannot be backed up (APIX CreateCheckpoint: 400 BackupService.2010).
  for (const r of targets) if (s.store.restoringOnto(ctx.projectId, r.id, ctx.now)) throw err(400, '2010', `resource_id: ${r.id}`);

  const quirk = s.config.quirks.concurrentBackup;
  const busy = (r: VaultResourceRec) => r.lastBackup !== undefined && backupState(r.lastBackup, ctx.now) === 'protecting';
  if (quirk === '1001') {
    for (const r of v.resources.values()) if (busy(r)) throw err(400, '1001');
  }
  const skipped: SkippedResource[] = [];
  const runnable: VaultResourceRec[] = [];
  for (const r of targets) {
    if (!busy(r)) runnable.push(r);
    else if (quirk === '6125') throw err(400, '6125', `resource_id: ${r.id}`);
    else skipped.push({ id: r.id, type: r.type, name: s.store.catalogue.get(r.id)?.name ?? r.name, code: 'BackupService.6125', reason: 'the resource is being backed up' });
  }
  if (runnable.length === 0) throw err(400, '6125', 'Every requested resource is being backed up.');
  checkCapacity(s, ctx, v, runnable, p.incremental ?? true);

  const script = s.faults.takeScript(p.name, v.id);
  const checkpoint: CheckpointRec = {
    id: s.store.newId(),
    projectId: ctx.projectId,
    vaultId: v.id,
    vaultName: v.name,
    createdAt: ctx.now,
    name: p.name ?? `manualbk_${s.store.ids.hex(4)}`,
    description: p.description ?? '',
    incremental: p.incremental ?? true,
    autoTrigger: p.auto_trigger ?? false,
    backups: [],
    skipped,
  };
  for (const r of runnable) {
    const entry = s.store.catalogue.get(r.id)!;
    const affected = script !== undefined && (script.resourceIds === undefined || script.resourceIds.includes(r.id));
    const outcome = affected ? script.outcome : 'available';
    const nominal = script?.durationMs ?? s.store.draw(s.config.timing.checkpointMs);
    const hasFull = hasBaseBackup(v, r.id, ctx.now);
    const incremental = checkpoint.incremental && hasFull;
    const failure =
      outcome === 'error' ? { code: script?.code ?? 'BackupService.9910', message: script?.reason ?? 'The backup failed.' } : null;
    const backup = newBackup(s, ctx, v, checkpoint, entry, r, { nominal, never: outcome === 'never', failure, incremental });
    r.lastBackup = backup;
    checkpoint.backups.push(backup);
    s.store.addBackup(backup);
    addOpLog(s, ctx, v, 'backup', {
      backup,
      endAt: backup.doneAt,
      checkpointId: checkpoint.id,
      resource: { id: r.id, name: entry.name, type: r.type },
      extra: {
        backup: {
          backup_id: backup.id,
          backup_name: backup.name,
          incremental: String(incremental),
          app_consistency_status: '0',
          app_consistency_error_code: '',
          app_consistency_error_message: '',
        },
      },
    });
  }
  s.store.checkpoints.set(checkpoint.id, checkpoint);
  return { status: 200, body: { checkpoint: renderCheckpoint(s, checkpoint, v, ctx.now) } };
}

/** An incremental backup needs a completed backup of the resource in the vault to build on. */
function hasBaseBackup(v: VaultRec, resourceId: string, now: number): boolean {
  for (const b of v.backups.values()) if (b.resourceId === resourceId && holdsData(backupState(b, now)) && backupState(b, now) !== 'deleting') return true;
  return false;
}

/** MB a full backup of the resource stores: its used size (usedGb, or its disks', or size x fullBackupRatio). */
export function fullBackupMb(s: CbrService, entry: Pick<CatalogueEntry, 'sizeGb' | 'usedGb' | 'disks'>): number {
  const ratio = s.config.capacity.fullBackupRatio;
  if (entry.usedGb !== undefined) return Math.round(entry.usedGb * 1024);
  if (entry.disks.some((d) => d.usedGb !== undefined)) return entry.disks.reduce((sum, d) => sum + Math.round((d.usedGb ?? d.sizeGb * ratio) * 1024), 0);
  return Math.round(entry.sizeGb * 1024 * ratio);
}

function backupMb(s: CbrService, entry: Pick<CatalogueEntry, 'sizeGb' | 'usedGb' | 'disks'>, incremental: boolean): number {
  const full = fullBackupMb(s, entry);
  return incremental ? Math.round(full * s.config.capacity.incrementalRatio) : full;
}

/**
 * 6114 (cbr-api.md §3.1: 400 "vault used capacity exceeds total"): with the default quirk, when what the
 * vault holds, plus what its running backups will add, plus what this checkpoint would add, exceeds
 * billing.size. A vault with auto_expand grows instead (renderVault shows the grown size).
 */
function checkCapacity(s: CbrService, ctx: OpContext, v: VaultRec, runnable: VaultResourceRec[], incremental: boolean): void {
  if (v.autoExpand) return;
  const sizeMb = v.billing.sizeGb * 1024;
  const used = s.store.usedMb(v, ctx.now);
  if (s.config.quirks.capacityCheck === 'used') {
    if (used >= sizeMb) throw err(400, '6114', `Used ${used} MB of ${v.billing.sizeGb} GB.`);
    return;
  }
  const reserved = s.store.reservedMb(v, ctx.now);
  let need = 0;
  for (const r of runnable) need += backupMb(s, s.store.catalogue.get(r.id)!, incremental && hasBaseBackup(v, r.id, ctx.now));
  if (used + reserved + need > sizeMb) {
    throw err(400, '6114', `Used ${used} MB and ${reserved} MB being backed up of ${v.billing.sizeGb} GB; this backup needs ${need} MB.`);
  }
}

function newBackup(
  s: CbrService,
  ctx: OpContext,
  v: VaultRec,
  c: CheckpointRec,
  entry: CatalogueEntry,
  r: VaultResourceRec,
  o: { nominal: number; never: boolean; failure: BackupRec['failure']; incremental: boolean },
): BackupRec {
  const base = {
    projectId: ctx.projectId,
    checkpointId: c.id,
    vaultId: v.id,
    az: entry.az,
    name: c.name,
    description: c.description,
    autoTrigger: c.autoTrigger,
    incremental: o.incremental,
    createdAt: ctx.now,
    doneAt: o.never ? Number.POSITIVE_INFINITY : ctx.now + o.nominal,
    nominalMs: o.nominal,
    failure: o.failure,
    members: new Map<string, MemberRec>(),
  };
  const parent: BackupRec = {
    ...base,
    id: s.store.newId(),
    resourceId: entry.id,
    // The backup carries the resource's own name, not the label given when it was added (seed example).
    resourceName: entry.name,
    resourceType: entry.type,
    resourceSizeGb: entry.sizeGb,
    bootable: entry.disks.some((d) => d.bootable),
    sizeMb: backupMb(s, entry, o.incremental),
    parent: null,
    children: [],
  };
  if (entry.type === 'OS::Nova::Server') {
    parent.children = entry.disks.map((d) => ({
      ...base,
      members: new Map<string, MemberRec>(),
      id: s.store.newId(),
      resourceId: d.id,
      resourceName: d.name,
      resourceType: 'OS::Cinder::Volume' as const,
      resourceSizeGb: d.sizeGb,
      bootable: d.bootable,
      sizeMb: backupMb(s, { sizeGb: d.sizeGb, usedGb: d.usedGb, disks: [] }, o.incremental),
      parent,
      children: [],
    }));
  }
  return parent;
}

export function showCheckpoint(s: CbrService, ctx: OpContext): OpResult {
  const id = requirePathId(ctx.params.checkpoint_id, 'checkpoint_id');
  const c = s.store.liveCheckpoint(id, ctx.now);
  if (!c || c.projectId !== ctx.projectId) {
    throw s.checkpointNotFound('6217');
  }
  return { status: 200, body: { checkpoint: renderCheckpoint(s, c, s.store.vaults.get(c.vaultId), ctx.now) } };
}
