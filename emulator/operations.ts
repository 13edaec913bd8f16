/**
 * The emulated CBR v3 operations: request checks in the order the service applies them, state changes,
 * and the wire shapes of the answers (cbr-api.md §2-§6, §12). Statuses are derived from the clock on each
 * read (see store.ts).
 */
import { cbrError, EmulatorHttpError, paramError } from './errors';
import type { FaultEngine } from './faults';
import { MSG } from './messages';
import type { CbrCode } from './messages';
import type { EmulatorConfig } from './options';
import {
  AddMemberBody,
  AddResourcesBody,
  CreateCheckpointBody,
  CreateVaultBody,
  HEX32_RE,
  parseBody,
  RemoveResourcesBody,
  UpdateMemberBody,
  UpdateVaultBody,
  UUID_RE,
} from './schemas';
import type { ResourceCreate } from './schemas';
import {
  backupState,
  checkpointState,
  PROVIDER_DISK,
  PROVIDER_SERVER,
  PROVIDER_TURBO,
  PROVIDER_WORKSPACE,
  vaultState,
} from './store';
import type { BackupRec, CatalogueEntry, CheckpointRec, MemberRec, OpLogRec, SkippedResource, Store, VaultRec, VaultResourceRec } from './store';

export interface OpContext {
  projectId: string;
  now: number;
  requestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  userId: string;
}

export interface OpResult {
  status: number;
  body?: unknown;
}

type Json = Record<string, unknown>;

const OBJECT_TYPE_RESOURCE: Record<string, string | undefined> = {
  server: 'OS::Nova::Server',
  disk: 'OS::Cinder::Volume',
  turbo: 'OS::Sfs::Turbo',
  workspace: 'OS::Workspace::DesktopV2',
};
const PROVIDER_BY_OBJECT: Record<string, string> = {
  server: PROVIDER_SERVER,
  disk: PROVIDER_DISK,
  turbo: PROVIDER_TURBO,
  workspace: PROVIDER_WORKSPACE,
};
const SPEC_BY_OBJECT: Record<string, string> = {
  server: 'vault.backup.server.normal',
  disk: 'vault.backup.volume.normal',
  turbo: 'vault.backup.turbo.normal',
  rds: 'vault.backup.database.normal',
};
const BACKUP_STATUSES = ['available', 'protecting', 'deleting', 'restoring', 'error', 'waiting_protect', 'waiting_delete', 'waiting_restore'];
const SORT_KEYS = ['created_at', 'updated_at', 'name', 'status', 'protected_at', 'id'] as const;
type SortKey = (typeof SORT_KEYS)[number];
const OPLOG_TYPES = ['backup', 'copy', 'replication', 'delete', 'restore', 'vault_delete', 'remove_resource', 'sync'];
const OPLOG_STATUSES = ['success', 'skipped', 'failed', 'running', 'timeout', 'waiting'];
const QUERY_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function err(status: number, code: CbrCode, detail?: string): EmulatorHttpError {
  return cbrError(status, code, detail ? `${MSG[code]} ${detail}` : MSG[code]);
}

// ---- query helpers (violations are 400 9900 naming the parameter) -------------------------------

function intParam(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!/^-?\d+$/.test(raw)) throw paramError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw paramError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function enumParam(q: URLSearchParams, name: string, allowed: readonly string[]): string | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!allowed.includes(raw)) throw paramError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw;
}

function enumListParam(q: URLSearchParams, name: string, allowed: readonly string[]): string[] {
  const values = q.getAll(name);
  for (const v of values) if (!allowed.includes(v)) throw paramError(name, `must be one of ${allowed.join(', ')}, got "${v}"`);
  return values;
}

function boolParam(q: URLSearchParams, name: string): boolean | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (raw !== 'true' && raw !== 'false') throw paramError(name, `must be true or false, got "${raw}"`);
  return raw === 'true';
}

function timeParam(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!QUERY_TIME_RE.test(raw) || Number.isNaN(Date.parse(raw))) throw paramError(name, `must be formatted YYYY-MM-DDTHH:MM:SSZ, got "${raw}"`);
  return Date.parse(raw);
}

function parseSort(raw: string | null): Array<{ key: SortKey; desc: boolean }> {
  if (raw === null || raw === '') return [{ key: 'created_at', desc: true }];
  if (raw.length > 255) throw paramError('sort', 'must be at most 255 characters');
  return raw.split(',').map((part) => {
    const [key, dir, extra] = part.split(':');
    if (!SORT_KEYS.includes(key as SortKey)) throw paramError('sort', `unknown sort key "${key}" (allowed: ${SORT_KEYS.join(', ')})`);
    if (extra !== undefined || (dir !== undefined && dir !== 'asc' && dir !== 'desc')) throw paramError('sort', `direction must be asc or desc in "${part}"`);
    return { key: key as SortKey, desc: dir !== 'asc' };
  });
}

