/**
 * RestoreBackup: POST /v3/{project_id}/backups/{backup_id}/restore, 202 with no body (OTC
 * api-ref/source/cbr_apis/backups/restoring_a_backup.rst; cbr-api.md §1 "202 for RestoreBackup").
 *
 * Body `{restore: {mappings?: [{backup_id, volume_id}], power_on?, server_id?, volume_id?}}`: a server
 * backup needs `server_id` and `mappings` (disk backup -> target disk), a disk backup needs `volume_id`.
 * Checks, in this order, with the codes of OTC error_codes.rst:
 *   404 6200 unknown backup;  400 2010 backup being restored from;  400 2005 backup not `available`;  400 6202 vault not `available`;
 *   404 6302 unknown target (400 2007 when the server was deleted);  400 2003 other server (quirk);
 *   400 9900 a mapping naming a disk backup of another backup or a disk not attached to the target,
 *   a duplicate, or a disk backup left unmapped;  400 2013 a data-disk backup onto the system disk;
 *   400 2001 target disk smaller than the disk backup;
 *   400 2010 the target (server or a mapped disk) is being restored;  400 2002 it is being backed up.
 * Accepted: an op log `restore` (`extra_info.restore`: backup_id, backup_name, target_resource_id,
 * target_resource_name, OTC querying_the_task_list.rst Table 15) `running` for timing.restoreMs, then
 * `success` (or `failed` when the admin API resolved it so). While it runs, CreateCheckpoint of the target
 * answers 2010 and a second restore onto it 2010; the backup restored from is `restoring` (DeleteBackup
 * 6216, a restore from it 2010) and `available` again when the restore ends; the backups of the target
 * are left as they are.
 */
