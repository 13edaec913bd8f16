/**
 * The OFFICIAL Huawei Node SDK core (ClientBuilder + BasicCredentials + AKSKSigner + axios) sending real
 * requests, with operation options shaped exactly like the generated CbrClient.ts ParamCreater output.
 * If the emulator accepts these, the official SDK cannot tell it from the service.
 */
import { createRequire } from 'node:module';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient';
import { DEMO } from '../../emulator/index';

// The SDK configures log4js to print every failed call (headers included) to stdout; silence it in tests.
const require = createRequire(import.meta.url);
const log4js = require('log4js') as { configure(c: unknown): void };
export function silenceSdkLogs(): void {
  log4js.configure({ appenders: { out: { type: 'stdout' } }, categories: { default: { appenders: ['out'], level: 'off' } } });
}

export interface SdkResult {
  status: number;
  body: Record<string, any>;
}

export interface SdkFailure {
  httpStatusCode: number;
  errorCode: string;
  errorMsg: string;
  requestId: string;
}

type SdkOptions = {
  method: string;
  url: string;
  contentType: string;
  queryParams: Record<string, unknown>;
  pathParams: Record<string, string>;
  headers: Record<string, string>;
  data?: unknown;
};

class MiniClient {
  constructor(readonly hc: HcClient) {}
  send(o: SdkOptions): Promise<Record<string, any>> {
    return this.hc.sendRequest(o as never) as Promise<Record<string, any>>;
  }
}

const POST = 'application/json;charset=UTF-8';
const GET = 'application/json';
const op = (method: string, url: string, pathParams: Record<string, string> = {}, queryParams: Record<string, unknown> = {}, data?: unknown): SdkOptions => ({
  method,
  url,
  contentType: method === 'POST' || method === 'PUT' ? POST : GET,
  queryParams,
  pathParams,
  headers: method === 'POST' || method === 'PUT' ? { 'Content-Type': POST } : {},
  ...(data === undefined ? {} : { data }),
});

/** Official SDK client for one project. Each method resolves {status, body} or rejects with the SDK's exception. */
export function officialClient(endpoint: string, creds: { ak: string; sk: string; projectId: string } = DEMO) {
  silenceSdkLogs();
  const client = new ClientBuilder((hc: HcClient) => new MiniClient(hc))
    .withCredential(new BasicCredentials().withAk(creds.ak).withSk(creds.sk).withProjectId(creds.projectId))
    .withEndpoint(endpoint)
    .build();
  const call = async (o: SdkOptions): Promise<SdkResult> => {
    const res = await client.send(o);
    const { httpStatusCode, ...body } = res;
    return { status: httpStatusCode as number, body };
  };
  return {
    createVault: (body: unknown) => call(op('POST', '/v3/{project_id}/vaults', {}, {}, body)),
    showVault: (vault_id: string) => call(op('GET', '/v3/{project_id}/vaults/{vault_id}', { vault_id })),
    listVault: (query: Record<string, unknown> = {}) => call(op('GET', '/v3/{project_id}/vaults', {}, query)),
    updateVault: (vault_id: string, body: unknown) => call(op('PUT', '/v3/{project_id}/vaults/{vault_id}', { vault_id }, {}, body)),
    deleteVault: (vault_id: string) => call(op('DELETE', '/v3/{project_id}/vaults/{vault_id}', { vault_id })),
    addVaultResource: (vault_id: string, body: unknown) => call(op('POST', '/v3/{project_id}/vaults/{vault_id}/addresources', { vault_id }, {}, body)),
    removeVaultResource: (vault_id: string, body: unknown) => call(op('POST', '/v3/{project_id}/vaults/{vault_id}/removeresources', { vault_id }, {}, body)),
    createCheckpoint: (body: unknown) => call(op('POST', '/v3/{project_id}/checkpoints', {}, {}, body)),
    showCheckpoint: (checkpoint_id: string) => call(op('GET', '/v3/{project_id}/checkpoints/{checkpoint_id}', { checkpoint_id })),
    listBackups: (query: Record<string, unknown> = {}) => call(op('GET', '/v3/{project_id}/backups', {}, query)),
    showBackup: (backup_id: string) => call(op('GET', '/v3/{project_id}/backups/{backup_id}', { backup_id })),
    deleteBackup: (backup_id: string) => call(op('DELETE', '/v3/{project_id}/backups/{backup_id}', { backup_id })),
    restoreBackup: (backup_id: string, body: unknown) => call(op('POST', '/v3/{project_id}/backups/{backup_id}/restore', { backup_id }, {}, body)),
    replicateBackup: (backup_id: string, body: unknown) => call(op('POST', '/v3/{project_id}/backups/{backup_id}/replicate', { backup_id }, {}, body)),
    addMember: (backup_id: string, body: unknown) => call(op('POST', '/v3/{project_id}/backups/{backup_id}/members', { backup_id }, {}, body)),
    showMembersDetail: (backup_id: string, query: Record<string, unknown> = {}) => call(op('GET', '/v3/{project_id}/backups/{backup_id}/members', { backup_id }, query)),
    showMemberDetail: (backup_id: string, member_id: string) => call(op('GET', '/v3/{project_id}/backups/{backup_id}/members/{member_id}', { backup_id, member_id })),
    updateMemberStatus: (backup_id: string, member_id: string, body: unknown) =>
      call(op('PUT', '/v3/{project_id}/backups/{backup_id}/members/{member_id}', { backup_id, member_id }, {}, body)),
    deleteMember: (backup_id: string, member_id: string) => call(op('DELETE', '/v3/{project_id}/backups/{backup_id}/members/{member_id}', { backup_id, member_id })),
    listOpLogs: (query: Record<string, unknown> = {}) => call(op('GET', '/v3/{project_id}/operation-logs', {}, query)),
    showOpLog: (operation_log_id: string) => call(op('GET', '/v3/{project_id}/operation-logs/{operation_log_id}', { operation_log_id })),
    listProtectable: (protectable_type: string, query: Record<string, unknown> = {}) =>
      call(op('GET', '/v3/{project_id}/protectables/{protectable_type}/instances', { protectable_type }, query)),
    showProtectable: (protectable_type: string, instance_id: string) =>
      call(op('GET', '/v3/{project_id}/protectables/{protectable_type}/instances/{instance_id}', { protectable_type, instance_id })),
  };
}
export type OfficialClient = ReturnType<typeof officialClient>;

/** Runs an SDK call that must fail and returns the SDK's exception fields. */
export async function sdkFailure(p: Promise<unknown>): Promise<SdkFailure> {
  try {
    await p;
  } catch (e) {
    const x = e as SdkFailure;
    if (typeof x.httpStatusCode !== 'number') throw e;
    return { httpStatusCode: x.httpStatusCode, errorCode: x.errorCode, errorMsg: x.errorMsg, requestId: x.requestId };
  }
  throw new Error('expected the call to fail');
}
