/**
 * The emulator's state on disk (the local stack keeps it in its data folder, next to the run store), so a
 * restarted emulator still knows every vault, checkpoint, backup, member, op log and token, and never hands
 * out an id again: the position of the seeded id stream (and of the timing stream) is saved with them.
 *
 * The file is JSON with references by id (a backup's vault, a vault's backups, an op log's backup), written
 * whole to `<file>.tmp` and renamed over `<file>` (a reader or a kill never sees half a file). The emulator
 * writes it after every request that can change something, before the response leaves (see index.ts), so
 * a client never saw an answer whose effect a kill can lose.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { BackupRec, CatalogueEntry, CheckpointRec, MemberRec, OpLogRec, Store, TokenRec, VaultRec, VaultResourceRec } from './store';

const FORMAT = 'cbr-emulator-state/1';
/** JSON has no Infinity ("never done", "unpaid"); it is written as this string. */
const INFINITY = '__Infinity__';

type SavedBackup = Omit<BackupRec, 'parent' | 'children' | 'members'> & { children: SavedBackup[]; members: MemberRec[] };
type SavedVault = Omit<VaultRec, 'resources' | 'backups'> & {
  resources: Array<Omit<VaultResourceRec, 'lastBackup'> & { lastBackupId?: string }>;
  backupIds: string[];
};

interface SavedState {
  format: typeof FORMAT;
  seed: number;
  idsPosition: number;
  timingPosition: number;
  deletedResources: string[];
  deletedCatalogue: CatalogueEntry[];
  vaults: SavedVault[];
  /** Top-level backups of every project, in creation order, with their disk backups. */
  backups: SavedBackup[];
  checkpoints: Array<Omit<CheckpointRec, 'backups'> & { backupIds: string[] }>;
  opLogs: Array<Omit<OpLogRec, 'backup'> & { backupId?: string }>;
  bindings: Array<[string, string]>;
  sharedWith: Array<[string, string[]]>;
  tokens: Array<[string, TokenRec]>;
}

export class EmulatorStateError extends Error {
  override readonly name = 'EmulatorStateError';
}

function saveBackup(b: BackupRec): SavedBackup {
  const { parent: _parent, children, members, ...rest } = b;
  return { ...rest, children: children.map(saveBackup), members: [...members.values()] };
}

export function serializeStore(store: Store): string {
  const topLevel = [...store.backupsByProject.values()].flatMap((m) => [...m.values()]);
  const state: SavedState = {
    format: FORMAT,
    seed: store.config.seed,
    idsPosition: store.ids.position(),
    timingPosition: store.timingRng.position(),
    deletedResources: [...store.deletedResources],
    deletedCatalogue: [...store.deletedCatalogue.values()],
    vaults: [...store.vaults.values()].map(({ resources, backups, ...v }) => ({
      ...v,
      resources: [...resources.values()].map(({ lastBackup, ...r }) => ({ ...r, ...(lastBackup ? { lastBackupId: lastBackup.id } : {}) })),
      backupIds: [...backups.keys()],
    })),
    backups: topLevel.map(saveBackup),
    checkpoints: [...store.checkpoints.values()].map(({ backups, ...c }) => ({ ...c, backupIds: backups.map((b) => b.id) })),
    opLogs: [...store.opLogs.values()].map(({ backup, ...o }) => ({ ...o, ...(backup ? { backupId: backup.id } : {}) })),
    bindings: [...store.bindings].map(([resourceId, v]) => [resourceId, v.id]),
    sharedWith: [...store.sharedWith].map(([dest, m]) => [dest, [...m.keys()]]),
    tokens: [...store.tokens],
  };
  return JSON.stringify(state, (_key, value: unknown) => (value === Infinity ? INFINITY : value));
}

/** Loads a saved state into a freshly built store (projects and catalogue from the same options). */
export function restoreStore(store: Store, text: string, file: string): void {
  let state: SavedState;
  try {
    state = JSON.parse(text, (_key, value: unknown) => (value === INFINITY ? Infinity : value)) as SavedState;
  } catch (err) {
    throw new EmulatorStateError(`${file} is not valid JSON (${(err as Error).message}); move it away or start with --reset`, { cause: err });
  }
  if (state?.format !== FORMAT) throw new EmulatorStateError(`${file} is not an emulator state (format "${String(state?.format)}", expected "${FORMAT}"); move it away or start with --reset`);
  if (state.seed !== store.config.seed) {
    throw new EmulatorStateError(`${file} was written by an emulator with seed ${state.seed}, this one has seed ${store.config.seed}; use the same seed or start with --reset`);
  }
  store.reset();
  store.ids.restore(state.idsPosition);
  store.timingRng.restore(state.timingPosition);
  for (const id of state.deletedResources) {
    store.deletedResources.add(id);
    store.catalogue.delete(id);
  }
  for (const entry of state.deletedCatalogue) store.deletedCatalogue.set(entry.id, entry);

  const backups = new Map<string, BackupRec>();
  const loadBackup = (saved: SavedBackup, parent: BackupRec | null): BackupRec => {
    const { children, members, ...rest } = saved;
    const b: BackupRec = { ...rest, parent, children: [], members: new Map(members.map((m) => [m.destProjectId, m])) };
    b.children = children.map((c) => loadBackup(c, b));
    backups.set(b.id, b);
    return b;
  };
  const topLevel = state.backups.map((b) => loadBackup(b, null));

  const vaults = new Map<string, VaultRec>();
  for (const { resources, backupIds, ...v } of state.vaults) {
    const vault: VaultRec = {
      ...v,
      resources: new Map(resources.map(({ lastBackupId, ...r }) => {
        const lastBackup = lastBackupId ? backups.get(lastBackupId) : undefined;
        return [r.id, { ...r, ...(lastBackup ? { lastBackup } : {}) }];
      })),
      backups: new Map(),
    };
    vaults.set(vault.id, vault);
    store.addVault(vault);
    for (const id of backupIds) {
      const b = backups.get(id);
      if (b) vault.backups.set(id, b);
    }
  }
  for (const b of topLevel) store.addBackup(b);
  for (const { backupIds, ...c } of state.checkpoints) {
    store.checkpoints.set(c.id, { ...c, backups: backupIds.flatMap((id) => backups.get(id) ?? []) });
  }
  for (const { backupId, ...o } of state.opLogs) {
    const backup = backupId ? backups.get(backupId) : undefined;
    store.addOpLog({ ...o, ...(backup ? { backup } : {}) });
  }
  for (const [resourceId, vaultId] of state.bindings) {
    const v = vaults.get(vaultId);
    if (v) store.bindings.set(resourceId, v);
  }
  for (const [dest, ids] of state.sharedWith) for (const id of ids) {
    const b = backups.get(id);
    if (b) store.share(b, dest);
  }
  for (const [token, rec] of state.tokens) store.tokens.set(token, rec);
}

/** Writes the state whole under a temporary name, then renames it over `file` (atomic on one file system). */
export function writeStateFile(file: string, text: string, sync = false): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function readStateFile(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
