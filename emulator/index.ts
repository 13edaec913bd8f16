/**
 * cbr-flow's local emulator of the Huawei Cloud CBR v3 API and the IAM token endpoint.
 * A second, independent implementation of the wire protocol (it never imports lib/cbr), so a client bug
 * cannot hide behind the same bug here. See emulator/README.md for options, quirks and the admin API.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { createAdminHandler } from './admin';
import { Authenticator } from './auth';
import { createClock } from './clock';
import type { EmulatorClock } from './clock';
import { DEMO } from './demo';
import { createFaultEngine } from './faults';
import type { FaultController } from './faults';
import { CbrService } from './operations';
import { EmulatorConfig } from './options';
import type { EmulatorOptions, ResourceInput } from './options';
import { CbrListener } from './server';
import type { RequestCounts } from './server';
import { createState } from './state';
import type { EmulatorState } from './state';
import { readStateFile, restoreStore, serializeStore, writeStateFile } from './persist';
import { Store } from './store';
import type { CatalogueEntry } from './store';

export { DEMO } from './demo';
export { EmulatorStateError } from './persist';
export type { EmulatorClock } from './clock';
export type { CheckpointScript, CheckpointScriptInput, FaultController, FaultRule, FaultRuleInput, FaultStats, LatencySpec } from './faults';
export type { EmulatorConfig, EmulatorConfigInput, EmulatorOptions, Quirks, RequestLogEntry } from './options';
export type { RequestCounts } from './server';
export type { EmulatorSnapshot, EmulatorState } from './state';
export { OPERATIONS } from './router';

export interface Emulator {
  /** CBR and IAM on the same base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Only when options.admin is true (separate listener). */
  adminUrl?: string;
  stop(): Promise<void>;
  state: EmulatorState;
  faults: FaultController;
  clock: EmulatorClock;
  /** The resolved configuration (defaults applied). */
  config: EmulatorConfig;
}

export class EmulatorConfigError extends Error {
  override readonly name = 'EmulatorConfigError';
}

function buildCatalogue(resources: ResourceInput[], knownProjects: Set<string>, store: Store, fromDemo: boolean): void {
  for (const r of resources) {
    if (!knownProjects.has(r.projectId)) {
      if (fromDemo) continue;
      throw new EmulatorConfigError(`resources: ${r.id} belongs to unknown project ${r.projectId}`);
    }
    if (store.catalogue.has(r.id)) throw new EmulatorConfigError(`resources: duplicate resource id ${r.id}`);
    const az = r.az ?? 'ap-southeast-1a';
    if (r.type === 'OS::Cinder::Volume') {
      if (r.sizeGb === undefined) throw new EmulatorConfigError(`resources: volume ${r.id} needs sizeGb`);
      if (r.disks) throw new EmulatorConfigError(`resources: volume ${r.id} cannot have disks`);
      if (r.usedGb !== undefined && r.usedGb > r.sizeGb) throw new EmulatorConfigError(`resources: volume ${r.id} usedGb ${r.usedGb} exceeds its sizeGb ${r.sizeGb}`);
      store.catalogue.set(r.id, { id: r.id, projectId: r.projectId, type: r.type, name: r.name, sizeGb: r.sizeGb, ...(r.usedGb === undefined ? {} : { usedGb: r.usedGb }), az, disks: [], ...(r.tags ? { tags: r.tags } : {}) });
      if (r.deleted) markDeleted(store, r.id);
      continue;
    }
    const disks = (r.disks ?? [{ id: store.newId(), name: `${r.name}-system`, sizeGb: r.sizeGb ?? 40, bootable: true }]).map((d, i) => ({
      id: d.id,
      name: d.name,
      sizeGb: d.sizeGb,
      ...(d.usedGb === undefined ? {} : { usedGb: d.usedGb }),
      bootable: d.bootable ?? i === 0,
    }));
    const entry: CatalogueEntry = {
      id: r.id,
      projectId: r.projectId,
      type: r.type,
      name: r.name,
      sizeGb: r.sizeGb ?? disks.reduce((s, d) => s + d.sizeGb, 0),
      ...(r.usedGb === undefined ? {} : { usedGb: r.usedGb }),
      az,
      disks,
      ...(r.tags ? { tags: r.tags } : {}),
    };
    store.catalogue.set(r.id, entry);
    for (const d of disks) {
      if (store.catalogue.has(d.id)) throw new EmulatorConfigError(`resources: duplicate resource id ${d.id} (disk of ${r.id})`);
      // A server's disks are EVS volumes too: protectable on their own in a disk vault.
      store.catalogue.set(d.id, { id: d.id, projectId: r.projectId, type: 'OS::Cinder::Volume', name: d.name, sizeGb: d.sizeGb, ...(d.usedGb === undefined ? {} : { usedGb: d.usedGb }), az, disks: [], attachedTo: r.id });
      if (r.deleted) markDeleted(store, d.id);
    }
    if (r.deleted) markDeleted(store, r.id);
  }
}

