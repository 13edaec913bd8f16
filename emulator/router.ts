/**
 * Path -> operation name (the SDK operation names, used for fault rules and request counts).
 * A hand-written segment switch rather than a router library: it is the hot path of every request and
 * the route table is small and fixed.
 */
import { HEX32_RE } from './schemas';

export interface Route {
  operation: string;
  /** Path project id for CBR routes. */
  projectId?: string;
  params: Record<string, string>;
}

export const OPERATIONS = [
  'CreateVault',
  'ShowVault',
  'ListVault',
  'UpdateVault',
  'DeleteVault',
  'AddVaultResource',
  'RemoveVaultResource',
  'CreateCheckpoint',
  'ShowCheckpoint',
  'ListBackups',
  'ShowBackup',
  'DeleteBackup',
  'RestoreBackup',
  'ReplicateBackup',
  'AddMember',
  'ShowMembersDetail',
  'ShowMemberDetail',
  'UpdateMemberStatus',
  'DeleteMember',
  'ListOpLogs',
  'ShowOpLog',
  'ListProtectable',
  'ShowProtectable',
  'KeystoneCreateUserTokenByPassword',
  'KeystoneListProjects',
] as const;
export type Operation = (typeof OPERATIONS)[number];

function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function matchRoute(method: string, rawPath: string): Route | undefined {
  const segs = rawPath.split('/');
  if (segs[0] !== '' || segs[1] !== 'v3') return undefined;
  if (segs.length > 2 && segs[segs.length - 1] === '') segs.pop(); // tolerate one trailing slash
  const s = segs.slice(2).map(decodeSegment);
  const n = s.length;
  if (n === 2 && s[0] === 'auth' && s[1] === 'tokens') return method === 'POST' ? { operation: 'KeystoneCreateUserTokenByPassword', params: {} } : undefined;
  if (n === 1 && s[0] === 'projects') return method === 'GET' ? { operation: 'KeystoneListProjects', params: {} } : undefined;
  const projectId = s[0];
  if (projectId === undefined || !HEX32_RE.test(projectId) || n < 2) return undefined;
  const r = (operation: Operation, params: Record<string, string> = {}): Route => ({ operation, projectId, params });
  const [, a, b, c, d] = s;
  switch (a) {
    case 'vaults':
      if (n === 2) return method === 'POST' ? r('CreateVault') : method === 'GET' ? r('ListVault') : undefined;
      if (n === 3) {
        const p = { vault_id: b! };
        return method === 'GET' ? r('ShowVault', p) : method === 'PUT' ? r('UpdateVault', p) : method === 'DELETE' ? r('DeleteVault', p) : undefined;
      }
      if (n === 4 && method === 'POST') {
        if (c === 'addresources') return r('AddVaultResource', { vault_id: b! });
        if (c === 'removeresources') return r('RemoveVaultResource', { vault_id: b! });
      }
      return undefined;
    case 'checkpoints':
      if (n === 2) return method === 'POST' ? r('CreateCheckpoint') : undefined;
      if (n === 3) return method === 'GET' ? r('ShowCheckpoint', { checkpoint_id: b! }) : undefined;
      return undefined;
    case 'backups':
      if (n === 2) return method === 'GET' ? r('ListBackups') : undefined;
      if (n === 3) {
        const p = { backup_id: b! };
        return method === 'GET' ? r('ShowBackup', p) : method === 'DELETE' ? r('DeleteBackup', p) : undefined;
      }
      if (n === 4 && c === 'restore') return method === 'POST' ? r('RestoreBackup', { backup_id: b! }) : undefined;
      if (n === 4 && c === 'replicate') return method === 'POST' ? r('ReplicateBackup', { backup_id: b! }) : undefined;
      if (c !== 'members') return undefined;
      if (n === 4) return method === 'POST' ? r('AddMember', { backup_id: b! }) : method === 'GET' ? r('ShowMembersDetail', { backup_id: b! }) : undefined;
      if (n === 5) {
        const p = { backup_id: b!, member_id: d! };
        return method === 'GET' ? r('ShowMemberDetail', p) : method === 'PUT' ? r('UpdateMemberStatus', p) : method === 'DELETE' ? r('DeleteMember', p) : undefined;
      }
      return undefined;
    case 'operation-logs':
      if (method !== 'GET') return undefined;
      if (n === 2) return r('ListOpLogs');
      if (n === 3) return r('ShowOpLog', { operation_log_id: b! });
      return undefined;
    case 'protectables':
      if (method !== 'GET' || c !== 'instances') return undefined;
      if (n === 4) return r('ListProtectable', { protectable_type: b! });
      if (n === 5) return r('ShowProtectable', { protectable_type: b!, instance_id: d! });
      return undefined;
    default:
      return undefined;
  }
}
