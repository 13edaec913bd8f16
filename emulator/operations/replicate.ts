/**
 * ReplicateBackup (CopyBackup): POST /v3/{project_id}/backups/{backup_id}/replicate, 200
 * `{replication: {backup_id, destination_project_id, destination_region, destination_vault_id, project_id,
 * provider_id, replication_record_id, source_region}}` (Huawei Cloud API reference "Replicating a Backup",
 * support.huaweicloud.com/api-cbr/CopyBackup.html; Go SDK model_backup_replicate_resp_body.go). The answer
 * does not name the replica: it appears in the destination vault as a backup with `image_type:
 * replication`, `protecting` for timing.replicationMs, then `available` (or `error`); the source region
 * keeps an op log `operation_type: replication` whose status follows the replica, and the source backup
 * lists the replication in `replication_records`.
 *
 * Checks, in this order (the reference documents only 1011; the other codes are the emulator's reading
 * of the user guide's constraints, "Replicating a Backup Across Regions", cbr_03_0018):
 *   404 6200 unknown backup (a disk backup of a server backup: 400 9900 backup_id);
 *   400 6102 a disk backup ("Cloud disk backups cannot be replicated");
 *   400 6124 the backup is itself a replica ("Replicated backups cannot be replicated again");
 *   400 9900 backup not `available`;
 *   400 1011 destination region not served, equal to the source region, or the destination project not
 *            in that region ("The destination project does not support replication.");
 *   404 6105 destination vault not found in the destination project;
 *   400 6124 destination vault not a replication vault (`protect_type: replication`);
 *   400 9900 the backup already has a replica in, or is being replicated to, that region ("A backup can
 *            have only one replica in each destination region").
 * A replica that does not fit its vault (no auto_expand) ends `error` with 6114.
 */
import { paramError } from '../errors';
import { parseBody, ReplicateBackupBody } from '../schemas';
import { backupState, holdsData, PROVIDER_DISK, PROVIDER_SERVER } from '../store';
import type { BackupRec, ReplicationRec } from '../store';
import { err, requirePathId } from './common';
import type { OpContext, OpResult } from './common';
import { addOpLog } from './oplogs';
import type { CbrService } from './service';

/** The region a project lives in: the region its IAM project name names (`ap-southeast-3`, `ap-southeast-3_sub`). */
export function projectRegion(s: CbrService, projectId: string): string | undefined {
  const name = s.store.projects.get(projectId)?.name;
  if (name === undefined) return undefined;
  for (const r of s.regions.keys()) if (name === r || name.startsWith(`${r}_`)) return r;
  return s.config.region;
}