/** A resource seeded as deleted: out of the live catalogue, answered with status "deleted". */
function markDeleted(store: Store, id: string): void {
  const entry = store.catalogue.get(id);
  if (!entry) return;
  store.catalogue.delete(id);
  store.deletedResources.add(id);
  store.deletedCatalogue.set(id, entry);
}

/** A per-region seed offset (FNV-1a of the region id), so regions never hand out the same ids. */
function hashSeed(region: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < region.length; i++) h = Math.imul(h ^ region.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { clock: clockOption, log, stateFile, ...serialisable } = options;
  const parsed = EmulatorConfig.safeParse(serialisable);
  if (!parsed.success) throw new EmulatorConfigError(`invalid emulator options:\n${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const clock = createClock(clockOption ?? 'system', config.startTime);

  const projects = config.projects ?? [...DEMO.projects];
  const projectIds = new Set(projects.map((p) => p.id));
  if (projectIds.size !== projects.length) throw new EmulatorConfigError('projects: duplicate project id');
  const regionIds = [config.region, ...config.regions.filter((r) => r !== config.region)];
  if (new Set(regionIds).size !== regionIds.length) throw new EmulatorConfigError('regions: duplicate region');
  if (stateFile && regionIds.length > 1) throw new EmulatorConfigError('stateFile keeps one region\'s state: use it without regions, or drop stateFile');
  const store = new Store(config, clock, projects);
  // Each further region its own state and id stream; a project's resources live in its own region.
  const stores = new Map<string, Store>(regionIds.map((r, i) => [r, i === 0 ? store : new Store(config, clock, projects, config.seed ^ hashSeed(r))]));
  const regionOfProject = (projectId: string): string => {
    const name = projects.find((p) => p.id === projectId)?.name ?? '';
    return regionIds.find((r) => name === r || name.startsWith(`${r}_`)) ?? config.region;
  };
  const allResources = config.resources ?? [...DEMO.resources];
  for (const [r, st] of stores) {
    buildCatalogue(allResources.filter((x) => regionOfProject(x.projectId) === r), projectIds, st, config.resources === undefined);
  }
  const saved = stateFile ? readStateFile(stateFile) : undefined;
  if (stateFile && saved !== undefined) restoreStore(store, saved, stateFile);
  /** Writes the state file (when there is one): after every change, before its answer; fsync'd on stop. */
  const save = (sync = false): void => {
    if (stateFile) writeStateFile(stateFile, serializeStore(store), sync);
  };

  let service: CbrService | undefined;
  const faults = createFaultEngine(config.seed, (id, outcome, reason) => service!.resolveCheckpoint(id, outcome, reason));
  service = new CbrService(store, config, faults, config.region);
  const services = new Map<string, CbrService>([[config.region, service]]);
  for (const [r, st] of stores) if (r !== config.region) services.set(r, new CbrService(st, config, faults, r));
  for (const svc of services.values()) svc.regions = services;
  for (const rule of config.faults) faults.add(rule);
  for (const script of config.scripts) faults.scriptCheckpoint(script);

  const auth = new Authenticator(store, config, config.credentials ?? [...DEMO.credentials], config.users ?? [...DEMO.users]);
  const counts: RequestCounts = { total: 0, byOperation: {}, byStatus: {} };
  const state = createState(store, service, counts, services);
  const listener = new CbrListener({ config, clock, service, regions: services, auth, faults, counts, log, afterChange: stateFile ? () => save() : undefined });

  const server = createServer({ keepAlive: true }, listener.onRequest);
  server.keepAliveTimeout = 30_000;
  const port = await listen(server, config.port);
  let adminServer: Server | undefined;
  let adminUrl: string | undefined;
  if (config.admin) {
    const admin = createAdminHandler({ state, faults, clock });
    adminServer = createServer(stateFile ? (req, res) => { res.once('finish', () => save()); admin(req, res); } : admin);
    try {
      adminUrl = `http://127.0.0.1:${await listen(adminServer, config.adminPort)}`;
    } catch (e) {
      await close(server);
      throw e;
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    ...(adminUrl ? { adminUrl } : {}),
    state,
    faults,
    clock,
    config,
    stop() {
      stopped ??= (async () => {
        listener.shutdown();
        await Promise.all([close(server), adminServer ? close(adminServer) : Promise.resolve()]);
        save(true);
      })();
      return stopped;
    },
  };
}
