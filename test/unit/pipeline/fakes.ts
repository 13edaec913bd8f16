/**
 * In-memory fakes of the ports for unit tests and the per-record benchmark: a small CBR that keeps
 * vaults, bindings, checkpoints, backups and members with CBR's error codes, a manual clock, and a
 * store wrapper that can "crash" (throw) right after a chosen CBR call succeeded.
 */
import type {
  BackupQuery,
  CbrApi,
  CbrBackupView,
  CbrCheckpointView,
  CbrMemberView,
  CbrOpLogView,
  CbrProtectableType,
  CbrProtectableView,
  CbrVaultView,
  CheckpointCreateBody,
  Clock,
  RecentFilter,
  RunQuery,
  RunStore,
  SaveResult,
  VaultCreateBody,
} from '../../../lib/ports';
import type { RunRecord, VaultLease } from '../../../lib/store/run';

export class ManualClock implements Clock {
  constructor(public ms = Date.parse('2026-11-22T10:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class FakeCbrError extends Error {
  override readonly name = 'CbrApiError';
  constructor(
    readonly httpStatus: number | undefined,
    readonly errorCode: string | undefined,
    message: string,
    readonly retryable = false,
    readonly requestId = `req-${Math.random().toString(16).slice(2, 10)}`,
  ) {
    super(message);
  }
  get notFound(): boolean {
    return this.httpStatus === 404;
  }
}

const svc = (code: string) => `BackupService.${code}`;
let seq = 0;
const uuid = () => {
  seq++;
  const h = seq.toString(16).padStart(12, '0');
  return `0000${h.slice(0, 4)}-0000-4000-8000-${h}`;
};

interface FakeVault {
  id: string;
  name: string;
  objectType: string;
  resources: Array<{ id: string; type: string }>;
  createdAt: number;
  /** Shown in billing when set (the fake does no capacity accounting of its own). */
  capacity?: { sizeGb: number; usedMb: number; chargingMode: string };
}
interface FakeBackup extends CbrBackupView { createdAt: number }

export class FakeCbr implements CbrApi {
  readonly vaults = new Map<string, FakeVault>();
  readonly boundTo = new Map<string, string>();
  readonly checkpoints = new Map<string, { id: string; vaultId: string; name: string; resources: string[] }>();
  readonly backups: FakeBackup[] = [];
  /** Answer ListBackups without applying its `status` filter (a status the service itself does not filter on). */
  ignoresStatusFilter = false;
  readonly members = new Map<string, Map<string, string>>();
  readonly calls: Record<string, number> = {};
  /** Resources CBR will report as skipped (still being backed up). */
  readonly busyResources = new Set<string>();
  /** Resources of type volume are catalogued here; everything else is a server. */
  readonly volumes = new Set<string>();
  /** Resource ids the project does not have (ShowProtectable answers 6302, the pre-flight fails). */
  readonly unknownResources = new Set<string>();
  /** Errors to throw (once each, in order) before performing an operation. */
  readonly failures: Record<string, Error[]> = {};
  /** Hooks called after an operation succeeded (e.g. to crash the store right after). */
  readonly after: Record<string, () => void> = {};
  /** ListVault matches names by substring (CBR does not document exact vs fuzzy). */
  fuzzyNames = true;

  constructor(private readonly clock: Clock) {}

  private enter(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const queued = this.failures[op];
    if (queued && queued.length > 0) throw queued.shift()!;
  }

  private leave(op: string): void {
    this.after[op]?.();
  }

  callCount(op?: string): number {
    return op ? (this.calls[op] ?? 0) : Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  failNext(op: string, error: Error): void {
    (this.failures[op] ??= []).push(error);
  }

  private view(v: FakeVault): CbrVaultView {
    const cap = v.capacity ? { size: v.capacity.sizeGb, used: v.capacity.usedMb, charging_mode: v.capacity.chargingMode } : {};
    return { id: v.id, name: v.name, billing: { object_type: v.objectType, status: 'available', ...cap }, resources: v.resources.map((r) => ({ ...r, protect_status: 'available' })), created_at: new Date(v.createdAt).toISOString() };
  }

  /** A vault that exists before the run (e.g. holding a resource: 6103 for others). */
  seedVault(name: string, objectType = 'server', resources: Array<{ id: string; type: string }> = []): string {
    const id = uuid();
    this.vaults.set(id, { id, name, objectType, resources, createdAt: this.clock.now() });
    for (const r of resources) this.boundTo.set(r.id, id);
    return id;
  }

  async listVault(query: { name?: string; limit?: number; offset?: number }) {
    this.enter('listVault');
    const all = [...this.vaults.values()].filter((v) => !query.name || (this.fuzzyNames ? v.name.includes(query.name) : v.name === query.name));
    const offset = query.offset ?? 0;
    const page = all.slice(offset, offset + (query.limit ?? 1000)).map((v) => this.view(v));
    this.leave('listVault');
    return { vaults: page, count: all.length };
  }

  private protectableView(id: string): CbrProtectableView {
    const holder = this.boundTo.get(id);
    const v = holder ? this.vaults.get(holder) : undefined;
    return {
      id,
      type: this.volumes.has(id) ? 'OS::Cinder::Volume' : 'OS::Nova::Server',
      status: 'active',
      protectable: { result: true, vault: v ? { id: v.id, name: v.name } : null },
    };
  }

  private catalogue(type: CbrProtectableType): string[] {
    const ids = new Set([...this.volumes, ...this.boundTo.keys()]);
    return [...ids].filter((id) => !this.unknownResources.has(id) && (type === 'disk') === this.volumes.has(id));
  }

  async showProtectable(type: CbrProtectableType, instanceId: string) {
    this.enter('showProtectable');
    if (this.unknownResources.has(instanceId) || (type === 'disk') !== this.volumes.has(instanceId)) {
      throw new FakeCbrError(404, svc('6302'), `The resource does not exist. instance_id: ${instanceId}`);
    }
    this.leave('showProtectable');
    return { instance: this.protectableView(instanceId) };
  }

  /** Lists what the fake knows (volumes, bound resources); servers it was never told about are not listed. */
  async listProtectable(type: CbrProtectableType, query: { limit?: number; offset?: number }) {
    this.enter('listProtectable');
    const all = this.catalogue(type);
    const offset = query.offset ?? 0;
    this.leave('listProtectable');
    return { instances: all.slice(offset, offset + (query.limit ?? 50)).map((id) => this.protectableView(id)), count: all.length };
  }

  async deleteVault(vaultId: string) {
    this.enter('deleteVault');
    const v = this.vaults.get(vaultId);
    if (!v) throw new FakeCbrError(404, svc('6105'), 'The vault does not exist.');
    this.vaults.delete(vaultId);
    for (const r of v.resources) this.boundTo.delete(r.id);
    this.leave('deleteVault');
  }

  async createVault(body: VaultCreateBody) {
    this.enter('createVault');
    const id = uuid();
    const v: FakeVault = { id, name: body.vault.name, objectType: body.vault.billing.object_type, resources: [], createdAt: this.clock.now() };
    this.vaults.set(id, v);
    this.leave('createVault');
    return { vault: this.view(v) };
  }

  async showVault(vaultId: string) {
    this.enter('showVault');
    const v = this.vaults.get(vaultId);
    if (!v) throw new FakeCbrError(404, svc('6105'), 'The vault does not exist.');
    this.leave('showVault');
    return { vault: this.view(v) };
  }

  async updateVault(vaultId: string, body: { vault: { billing: { size: number } } }) {
    this.enter('updateVault');
    const v = this.vaults.get(vaultId);
    if (!v) throw new FakeCbrError(404, svc('6105'), 'The vault does not exist.');
    if (v.capacity) v.capacity.sizeGb = body.vault.billing.size;
    this.leave('updateVault');
    return { vault: this.view(v) };
  }

  async addVaultResource(vaultId: string, body: { resources: Array<{ id: string; type: string }> }) {
    this.enter('addVaultResource');
    const v = this.vaults.get(vaultId);
    if (!v) throw new FakeCbrError(404, svc('6105'), 'The vault does not exist.');
    for (const r of body.resources) {
      const owner = this.boundTo.get(r.id);
      if (owner && owner !== vaultId) throw new FakeCbrError(400, svc('6103'), `The resource ${r.id} has been associated with a vault.`);
      if (owner === vaultId) throw new FakeCbrError(400, svc('7116'), 'The server has been associated with the vault.');
    }
    for (const r of body.resources) {
      v.resources.push({ id: r.id, type: r.type });
      this.boundTo.set(r.id, vaultId);
    }
    this.leave('addVaultResource');
    return { add_resource_ids: body.resources.map((r) => r.id) };
  }

  async createCheckpoint(body: CheckpointCreateBody): Promise<{ checkpoint: CbrCheckpointView }> {
    this.enter('createCheckpoint');
    const vaultId = body.checkpoint.vault_id;
    const v = this.vaults.get(vaultId);
    if (!v) throw new FakeCbrError(404, svc('6105'), 'The vault does not exist.');
    const params = body.checkpoint.parameters ?? {};
    const wanted = params.resources ?? v.resources.map((r) => r.id);
    const id = uuid();
    const skipped = wanted.filter((r) => this.busyResources.has(r));
    const name = params.name ?? `manualbk_${id.slice(0, 4)}`;
    this.checkpoints.set(id, { id, vaultId, name, resources: wanted });
    for (const r of wanted) {
      if (skipped.includes(r)) continue;
      const type = this.volumes.has(r) ? 'OS::Cinder::Volume' : 'OS::Nova::Server';
      this.backups.push({ id: uuid(), name, checkpoint_id: id, vault_id: vaultId, resource_id: r, resource_type: type, status: 'protecting', parent_id: null, createdAt: this.clock.now() });
    }
    this.leave('createCheckpoint');
    return {
      checkpoint: {
        id,
        status: 'protecting',
        vault: { skipped_resources: skipped.map((r) => ({ id: r, type: 'OS::Nova::Server', code: 'BackupService.6215', reason: 'the resource is being backed up' })) },
      },
    };
  }

  readonly opLogs: Array<CbrOpLogView & { vault_id: string }> = [];

  private settle(b: FakeBackup, status: 'available' | 'error'): void {
    b.status = status;
    if (status === 'error') {
      this.opLogs.push({ status: 'failed', vault_id: b.vault_id!, checkpoint_id: b.checkpoint_id, error_info: { code: 'BackupService.0002', message: `snapshot of ${b.resource_id} failed` }, extra_info: { resource: { id: b.resource_id } } });
    }
  }

  /** Move every backup of a checkpoint (or the listed resources) to a final status. */
  finish(checkpointId: string, status: 'available' | 'error' = 'available', resourceIds?: string[]): void {
    for (const b of this.backups) {
      if (b.checkpoint_id === checkpointId && (!resourceIds || resourceIds.includes(b.resource_id!))) this.settle(b, status);
    }
  }

  finishAll(status: 'available' | 'error' = 'available'): void {
    for (const b of this.backups) if (b.status === 'protecting') this.settle(b, status);
  }

  async listOpLogs(query: { operation_type?: 'backup'; status?: 'failed'; vault_id?: string; limit?: number; offset?: number }) {
    this.enter('listOpLogs');
    const all = this.opLogs.filter((o) => (!query.vault_id || o.vault_id === query.vault_id) && (!query.status || o.status === query.status));
    const offset = query.offset ?? 0;
    return { operation_logs: all.slice(offset, offset + (query.limit ?? 100)), count: all.length };
  }

  async *paginateBackups(query: BackupQuery, opts: { pageSize?: number } = {}): AsyncIterable<CbrBackupView> {
    const statuses = query.status === undefined ? undefined : Array.isArray(query.status) ? query.status : [query.status];
    const since = query.start_time ? Date.parse(query.start_time) : undefined;
    const all = this.backups.filter(
      (b) =>
        (!query.vault_id || b.vault_id === query.vault_id) &&
        (!query.checkpoint_id || b.checkpoint_id === query.checkpoint_id) &&
        (!query.name || b.name === query.name) &&
        (!statuses || this.ignoresStatusFilter || statuses.includes(b.status as never)) &&
        (since === undefined || b.createdAt >= since),
    );
    const size = opts.pageSize ?? 100;
    for (let offset = 0; offset === 0 || offset < all.length; offset += size) {
      this.enter('listBackups');
      const page = all.slice(offset, offset + size);
      this.leave('listBackups');
      for (const b of page) {
        const { createdAt: _c, ...view } = b;
        yield { ...view };
      }
    }
  }

  async addMember(backupId: string, body: { members: string[] }): Promise<{ members: CbrMemberView[] }> {
    this.enter('addMember');
    const b = this.backups.find((x) => x.id === backupId);
    if (!b) throw new FakeCbrError(404, svc('6200'), 'The backup does not exist.');
    if (b.resource_type !== 'OS::Nova::Server') throw new FakeCbrError(400, svc('6700'), 'Only server backups can be shared.');
    if (b.status !== 'available') throw new FakeCbrError(400, svc('6702'), 'The backup is not available.');
    const members = this.members.get(backupId) ?? new Map<string, string>();
    for (const p of body.members) if (members.has(p)) throw new FakeCbrError(400, svc('6703'), `Already shared with ${p}.`);
    for (const p of body.members) members.set(p, 'pending');
    this.members.set(backupId, members);
    this.leave('addMember');
    return { members: body.members.map((p) => ({ id: uuid(), status: 'pending', dest_project_id: p })) };
  }

  async showMembersDetail(backupId: string, query: { limit?: number; offset?: number }) {
    this.enter('showMembersDetail');
    const all = [...(this.members.get(backupId) ?? new Map<string, string>()).entries()].map(([p, status]) => ({ dest_project_id: p, status }));
    const offset = query.offset ?? 0;
    this.leave('showMembersDetail');
    return { members: all.slice(offset, offset + (query.limit ?? 100)), count: all.length };
  }

  async showMemberDetail(backupId: string, memberId: string) {
    this.enter('showMemberDetail');
    const status = this.members.get(backupId)?.get(memberId);
    if (status === undefined) throw new FakeCbrError(404, svc('6705'), 'The share member does not exist.');
    this.leave('showMemberDetail');
    return { member: { dest_project_id: memberId, status } };
  }

  /** The fake has one project: accepting here stands for the receiving side's call. */
  async updateMemberStatus(backupId: string, memberId: string, body: { status: 'accepted' | 'rejected' | 'pending'; vault_id?: string }) {
    this.enter('updateMemberStatus');
    const members = this.members.get(backupId);
    if (!members?.has(memberId)) throw new FakeCbrError(404, svc('6705'), 'The share member does not exist.');
    members.set(memberId, body.status);
    this.leave('updateMemberStatus');
    return { member: { dest_project_id: memberId, status: body.status, ...(body.vault_id ? { vault_id: body.vault_id } : {}) } };
  }

  async deleteMember(backupId: string, memberId: string): Promise<void> {
    this.enter('deleteMember');
    if (!this.members.get(backupId)?.delete(memberId)) throw new FakeCbrError(404, svc('6705'), 'The share member does not exist.');
    this.leave('deleteMember');
  }
}

export class CrashError extends Error {
  override readonly name = 'CrashError';
}

/**
 * A RunStore wrapper whose next save() can be made to throw, i.e. the function dies after its CBR
 * call succeeded and before its state write.
 */
export class CrashableStore implements RunStore {
  crashNextSave = false;
  constructor(readonly inner: RunStore) {}
  create(run: RunRecord) {
    return this.inner.create(run);
  }
  get(runId: string) {
    return this.inner.get(runId);
  }
  async save(run: RunRecord): Promise<SaveResult> {
    if (this.crashNextSave) {
      this.crashNextSave = false;
      throw new CrashError('crash before the state write');
    }
    return this.inner.save(run);
  }
  listDue(shard: number, now: number, limit: number, cursor?: string) {
    return this.inner.listDue(shard, now, limit, cursor);
  }
  markAnnounced(runId: string) {
    return this.inner.markAnnounced(runId);
  }
  listRecent(limit: number, filter?: RecentFilter) {
    return this.inner.listRecent(limit, filter);
  }
  listRuns(query: RunQuery) {
    return this.inner.listRuns(query);
  }
  linkRetry(runId: string, retryRunId: string) {
    return this.inner.linkRetry(runId, retryRunId);
  }
  putShareWatch(runId: string, at: number) {
    return this.inner.putShareWatch(runId, at);
  }
  deleteShareWatch(runId: string) {
    return this.inner.deleteShareWatch(runId);
  }
  listShareWatches(now: number, limit: number) {
    return this.inner.listShareWatches(now, limit);
  }
  recordShares(...args: Parameters<RunStore['recordShares']>) {
    return this.inner.recordShares(...args);
  }
  getLease(key: string): Promise<VaultLease | undefined> {
    return this.inner.getLease(key);
  }
  acquireLease(key: string, holder: string, now: number, leaseMs: number) {
    return this.inner.acquireLease(key, holder, now, leaseMs);
  }
  resolveLease(key: string, holder: string, vaultId: string, now: number) {
    return this.inner.resolveLease(key, holder, vaultId, now);
  }
  releaseLease(key: string, holder: string, now: number) {
    return this.inner.releaseLease(key, holder, now);
  }
}