export function replicateBackup(s: CbrService, ctx: OpContext): OpResult {
  const backupId = requirePathId(ctx.params.backup_id, 'backup_id');
  const b = s.ownBackupOr404(ctx, backupId);
  if (b.parent) throw paramError('backup_id', `${b.id} is a disk backup of server backup ${b.parent.id}; replicate the server backup`);
  const { replicate: input } = parseBody(ReplicateBackupBody, ctx.body, s.strict);
  if (b.resourceType !== 'OS::Nova::Server') throw err(400, '6102', 'Cloud disk backups cannot be replicated to other regions.');
  if (b.replicaOf) throw err(400, '6124', 'A replicated backup cannot be replicated again.');
  const st = backupState(b, ctx.now);
  if (st !== 'available') throw paramError('backup_id', `only available backups can be replicated; backup ${b.id} is ${st}`);

  const dest = s.regions.get(input.destination_region);
  if (!dest || dest === s) throw err(400, '1011', `destination_region ${input.destination_region}: ${dest ? 'is the source region' : 'not a region this service replicates to'}.`);
  if (projectRegion(dest, input.destination_project_id) !== input.destination_region) {
    throw err(400, '1011', `destination_project_id ${input.destination_project_id} is not a project of region ${input.destination_region}.`);
  }
  const v = dest.store.liveVault(input.destination_vault_id, ctx.now);
  if (!v || v.projectId !== input.destination_project_id) throw err(s.config.quirks.vaultNotFoundStatus, '6105', `destination_vault_id: ${input.destination_vault_id}`);
  if (v.billing.protectType !== 'replication') throw err(400, '6124', `destination_vault_id ${v.id} is a ${v.billing.protectType} vault, not a replication vault.`);
  for (const r of b.replications ?? []) {
    if (r.destinationRegion !== input.destination_region) continue;
    const rs = backupState(r.replica, ctx.now);
    if (rs === 'protecting' || holdsData(rs)) {
      throw paramError('backup_id', `backup ${b.id} already has a replica in, or is being replicated to, region ${input.destination_region} (replica ${r.replica.id}, ${rs})`);
    }
  }

  const nominal = Math.max(1, Math.round(s.store.draw(s.config.timing.replicationMs) / (input.enable_acceleration ? 2 : 1)));
  const sizeMb = b.sizeMb + b.children.reduce((n, c) => n + c.sizeMb, 0);
  const fits = v.autoExpand || dest.store.usedMb(v, ctx.now) + dest.store.reservedMb(v, ctx.now) + sizeMb <= v.billing.sizeGb * 1024;
  const checkpointId = dest.store.newId();
  const copy = (src: BackupRec, parent: BackupRec | null): BackupRec => ({
    ...src,
    id: dest.store.newId(),
    projectId: input.destination_project_id,
    checkpointId,
    vaultId: v.id,
    name: input.name ?? src.name,
    description: input.description ?? src.description,
    autoTrigger: false,
    createdAt: ctx.now,
    doneAt: ctx.now + nominal,
    nominalMs: nominal,
    failure: fits ? null : { code: 'BackupService.6114', message: `The used capacity of the vault exceeds the maximum capacity. Vault ${v.id}.` },
    parent,
    children: [],
    members: new Map(),
    replicaOf: { backupId: src.id, region: s.region, projectId: src.projectId },
    replications: [],
  });
  const replica = copy(b, null);
  replica.children = b.children.map((c) => {
    const child = copy(c, replica);
    child.name = c.name;
    return child;
  });
  delete replica.restoringUntil;
  dest.store.addBackup(replica);

  const sourceVault = s.store.vaults.get(b.vaultId)!;
  const recordId = s.store.newId();
  const log = addOpLog(s, ctx, sourceVault, 'replication', {
    endAt: replica.doneAt,
    backup: replica,
    checkpointId: b.checkpointId,
    resource: { id: b.resourceId, name: b.resourceName, type: b.resourceType },
    extra: {
      replication: {
        source_backup_id: b.id,
        source_checkpoint_id: b.checkpointId,
        source_backup_name: b.name,
        destination_backup_id: replica.id,
        destination_checkpoint_id: checkpointId,
        destination_backup_name: replica.name,
        destination_region: input.destination_region,
        destination_project_id: input.destination_project_id,
        destination_vault_id: v.id,
        enable_acceleration: input.enable_acceleration ?? false,
        replication_record_id: recordId,
      },
    },
  });
  const rec: ReplicationRec = {
    id: recordId,
    destinationRegion: input.destination_region,
    destinationProjectId: input.destination_project_id,
    destinationVaultId: v.id,
    replica,
    opLogId: log.id,
    createdAt: ctx.now,
  };
  (b.replications ??= []).push(rec);
  return {
    status: 200,
    body: {
      replication: {
        backup_id: b.id,
        destination_project_id: input.destination_project_id,
        destination_region: input.destination_region,
        destination_vault_id: v.id,
        project_id: ctx.projectId,
        provider_id: b.resourceType === 'OS::Nova::Server' ? PROVIDER_SERVER : PROVIDER_DISK,
        replication_record_id: recordId,
        source_region: s.region,
      },
    },
  };
}
