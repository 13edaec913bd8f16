/**
 * The emulated CBR v3 operations, one file per section of the API (cbr-api.md §2-§6, §12), and the table
 * the listener dispatches on: operation name (router.ts) -> handler.
 */
import { addMember, deleteMember, showMemberDetail, showMembersDetail, updateMemberStatus } from './members';
import { deleteBackup, listBackups, showBackup } from './backups';
import { createCheckpoint, showCheckpoint } from './checkpoints';
import { restoreBackup } from './restore';
import { replicateBackup } from './replicate';
import type { OpContext, OpResult } from './common';
import { listOpLogs, showOpLog } from './oplogs';
import { listProtectable, showProtectable } from './protectables';
import { addVaultResource, removeVaultResource } from './resources';
import type { CbrService } from './service';
import { createVault, deleteVault, listVault, showVault, updateVault } from './vaults';

export { CbrService } from './service';
export type { OpContext, OpResult } from './common';

export type Handler = (svc: CbrService, ctx: OpContext) => OpResult;

export const HANDLERS: Record<string, Handler> = {
  CreateVault: createVault,
  ShowVault: showVault,
  ListVault: listVault,
  UpdateVault: updateVault,
  DeleteVault: deleteVault,
  AddVaultResource: addVaultResource,
  RemoveVaultResource: removeVaultResource,
  CreateCheckpoint: createCheckpoint,
  ShowCheckpoint: showCheckpoint,
  ListBackups: listBackups,
  ShowBackup: showBackup,
  DeleteBackup: deleteBackup,
  RestoreBackup: restoreBackup,
  ReplicateBackup: replicateBackup,
  AddMember: addMember,
  ShowMembersDetail: showMembersDetail,
  ShowMemberDetail: showMemberDetail,
  UpdateMemberStatus: updateMemberStatus,
  DeleteMember: deleteMember,
  ListOpLogs: listOpLogs,
  ShowOpLog: showOpLog,
  ListProtectable: listProtectable,
  ShowProtectable: showProtectable,
};