import { paramError } from '../errors';
import { parseBody, RestoreBackupBody } from '../schemas';
import { backupState, vaultState } from '../store';
import type { BackupRec, CatalogueEntry } from '../store';
import { err, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { addOpLog } from './oplogs';
import type { CbrService } from './service';

function targetOr404(s: CbrService, ctx: OpContext, id: string, type: CatalogueEntry['type']): CatalogueEntry {
  const live = s.store.catalogue.get(id);
  if (live && live.projectId === ctx.projectId && live.type === type) return live;
  const gone = s.store.deletedCatalogue.get(id);
  if (gone && gone.projectId === ctx.projectId && gone.type === type) throw err(400, '2007', `server_id: ${id}`);
  throw err(404, '6302', `${type === 'OS::Nova::Server' ? 'server_id' : 'volume_id'}: ${id}`);
}

/** The server or disk is being backed up: its last backup in its vault is still protecting. */
function backingUp(s: CbrService, ids: string[], now: number): string | undefined {
  for (const id of ids) {
    const v = s.store.boundVault(id, now);
    const last = v?.resources.get(id)?.lastBackup;
    if (last && backupState(last, now) === 'protecting') return id;
  }
  return undefined;
}

export function restoreBackup(s: CbrService, ctx: OpContext): OpResult {
  const backupId = requirePathId(ctx.params.backup_id, 'backup_id');
  const b = s.ownBackupOr404(ctx, backupId);
  const { restore: input } = parseBody(RestoreBackupBody, ctx.body, s.strict);
  const root = b.parent ?? b;
  const st = backupState(root, ctx.now);
  // A backup already being restored from: 2010 ("The resource is being restored"), like its target.
  if (st === 'restoring') throw err(400, '2010', `backup_id: ${root.id} is being restored.`);
  if (st !== 'available') throw err(400, '2005', `Backup status: ${st}.`);
  const v = s.store.vaults.get(root.vaultId)!;
  const vs = vaultState(v, ctx.now);
  if (vs !== 'available') throw err(400, '6202', `Vault status: ${vs}.`);

  let target: CatalogueEntry;
  let volumeIds: string[];
  if (b.resourceType === 'OS::Nova::Server') {
    if (input.server_id === undefined) throw paramError('restore.server_id', 'is mandatory for the restoration of a server backup');
    if (input.mappings === undefined) throw paramError('restore.mappings', 'is mandatory for the restoration of a server backup');
    target = targetOr404(s, ctx, input.server_id, 'OS::Nova::Server');
    if (target.id !== b.resourceId && s.config.quirks.restoreToOtherServer === '2003') throw err(400, '2003', `server_id: ${target.id}`);
    volumeIds = checkMappings(s, b, target, input.mappings);
  } else {
    if (input.volume_id === undefined) throw paramError('restore.volume_id', 'is mandatory for the restoration of a disk backup');
    target = targetOr404(s, ctx, input.volume_id, 'OS::Cinder::Volume');
    if (target.sizeGb < b.resourceSizeGb) throw err(400, '2001', `volume_id ${target.id}: ${target.sizeGb} GB < ${b.resourceSizeGb} GB.`);
    volumeIds = [target.id];
  }
  const targets = [target.id, ...volumeIds];
  for (const id of targets) {
    if (s.store.restoringOnto(ctx.projectId, id, ctx.now)) throw err(400, '2010', `resource_id: ${id}`);
  }
  const busy = backingUp(s, [target.id, ...(target.attachedTo ? [target.attachedTo] : [])], ctx.now);
  if (busy) throw err(400, '2002', `resource_id: ${busy}`);

  const nominal = s.store.draw(s.config.timing.restoreMs);
  // The backup restored from is `restoring` while the restore runs: DeleteBackup answers 6216, another
  // restore from it 2010 (OTC backup status enum: `restoring`); the target's disks are busy (2010 above).
  root.restoringUntil = ctx.now + nominal;
  addOpLog(s, ctx, v, 'restore', {
    endAt: ctx.now + nominal,
    checkpointId: root.checkpointId,
    resource: { id: target.id, name: target.name, type: target.type },
    extra: { restore: { backup_id: b.id, backup_name: b.name, target_resource_id: target.id, target_resource_name: target.name } },
    restore: { backupId: b.id, targets, failure: null },
  });
  return { status: 202 };
}

/** Every disk backup of the server backup onto one disk of the target, sizes and system disk matching. */
function checkMappings(s: CbrService, b: BackupRec, target: CatalogueEntry, mappings: Array<{ backup_id: string; volume_id: string }>): string[] {
  const seenBackups = new Set<string>();
  const seenVolumes = new Set<string>();
  mappings.forEach((m, i) => {
    const child = b.children.find((c) => c.id === m.backup_id);
    if (!child) throw paramError(`restore.mappings[${i}].backup_id`, `${m.backup_id} is not a disk backup of backup ${b.id}`);
    const disk = target.disks.find((d) => d.id === m.volume_id);
    if (!disk) throw paramError(`restore.mappings[${i}].volume_id`, `${m.volume_id} is not a disk of server ${target.id}`);
    if (seenBackups.has(m.backup_id)) throw paramError(`restore.mappings[${i}].backup_id`, `${m.backup_id} is mapped twice`);
    if (seenVolumes.has(m.volume_id)) throw paramError(`restore.mappings[${i}].volume_id`, `${m.volume_id} is the target of two mappings`);
    seenBackups.add(m.backup_id);
    seenVolumes.add(m.volume_id);
    if (disk.bootable && !child.bootable) throw err(400, '2013', `volume_id ${disk.id}.`);
    if (disk.sizeGb < child.resourceSizeGb) throw err(400, '2001', `volume_id ${disk.id}: ${disk.sizeGb} GB < ${child.resourceSizeGb} GB of disk backup ${child.id}.`);
  });
  const unmapped = b.children.find((c) => !seenBackups.has(c.id));
  if (unmapped) throw paramError('restore.mappings', `disk backup ${unmapped.id} (${unmapped.resourceName}) has no target disk`);
  return [...seenVolumes];
}