function page<T>(items: T[], q: URLSearchParams, maxLimit = 1000): { page: T[]; limit?: number; offset?: number } {
  const limit = intParam(q, 'limit', 1, maxLimit);
  const offset = intParam(q, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  return { page: items.slice(offset, offset + (limit ?? maxLimit)), ...(limit === undefined ? {} : { limit }), offset };
}

export function requirePathId(value: string | undefined, name: string, re: RegExp = UUID_RE): string {
  if (value === undefined || !re.test(value)) throw paramError(name, `must be a ${re === HEX32_RE ? '32-hex id' : 'UUID'}, got "${value ?? ''}"`);
  return value;
}

export class CbrService {
  private readonly fmt: (ms: number) => string;

  constructor(
    private readonly store: Store,
    private readonly config: EmulatorConfig,
    private readonly faults: Pick<FaultEngine, 'takeScript'>,
  ) {
    const f = config.quirks.timestampFormat;
    // Timestamps repeat a lot (every backup of a checkpoint shares created_at): a small cache keeps list
    // rendering cheap. Bounded: cleared when it grows past 4096 entries.
    const cache = new Map<number, string>();
    this.fmt = (ms) => {
      let out = cache.get(ms);
      if (out !== undefined) return out;
      const iso = new Date(ms).toISOString();
      out = f === 'zulu' ? `${iso.slice(0, 19)}Z` : f === 'offset' ? `${iso.slice(0, 23)}+00:00` : `${iso.slice(0, 23)}000`;
      if (cache.size >= 4096) cache.clear();
      cache.set(ms, out);
      return out;
    };
  }

  time(ms: number | null | undefined): string | null {
    return ms === null || ms === undefined || !Number.isFinite(ms) ? null : this.fmt(ms);
  }

  private get strict(): boolean {
    return this.config.quirks.rejectUnknownFields;
  }

  // ---- lookups ---------------------------------------------------------------------------------

  /**
   * A missing checkpoint (or the member list of a missing backup): the documented 404, or with the
   * `missingCheckpoint: '401-malformed'` quirk the 401 "Malformed request url" the real service was seen
   * to answer (cbr-api.md §7.1).
   */
  private checkpointNotFound(code: '6217' | '6200'): EmulatorHttpError {
    return this.config.quirks.missingCheckpoint === '401-malformed'
      ? new EmulatorHttpError(401, 'Unauthorized', 'Malformed request url', 'malformed-url')
      : err(404, code);
  }

  private vaultOr404(ctx: OpContext, id: string): VaultRec {
    const v = this.store.liveVault(id, ctx.now);
    if (!v || v.projectId !== ctx.projectId) throw err(this.config.quirks.vaultNotFoundStatus, '6105');
    return v;
  }

  /** A backup the caller's project owns (children included). */
  private ownBackupOr404(ctx: OpContext, id: string): BackupRec {
    const b = this.store.liveBackup(id, ctx.now);
    if (!b || b.projectId !== ctx.projectId) throw err(404, '6200');
    return b;
  }

  /** A backup the caller owns, or one shared with it (member record not rejected). */
  private visibleBackup(ctx: OpContext, id: string): { backup: BackupRec; member?: MemberRec } | undefined {
    const b = this.store.liveBackup(id, ctx.now);
    if (!b) return undefined;
    if (b.projectId === ctx.projectId) return { backup: b };
    const m = b.members.get(ctx.projectId);
    if (m && m.status !== 'rejected') return { backup: b, member: m };
    return undefined;
  }

  // ---- resources checks shared by CreateVault and AddVaultResource -------------------------------

  private checkNewResources(ctx: OpContext, vault: VaultRec | null, objectType: string, list: ResourceCreate[]): ResourceCreate[] {
    const seen = new Set<string>();
    for (const r of list) {
      if (seen.has(r.id)) throw err(400, '6104', `resource_id: ${r.id}`);
      seen.add(r.id);
    }
    const toBind: ResourceCreate[] = [];
    for (const r of list) {
      const entry = this.store.catalogue.get(r.id);
      if (!entry || entry.projectId !== ctx.projectId || entry.type !== r.type) throw err(404, '6302', `resource_id: ${r.id}`);
      if (OBJECT_TYPE_RESOURCE[objectType] !== r.type) throw err(400, '6102', `resource type ${r.type} cannot be added to a ${objectType} vault.`);
      const bound = this.store.boundVault(r.id, ctx.now);
      if (bound && bound !== vault) throw err(400, '6103', `resource_id: ${r.id}`);
      if (bound && bound === vault) {
        if (this.config.quirks.rebindSameVault === 'error') throw err(400, r.type === 'OS::Nova::Server' ? '7116' : '7006', `resource_id: ${r.id}`);
        continue;
      }
      toBind.push(r);
    }
    const current = vault ? vault.resources.size : 0;
    if (current + toBind.length > this.config.limits.maxVaultResources) {
      throw err(400, '6100', `A vault holds at most ${this.config.limits.maxVaultResources} resources.`);
    }
    return toBind;
  }

  private bind(vault: VaultRec, resources: ResourceCreate[], now: number): void {
    for (const r of resources) {
      const entry = this.store.catalogue.get(r.id)!;
      const rec: VaultResourceRec = {
        id: r.id,
        type: r.type,
        name: r.name ?? entry.name,
        extraInfo: r.extra_info ?? {},
        addedAt: now,
      };
      vault.resources.set(r.id, rec);
      this.store.bindings.set(r.id, vault);
    }
  }

  // ---- vaults ------------------------------------------------------------------------------------

  createVault(ctx: OpContext): OpResult {
    const { vault: input } = parseBody(CreateVaultBody, ctx.body, this.strict);
    if (this.config.quirks.uniqueVaultNames) {
      for (const v of this.store.vaultsOf(ctx.projectId, ctx.now)) if (v.name === input.name) throw err(400, '6106', `name: ${input.name}`);
    }
    const toBind = this.checkNewResources(ctx, null, input.billing.object_type, input.resources);
    const prePaid = input.billing.charging_mode === 'pre_paid';
    const vault: VaultRec = {
      id: this.store.newId(),
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
        orderId: prePaid ? `CS${this.store.ids.hex(16).toUpperCase()}` : null,
        productId: prePaid ? this.store.ids.hex(32) : null,
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
    this.store.addVault(vault);
    this.bind(vault, toBind, ctx.now);
    return { status: 200, body: { vault: this.renderVault(vault, ctx.now) } };
  }

  showVault(ctx: OpContext): OpResult {
    const v = this.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
    return { status: 200, body: { vault: this.renderVault(v, ctx.now) } };
  }

  listVault(ctx: OpContext): OpResult {
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
    const fuzzy = this.config.quirks.listVaultNameMatch === 'fuzzy';
    const matches: VaultRec[] = [];
    for (const v of this.store.vaultsOf(ctx.projectId, ctx.now)) {
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
    const { page: items } = page(matches, q);
    return { status: 200, body: { vaults: items.map((v) => this.renderVault(v, ctx.now)), count: matches.length } };
  }

  updateVault(ctx: OpContext): OpResult {
    const v = this.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
    const { vault: input } = parseBody(UpdateVaultBody, ctx.body, this.strict);
    if (vaultState(v, ctx.now) === 'deleting') throw err(400, '6112');
    if (input.locked === false && v.locked) throw cbrError(400, '6110', 'vault not support to modify locked attribute from true to false.');
    if (input.auto_expand === true && v.billing.chargingMode === 'pre_paid') throw err(400, '6110', 'auto_expand is only supported by pay-per-use vaults.');
    if (input.billing?.size !== undefined) {
      const used = this.store.usedMb(v, ctx.now);
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
    return { status: 200, body: { vault: this.renderVault(v, ctx.now) } };
  }

  deleteVault(ctx: OpContext): OpResult {
    const v = this.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
    if (v.billing.chargingMode === 'pre_paid') throw err(400, '6111', 'Yearly/monthly vaults must be unsubscribed.');
    if (vaultState(v, ctx.now) === 'deleting') throw err(400, '6112');
    for (const b of this.store.backupsIn(v.backups, ctx.now)) if (backupState(b, ctx.now) === 'protecting') throw err(400, '6203');
    const doneAt = ctx.now + this.store.draw(this.config.timing.vaultDeleteMs);
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
    this.addOpLog(ctx, v, 'vault_delete', {
      endAt: doneAt,
      resource: null,
      extra: { vault_delete: { fail_count: 0, total_count: total } },
    });
    return { status: 204 };
  }

  addVaultResource(ctx: OpContext): OpResult {
    const v = this.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
    const { resources } = parseBody(AddResourcesBody, ctx.body, this.strict);
    if (vaultState(v, ctx.now) !== 'available') throw err(400, '6108', `Vault status: ${vaultState(v, ctx.now)}.`);
    const toBind = this.checkNewResources(ctx, v, v.billing.objectType, resources);
    this.bind(v, toBind, ctx.now);
    v.updatedAt = ctx.now;
    return { status: 200, body: { add_resource_ids: resources.map((r) => r.id) } };
  }

  removeVaultResource(ctx: OpContext): OpResult {
    const v = this.vaultOr404(ctx, requirePathId(ctx.params.vault_id, 'vault_id'));
    const { resource_ids: ids } = parseBody(RemoveResourcesBody, ctx.body, this.strict);
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
      if (this.store.bindings.get(id) === v) this.store.bindings.delete(id);
      // Removing a resource also deletes its backups in this vault (asynchronously).
      const doneAt = ctx.now + this.store.draw(this.config.timing.removeResourceMs);
      for (const b of v.backups.values()) {
        if (b.resourceId !== id || b.deleteAt !== undefined) continue;
        b.deleteAt = ctx.now;
        b.deleteDoneAt = doneAt;
        for (const c of b.children) {
          c.deleteAt = ctx.now;
          c.deleteDoneAt = doneAt;
        }
      }
      this.addOpLog(ctx, v, 'remove_resource', {
        endAt: doneAt,
        resource: { id, name: r.name, type: r.type },
        extra: { remove_resources: { fail_count: 0, total_count: 1, resources: [{ id, name: r.name, type: r.type }] } },
      });
    }
    v.updatedAt = ctx.now;
    return { status: 200, body: { remove_resource_ids: unique } };
  }

  // ---- checkpoints -------------------------------------------------------------------------------

  createCheckpoint(ctx: OpContext): OpResult {
    const { checkpoint: input } = parseBody(CreateCheckpointBody, ctx.body, this.strict);
    const v = this.vaultOr404(ctx, input.vault_id);
    const vs = vaultState(v, ctx.now);
    if (vs !== 'available') throw err(400, '6113', `Vault status: ${vs}.`);
    if (v.billing.protectType === 'replication') throw err(400, '6124');
    const p = input.parameters ?? {};
    const requested = [...new Set([...(p.resources ?? []), ...(p.resource_details ?? []).map((r) => r.id)])];
    let targets: VaultResourceRec[];
    if (requested.length === 0) {
      targets = [...v.resources.values()];
      if (targets.length === 0) throw err(400, '0001');
    } else {
      targets = requested.map((id) => {
        const inVault = v.resources.get(id);
        if (inVault) return inVault;
        const entry = this.store.catalogue.get(id);
        if (!entry || entry.projectId !== ctx.projectId) throw err(404, '6302', `resource_id: ${id}`);
        throw err(400, '6135', `resource_id: ${id}`);
      });
    }
    if (!v.autoExpand && this.store.usedMb(v, ctx.now) >= v.billing.sizeGb * 1024) throw err(400, '6114');

    const quirk = this.config.quirks.concurrentBackup;
    const busy = (r: VaultResourceRec) => r.lastBackup !== undefined && backupState(r.lastBackup, ctx.now) === 'protecting';
    if (quirk === '1001') {
      for (const r of v.resources.values()) if (busy(r)) throw err(400, '1001');
    }
    const skipped: SkippedResource[] = [];
    const runnable: VaultResourceRec[] = [];
    for (const r of targets) {
      if (!busy(r)) runnable.push(r);
      else if (quirk === '6125') throw err(400, '6125', `resource_id: ${r.id}`);
      else skipped.push({ id: r.id, type: r.type, name: this.store.catalogue.get(r.id)?.name ?? r.name, code: 'BackupService.6125', reason: 'the resource is being backed up' });
    }
    if (runnable.length === 0) throw err(400, '6125', 'Every requested resource is being backed up.');

    const script = this.faults.takeScript(p.name, v.id);
    const checkpoint: CheckpointRec = {
      id: this.store.newId(),
      projectId: ctx.projectId,
      vaultId: v.id,
      vaultName: v.name,
      createdAt: ctx.now,
      name: p.name ?? `manualbk_${this.store.ids.hex(4)}`,
      description: p.description ?? '',
      incremental: p.incremental ?? true,
      autoTrigger: p.auto_trigger ?? false,
      backups: [],
      skipped,
    };
    for (const r of runnable) {
      const entry = this.store.catalogue.get(r.id)!;
      const affected = script !== undefined && (script.resourceIds === undefined || script.resourceIds.includes(r.id));
      const outcome = affected ? script.outcome : 'available';
      const nominal = script?.durationMs ?? this.store.draw(this.config.timing.checkpointMs);
      const hasFull = this.hasAvailableBackup(v, r.id, ctx.now);
      const incremental = checkpoint.incremental && hasFull;
      const failure =
        outcome === 'error' ? { code: script?.code ?? 'BackupService.9910', message: script?.reason ?? 'The backup failed.' } : null;
      const backup = this.newBackup(ctx, v, checkpoint, entry, r, { nominal, never: outcome === 'never', failure, incremental });
      r.lastBackup = backup;
      checkpoint.backups.push(backup);
      this.store.addBackup(backup);
      this.addOpLog(ctx, v, 'backup', {
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
    this.store.checkpoints.set(checkpoint.id, checkpoint);
    return { status: 200, body: { checkpoint: this.renderCheckpoint(checkpoint, v, ctx.now) } };
  }

  private hasAvailableBackup(v: VaultRec, resourceId: string, now: number): boolean {
    for (const b of v.backups.values()) if (b.resourceId === resourceId && backupState(b, now) === 'available') return true;
    return false;
  }

  private newBackup(
    ctx: OpContext,
    v: VaultRec,
    c: CheckpointRec,
    entry: CatalogueEntry,
    r: VaultResourceRec,
    o: { nominal: number; never: boolean; failure: BackupRec['failure']; incremental: boolean },
  ): BackupRec {
    const ratio = o.incremental ? this.config.capacity.incrementalRatio : this.config.capacity.fullBackupRatio;
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
      id: this.store.newId(),
      resourceId: entry.id,
      // The backup carries the resource's own name, not the label given when it was added (seed example).
      resourceName: entry.name,
      resourceType: entry.type,
      resourceSizeGb: entry.sizeGb,
      bootable: entry.disks.some((d) => d.bootable),
      sizeMb: Math.round(entry.sizeGb * 1024 * ratio),
      parent: null,
      children: [],
    };
    if (entry.type === 'OS::Nova::Server') {
      parent.children = entry.disks.map((d) => ({
        ...base,
        members: new Map<string, MemberRec>(),
        id: this.store.newId(),
        resourceId: d.id,
        resourceName: d.name,
        resourceType: 'OS::Cinder::Volume' as const,
        resourceSizeGb: d.sizeGb,
        bootable: d.bootable,
        sizeMb: Math.round(d.sizeGb * 1024 * ratio),
        parent,
        children: [],
      }));
    }
    return parent;
  }

  showCheckpoint(ctx: OpContext): OpResult {
    const id = requirePathId(ctx.params.checkpoint_id, 'checkpoint_id');
    const c = this.store.liveCheckpoint(id, ctx.now);
    if (!c || c.projectId !== ctx.projectId) {
      throw this.checkpointNotFound('6217');
    }
    return { status: 200, body: { checkpoint: this.renderCheckpoint(c, this.store.vaults.get(c.vaultId), ctx.now) } };
  }

  // ---- backups -----------------------------------------------------------------------------------

  listBackups(ctx: OpContext): OpResult {
    const q = ctx.query;
    const ownType = enumParam(q, 'own_type', ['private', 'shared', 'all_granted']) ?? 'private';
    const statuses = enumListParam(q, 'status', BACKUP_STATUSES);
    const resourceType = enumParam(q, 'resource_type', ['OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Workspace::DesktopV2']);
    const imageType = enumParam(q, 'image_type', ['backup', 'replication']);
    const memberStatus = enumParam(q, 'member_status', ['pending', 'accepted', 'rejected']);
    const start = timeParam(q, 'start_time');
    const end = timeParam(q, 'end_time');
    const usedPercent = intParam(q, 'used_percent', 1, 100);
    const incrementalFilter = boolParam(q, 'incremental');
    boolParam(q, 'show_replication');
    boolParam(q, 'dec');
    const sort = parseSort(q.get('sort'));
    const checkpointId = q.get('checkpoint_id');
    const vaultId = q.get('vault_id');
    const resourceId = q.get('resource_id');
    const resourceName = q.get('resource_name');
    const resourceAz = q.get('resource_az');
    const name = q.get('name');
    const parentId = q.get('parent_id');
    const eps = q.get('enterprise_project_id');
    const marker = q.get('marker');

    type Row = { b: BackupRec; member?: MemberRec; seq: number };
    const rows: Row[] = [];
    let seq = 0;
    const consider = (b: BackupRec, member?: MemberRec) => {
      const st = backupState(b.parent ?? b, ctx.now);
      if (st === 'gone') return;
      const shownVault = member ? member.vaultId : b.vaultId;
      if (checkpointId !== null && b.checkpointId !== checkpointId) return;
      if (vaultId !== null && shownVault !== vaultId) return;
      if (resourceId !== null && b.resourceId !== resourceId) return;
      if (resourceName !== null && !b.resourceName.includes(resourceName)) return;
      if (resourceType && b.resourceType !== resourceType) return;
      if (resourceAz !== null && b.az !== resourceAz) return;
      if (name !== null && !b.name.includes(name)) return;
      if (statuses.length > 0 && !statuses.includes(st)) return;
      if (imageType && imageType !== 'backup') return;
      if (start !== undefined && b.createdAt < start) return;
      if (end !== undefined && b.createdAt > end) return;
      if (incrementalFilter !== undefined && b.incremental !== incrementalFilter) return;
      if (eps !== null && eps !== 'all_granted_eps' && eps !== '0') return;
      if (memberStatus && !member && ![...b.members.values()].some((m) => m.status === memberStatus)) return;
      if (usedPercent !== undefined) {
        const v = this.store.vaults.get(b.vaultId);
        if (!v || (this.store.usedMb(v, ctx.now) * 100) / (v.billing.sizeGb * 1024) < usedPercent) return;
      }
      rows.push(member ? { b, member, seq: seq++ } : { b, seq: seq++ });
    };

    if (parentId !== null) {
      const parent = this.visibleBackup(ctx, parentId);
      if (parent) for (const c of parent.backup.children) consider(c, parent.member);
    } else {
      if (ownType === 'private' || ownType === 'all_granted') {
        const index =
          vaultId !== null
            ? this.store.vaults.get(vaultId)?.projectId === ctx.projectId
              ? this.store.vaults.get(vaultId)!.backups
              : undefined
            : checkpointId !== null
              ? this.checkpointIndex(ctx, checkpointId)
              : this.store.backupsByProject.get(ctx.projectId);
        for (const b of this.store.backupsIn(index, ctx.now)) consider(b);
      }
      if (ownType === 'shared' || ownType === 'all_granted') {
        for (const b of this.store.backupsIn(this.store.sharedWith.get(ctx.projectId), ctx.now)) {
          const m = b.members.get(ctx.projectId);
          if (!m) continue;
          if (memberStatus ? m.status !== memberStatus : m.status === 'rejected') continue;
          consider(b, m);
        }
      }
    }

    this.sortRows(rows, sort, ctx.now);
    let ordered = rows;
    if (marker !== null) {
      const at = rows.findIndex((r) => r.b.id === marker);
      if (at < 0) throw paramError('marker', `no backup with id "${marker}" in this listing`);
      ordered = rows.slice(at + 1);
    }
    const { page: items } = page(ordered, q);
    return {
      status: 200,
      body: { backups: items.map((r) => this.renderBackup(r.b, ctx.now, r.member)), count: rows.length },
    };
  }

  private checkpointIndex(ctx: OpContext, checkpointId: string): Map<string, BackupRec> | undefined {
    const c = this.store.checkpoints.get(checkpointId);
    if (!c || c.projectId !== ctx.projectId) return undefined;
    return new Map(c.backups.map((b) => [b.id, b]));
  }

  private sortRows(rows: Array<{ b: BackupRec; seq: number }>, sort: Array<{ key: SortKey; desc: boolean }>, now: number): void {
    const only = sort.length === 1 ? sort[0]! : undefined;
    if (only && only.key === 'created_at') {
      // Rows arrive in creation order: reverse for desc, keep for asc (no comparison sort needed).
      if (only.desc) rows.reverse();
      return;
    }
    const value = (b: BackupRec, key: SortKey): string | number => {
      switch (key) {
        case 'created_at':
        case 'protected_at':
          return b.createdAt;
        case 'updated_at':
          return this.backupUpdatedAt(b, now);
        case 'name':
          return b.name;
        case 'status':
          return backupState(b.parent ?? b, now);
        case 'id':
          return b.id;
      }
    };
    const firstDesc = sort[0]!.desc;
    rows.sort((x, y) => {
      for (const { key, desc } of sort) {
        const a = value(x.b, key);
        const b = value(y.b, key);
        if (a < b) return desc ? 1 : -1;
        if (a > b) return desc ? -1 : 1;
      }
      return firstDesc ? y.seq - x.seq : x.seq - y.seq;
    });
  }

  showBackup(ctx: OpContext): OpResult {
    const seen = this.visibleBackup(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
    if (!seen) throw err(404, '6200');
    return { status: 200, body: { backup: this.renderBackup(seen.backup, ctx.now, seen.member) } };
  }

  deleteBackup(ctx: OpContext): OpResult {
    const b = this.ownBackupOr404(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
    if (b.parent) throw err(400, '6201', 'A disk backup of a server backup cannot be deleted on its own.');
    const st = backupState(b, ctx.now);
    if (st === 'protecting') throw err(400, '6203');
    if (st === 'deleting') throw err(400, '6201', 'The backup is already being deleted.');
    const doneAt = ctx.now + this.store.draw(this.config.timing.backupDeleteMs);
    b.deleteAt = ctx.now;
    b.deleteDoneAt = doneAt;
    for (const c of b.children) {
      c.deleteAt = ctx.now;
      c.deleteDoneAt = doneAt;
    }
    const v = this.store.vaults.get(b.vaultId)!;
    this.addOpLog(ctx, v, 'delete', {
      endAt: doneAt,
      checkpointId: b.checkpointId,
      resource: { id: b.resourceId, name: b.resourceName, type: b.resourceType },
      extra: { delete: { backup_id: b.id, backup_name: b.name } },
    });
    return { status: 204 };
  }

  // ---- members (sharing) -------------------------------------------------------------------------

  addMember(ctx: OpContext): OpResult {
    const b = this.ownBackupOr404(ctx, requirePathId(ctx.params.backup_id, 'backup_id'));
    const { members } = parseBody(AddMemberBody, ctx.body, this.strict);
    if (b.parent || !this.config.quirks.shareableTypes.includes(b.resourceType)) throw err(400, '6700');
    if (backupState(b, ctx.now) !== 'available') throw err(400, '6702');
    const v = this.store.vaults.get(b.vaultId);
    if (!v || vaultState(v, ctx.now) !== 'available') throw err(400, '6712');
    const unique = new Set<string>();
    for (const dest of members) {
      if (!HEX32_RE.test(dest) || dest === ctx.projectId || !this.store.projects.has(dest)) throw err(400, '6704', `project_id: ${dest}`);
      if (unique.has(dest) || b.members.has(dest)) throw err(400, '6703', `project_id: ${dest}`);
      unique.add(dest);
    }
    if (b.members.size + unique.size > this.config.limits.maxMembersPerBackup) throw err(400, '6701');
    const created: MemberRec[] = [];
    for (const dest of unique) {
      const m: MemberRec = {
        id: this.store.newId(),
        backupId: b.id,
        destProjectId: dest,
        status: 'pending',
        vaultId: null,
        createdAt: ctx.now,
        updatedAt: null,
      };
      b.members.set(dest, m);
      this.store.share(b, dest);
      created.push(m);
    }
    return { status: 200, body: { members: created.map((m) => this.renderMember(m)), count: created.length } };
  }

  showMembersDetail(ctx: OpContext): OpResult {
    const backupId = requirePathId(ctx.params.backup_id, 'backup_id');
    const b = this.store.liveBackup(backupId, ctx.now);
    if (!b || b.projectId !== ctx.projectId) {
      throw this.checkpointNotFound('6200');
    }
    const q = ctx.query;
    const dest = q.get('dest_project_id');
    const status = enumParam(q, 'status', ['pending', 'accepted', 'rejected']);
    const vaultId = q.get('vault_id');
    const imageId = q.get('image_id');
    const sort = q.get('sort');
    let list = [...b.members.values()].filter(
      (m) => (dest === null || m.destProjectId === dest) && (!status || m.status === status) && (vaultId === null || m.vaultId === vaultId) && (imageId === null),
    );
    if (sort !== null && sort !== '') {
      const [key, dir] = sort.split(':');
      if (!['created_at', 'updated_at', 'status', 'dest_project_id', 'id'].includes(key!)) throw paramError('sort', `unknown sort key "${key}"`);
      if (dir !== undefined && dir !== 'asc' && dir !== 'desc') throw paramError('sort', `direction must be asc or desc`);
      const k = key as 'created_at' | 'updated_at' | 'status' | 'dest_project_id' | 'id';
      const field = (m: MemberRec) =>
        k === 'created_at' ? m.createdAt : k === 'updated_at' ? (m.updatedAt ?? 0) : k === 'status' ? m.status : k === 'id' ? m.id : m.destProjectId;
      list = list.sort((x, y) => {
        const a = field(x);
        const c = field(y);
        return (a < c ? -1 : a > c ? 1 : 0) * (dir === 'asc' ? 1 : -1);
      });
    }
    const marker = q.get('marker');
    let ordered = list;
    if (marker !== null) {
      const at = list.findIndex((m) => m.id === marker);
      ordered = at < 0 ? [] : list.slice(at + 1);
    }
    const { page: items } = page(ordered, q);
    return { status: 200, body: { members: items.map((m) => this.renderMember(m)), count: list.length } };
  }

  /** member_id is the destination project id; the owner or that destination project may read it. */
  private memberFor(ctx: OpContext): { b: BackupRec; m: MemberRec } {
    const backupId = requirePathId(ctx.params.backup_id, 'backup_id');
    const memberId = requirePathId(ctx.params.member_id, 'member_id', HEX32_RE);
    const b = this.store.liveBackup(backupId, ctx.now);
    if (!b || (b.projectId !== ctx.projectId && !b.members.has(ctx.projectId))) throw err(404, '6200');
    if (b.projectId !== ctx.projectId && memberId !== ctx.projectId) throw err(404, '6705');
    const m = b.members.get(memberId);
    if (!m) throw err(404, '6705');
    return { b, m };
  }

  showMemberDetail(ctx: OpContext): OpResult {
    const { m } = this.memberFor(ctx);
    return { status: 200, body: { member: this.renderMember(m) } };
  }

  updateMemberStatus(ctx: OpContext): OpResult {
    const { b, m } = this.memberFor(ctx);
    // The recipient answers the share, calling with its own project id as both {project_id} and {member_id}.
    if (m.destProjectId !== ctx.projectId) throw err(400, '6706', 'Only the destination project can update the member status.');
    const input = parseBody(UpdateMemberBody, ctx.body, this.strict);
    if (input.status === 'accepted') {
      if (input.vault_id === undefined) throw paramError('vault_id', 'is required when status is accepted');
      const v = this.vaultOr404(ctx, input.vault_id);
      if (OBJECT_TYPE_RESOURCE[v.billing.objectType] !== b.resourceType) throw err(400, '6713');
      if (vaultState(v, ctx.now) !== 'available') throw err(400, '6712');
      m.vaultId = v.id;
    } else {
      m.vaultId = null; // rejecting (or resetting to pending) needs no vault; a vault_id sent anyway is ignored
    }
    m.status = input.status;
    m.updatedAt = ctx.now;
    return { status: 200, body: { member: this.renderMember(m) } };
  }

  deleteMember(ctx: OpContext): OpResult {
    const { b, m } = this.memberFor(ctx);
    if (b.projectId !== ctx.projectId) throw err(404, '6200');
    b.members.delete(m.destProjectId);
    this.store.unshare(b, m.destProjectId);
    return { status: 204 };
  }

  // ---- operation logs ----------------------------------------------------------------------------

  private addOpLog(
    ctx: OpContext,
    v: VaultRec,
    type: OpLogRec['type'],
    o: { endAt: number; backup?: BackupRec; checkpointId?: string; resource: OpLogRec['resource']; extra: Record<string, unknown> },
  ): void {
    const rec: OpLogRec = {
      id: this.store.newId(),
      projectId: ctx.projectId,
      type,
      createdAt: ctx.now,
      endAt: o.endAt,
      nominalMs: o.backup ? o.backup.nominalMs : Math.max(1, o.endAt - ctx.now),
      providerId: PROVIDER_BY_OBJECT[v.billing.objectType] ?? PROVIDER_SERVER,
      vaultId: v.id,
      vaultName: v.name,
      checkpointId: o.checkpointId ?? null,
      requestId: `req-${this.store.ids.uuid()}`,
      resource: o.resource,
      extra: o.extra,
      ...(o.backup ? { backup: o.backup } : {}),
    };
    this.store.addOpLog(rec);
  }

  private opLogState(o: OpLogRec, now: number): { status: 'running' | 'success' | 'failed'; progress: number; endedAt: number | null; failure: BackupRec['failure'] } {
    const end = o.backup ? o.backup.doneAt : o.endAt;
    const failure = o.backup ? o.backup.failure : null;
    if (now < end) {
      const progress = Math.min(99, Math.floor(((now - o.createdAt) * 100) / Math.max(1, o.nominalMs)));
      return { status: 'running', progress, endedAt: null, failure: null };
    }
    if (failure) return { status: 'failed', progress: Math.min(99, Math.floor(((end - o.createdAt) * 100) / Math.max(1, o.nominalMs))), endedAt: end, failure };
    return { status: 'success', progress: 100, endedAt: end, failure: null };
  }

  listOpLogs(ctx: OpContext): OpResult {
    const q = ctx.query;
    const type = enumParam(q, 'operation_type', OPLOG_TYPES);
    const status = enumParam(q, 'status', OPLOG_STATUSES);
    const start = timeParam(q, 'start_time');
    const end = timeParam(q, 'end_time');
    const vaultId = q.get('vault_id');
    const vaultName = q.get('vault_name');
    const resourceId = q.get('resource_id');
    const resourceName = q.get('resource_name');
    const providerId = q.get('provider_id');
    const eps = q.get('enterprise_project_id');
    const matches: OpLogRec[] = [];
    for (const o of this.store.opLogsByProject.get(ctx.projectId)?.values() ?? []) {
      if (type && o.type !== type) continue;
      if (status && this.opLogState(o, ctx.now).status !== status) continue;
      if (start !== undefined && o.createdAt < start) continue;
      if (end !== undefined && o.createdAt > end) continue;
      if (vaultId !== null && o.vaultId !== vaultId) continue;
      if (vaultName !== null && !o.vaultName.includes(vaultName)) continue;
      if (resourceId !== null && o.resource?.id !== resourceId) continue;
      if (resourceName !== null && !(o.resource?.name ?? '').includes(resourceName)) continue;
      if (providerId !== null && o.providerId !== providerId) continue;
      if (eps !== null && eps !== 'all_granted_eps' && eps !== '0') continue;
      matches.push(o);
    }
    matches.reverse();
    const { page: items, limit, offset } = page(matches, q);
    return {
      status: 200,
      body: { operation_logs: items.map((o) => this.renderOpLog(o, ctx.now)), count: matches.length, limit: limit ?? 1000, offset: offset ?? 0 },
    };
  }

  showOpLog(ctx: OpContext): OpResult {
    const id = requirePathId(ctx.params.operation_log_id, 'operation_log_id');
    const o = this.store.opLogs.get(id);
    if (!o || o.projectId !== ctx.projectId) throw err(404, '6500');
    return { status: 200, body: { operation_log: this.renderOpLog(o, ctx.now) } };
  }

  // ---- protectables ------------------------------------------------------------------------------

  private protectableType(ctx: OpContext, showOnly: boolean): 'OS::Nova::Server' | 'OS::Cinder::Volume' | null {
    const t = ctx.params.protectable_type;
    if (t === 'server') return 'OS::Nova::Server';
    if (t === 'disk') return 'OS::Cinder::Volume';
    const allowed = showOnly ? ['server', 'disk'] : ['server', 'disk', 'turbo', 'workspace', 'workspace_v2'];
    if (!allowed.includes(t ?? '')) throw paramError('protectable_type', `must be one of ${allowed.join(', ')}, got "${t ?? ''}"`);
    return null;
  }

  listProtectable(ctx: OpContext): OpResult {
    const type = this.protectableType(ctx, false);
    const q = ctx.query;
    const name = q.get('name');
    const id = q.get('id');
    const serverId = q.get('server_id');
    const status = enumParam(q, 'status', ['available', 'error', 'protecting', 'restoring', 'removing', 'active', 'deleted']);
    const matches: CatalogueEntry[] = [];
    if (type) {
      for (const e of this.store.catalogue.values()) {
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
    return { status: 200, body: { instances: items.map((e) => this.renderProtectable(e, ctx.now)) } };
  }

  showProtectable(ctx: OpContext): OpResult {
    const type = this.protectableType(ctx, true);
    const id = requirePathId(ctx.params.instance_id, 'instance_id');
    const e = this.store.catalogue.get(id);
    if (!e || e.projectId !== ctx.projectId || e.type !== type) throw err(404, '6302', `instance_id: ${id}`);
    return { status: 200, body: { instance: this.renderProtectable(e, ctx.now) } };
  }

  // ---- admin helpers (used by the fault controller) ----------------------------------------------

  /** Ends a still-protecting checkpoint now. */
  resolveCheckpoint(checkpointId: string, outcome: 'available' | 'error', reason?: string): boolean {
    const now = this.store.clock.now();
    const c = this.store.checkpoints.get(checkpointId);
    if (!c) return false;
    let changed = false;
    for (const b of c.backups) {
      if (backupState(b, now) !== 'protecting') continue;
      b.doneAt = now;
      b.failure = outcome === 'error' ? { code: 'BackupService.9910', message: reason ?? 'The backup failed.' } : null;
      for (const child of b.children) {
        child.doneAt = now;
        child.failure = b.failure;
      }
      changed = true;
    }
    return changed;
  }

  // ---- wire views --------------------------------------------------------------------------------

  renderVault(v: VaultRec, now: number): Json {
    const stats = new Map<string, { count: number; sizeMb: number }>();
    let used = 0;
    for (const b of this.store.backupsIn(v.backups, now)) {
      const s = backupState(b, now);
      if (s !== 'available' && s !== 'deleting') continue;
      used += b.sizeMb;
      const st = stats.get(b.resourceId) ?? { count: 0, sizeMb: 0 };
      st.count++;
      st.sizeMb += b.sizeMb;
      stats.set(b.resourceId, st);
    }
    const status = vaultState(v, now);
    const size = v.autoExpand ? Math.max(v.billing.sizeGb, Math.ceil(used / 1024)) : v.billing.sizeGb;
    return {
      id: v.id,
      name: v.name,
      description: v.description,
      resources: [...v.resources.values()].map((r) => {
        const st = stats.get(r.id);
        const last = r.lastBackup ? backupState(r.lastBackup, now) : undefined;
        return {
          id: r.id,
          name: r.name,
          type: r.type,
          protect_status: last === 'protecting' ? 'protecting' : last === 'error' ? 'error' : 'available',
          size: this.store.catalogue.get(r.id)?.sizeGb ?? 0,
          backup_size: st?.sizeMb ?? 0,
          backup_count: st?.count ?? 0,
          auto_protect: false,
          extra_info: r.extraInfo,
        };
      }),
      provider_id: PROVIDER_BY_OBJECT[v.billing.objectType] ?? PROVIDER_SERVER,
      created_at: this.time(v.createdAt),
      updated_at: this.time(v.updatedAt),
      project_id: v.projectId,
      enterprise_project_id: v.enterpriseProjectId,
      auto_bind: v.autoBind,
      bind_rules: v.bindRules,
      auto_expand: v.autoExpand,
      smn_notify: v.smnNotify,
      threshold: v.threshold,
      locked: v.locked,
      user_id: v.userId,
      sys_lock_source_service: v.sysLockSourceService,
      availability_zone: v.availabilityZone,
      billing: {
        allocated: this.store.allocatedGb(v),
        cloud_type: v.billing.cloudType,
        consistent_level: v.billing.consistentLevel,
        frozen_scene: null,
        charging_mode: v.billing.chargingMode,
        order_id: v.billing.orderId,
        product_id: v.billing.productId,
        protect_type: v.billing.protectType,
        object_type: v.billing.objectType,
        spec_code: v.billing.protectType === 'replication' ? 'vault.replication.server.normal' : (SPEC_BY_OBJECT[v.billing.objectType] ?? 'vault.backup.server.normal'),
        used,
        storage_unit: null,
        status,
        size,
        is_multi_az: v.billing.isMultiAz,
      },
      tags: v.tags,
    };
  }

  renderCheckpoint(c: CheckpointRec, v: VaultRec | undefined, now: number): Json {
    const asStr = this.config.quirks.checkpointNumbersAsStrings;
    const num = (n: number) => (asStr ? String(n) : n);
    const state = checkpointState(c, now);
    return {
      id: c.id,
      project_id: c.projectId,
      status: state === 'gone' ? 'deleted' : state,
      vault: {
        id: c.vaultId,
        name: v?.name ?? c.vaultName,
        resources: c.backups.map((b) => {
          const s = backupState(b, now);
          let count = 0;
          if (v) for (const x of v.backups.values()) if (x.resourceId === b.resourceId && backupState(x, now) === 'available') count++;
          return {
            id: b.resourceId,
            type: b.resourceType,
            name: b.resourceName,
            extra_info: asStr ? '{}' : {},
            resource_size: num(b.resourceSizeGb),
            backup_size: num(s === 'available' ? b.sizeMb : 0),
            backup_count: num(count),
            protect_status: s === 'protecting' ? 'protecting' : s === 'error' ? 'error' : 'available',
          };
        }),
        skipped_resources: c.skipped,
      },
      created_at: this.time(c.createdAt),
      extra_info: { name: c.name, description: c.description, retention_duration: -1 },
    };
  }

  private backupUpdatedAt(b: BackupRec, now: number): number {
    const root = b.parent ?? b;
    if (root.deleteAt !== undefined) return root.deleteAt;
    if (now >= root.doneAt) return root.doneAt;
    return root.createdAt;
  }

  renderBackup(b: BackupRec, now: number, member?: MemberRec): Json {
    const root = b.parent ?? b;
    const st = backupState(root, now);
    const progress = st === 'protecting' ? Math.min(99, Math.floor(((now - root.createdAt) * 100) / Math.max(1, root.nominalMs))) : st === 'error' ? 0 : 100;
    return {
      id: b.id,
      name: b.name,
      description: b.description,
      checkpoint_id: b.checkpointId,
      vault_id: member ? member.vaultId : b.vaultId,
      project_id: b.projectId,
      provider_id: b.resourceType === 'OS::Nova::Server' ? PROVIDER_SERVER : (b.parent ? PROVIDER_SERVER : PROVIDER_DISK),
      resource_id: b.resourceId,
      resource_name: b.resourceName,
      resource_type: b.resourceType,
      resource_az: b.az,
      resource_size: b.resourceSizeGb,
      status: st,
      image_type: 'backup',
      created_at: this.time(b.createdAt),
      updated_at: this.time(this.backupUpdatedAt(b, now)),
      expired_at: null,
      protected_at: this.time(b.createdAt),
      parent_id: b.parent ? b.parent.id : null,
      children: b.children.map((c) => this.renderBackup(c, now, member)),
      extend_info: {
        auto_trigger: b.autoTrigger,
        bootable: b.bootable,
        incremental: b.incremental,
        snapshot_id: b.resourceType === 'OS::Cinder::Volume' ? `snap-${b.id.slice(0, 8)}` : null,
        support_lld: true,
        supported_restore_mode: 'backup',
        os_images_data: null,
        contain_system_disk: b.resourceType === 'OS::Nova::Server' ? b.children.some((c) => c.bootable) : b.bootable,
        encrypted: false,
        system_disk: b.bootable,
        is_multi_az: false,
        progress,
        size: b.sizeMb,
      },
      replication_records: [],
      enterprise_project_id: '0',
      incremental: b.incremental,
      version: 3,
    };
  }

  renderMember(m: MemberRec): Json {
    return {
      id: m.id,
      status: m.status,
      backup_id: m.backupId,
      dest_project_id: m.destProjectId,
      vault_id: m.vaultId,
      image_id: null,
      created_at: this.time(m.createdAt),
      updated_at: this.time(m.updatedAt),
    };
  }

  renderOpLog(o: OpLogRec, now: number): Json {
    const s = this.opLogState(o, now);
    return {
      id: o.id,
      project_id: o.projectId,
      provider_id: o.providerId,
      checkpoint_id: o.checkpointId,
      created_at: this.time(o.createdAt),
      started_at: this.time(o.createdAt),
      updated_at: this.time(s.endedAt ?? o.createdAt),
      ended_at: this.time(s.endedAt),
      error_info: s.failure ? { code: s.failure.code, message: s.failure.message } : { code: '', message: '' },
      extra_info: {
        common: { progress: s.progress, request_id: o.requestId, task_id: o.id },
        ...(o.resource ? { resource: o.resource } : {}),
        ...o.extra,
      },
      operation_type: o.type,
      policy_id: '',
      status: s.status,
      vault_id: o.vaultId,
      vault_name: o.vaultName,
    };
  }

  renderProtectable(e: CatalogueEntry, now: number): Json {
    const bound = this.store.boundVault(e.id, now);
    const type = e.type;
    return {
      id: e.id,
      name: e.name,
      type,
      size: e.sizeGb,
      status: 'active',
      children: e.disks.map((d) => ({
        id: d.id,
        name: d.name,
        type: 'OS::Cinder::Volume',
        size: d.sizeGb,
        status: 'active',
        children: [],
        detail: { bootable: String(d.bootable), availability_zone: e.az },
      })),
      detail: { availability_zone: e.az, status: type === 'OS::Nova::Server' ? 'ACTIVE' : 'in-use' },
      protectable: {
        result: true,
        code: null,
        reason: null,
        message: null,
        vault: bound ? { id: bound.id, name: bound.name, billing: { object_type: bound.billing.objectType } } : null,
      },
    };
  }
}
