/**
 * The cbr-flow HTTP API client of the CLI: POST /runs (signed), GET /runs/{id}, GET /runs. Every
 * answer keeps the body's exact text (`raw`) for `--json`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { AppError } from '../../lib/errors';
import { DEFAULT_DATA_DIR, signedHeaders } from '../webhook-keys';
import { summarize } from './format';

/** The file in the data folder where a running local stack writes its URL (local/start.ts). */
export const STACK_FILE = 'stack.json';

/** The URL of the local stack running on the data folder (`npm start -- --serve --port N`), if any. */
function localStackUrl(): string | undefined {
  try {
    const url = (JSON.parse(readFileSync(join(DEFAULT_DATA_DIR, STACK_FILE), 'utf8')) as { url?: unknown }).url;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Without --endpoint or CBR_FLOW_URL: the local stack's URL from its data folder, else port 3000. */
export const DEFAULT_ENDPOINT = localStackUrl() ?? 'http://127.0.0.1:3000';

export class CliError extends AppError {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options: { cause?: unknown } = {}) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A timestamp as the API sends it (ISO 8601), or epoch milliseconds; epoch ms after parsing. */
const Instant = z.union([z.number(), z.iso.datetime({ offset: true })]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

/** The parts of a run record the CLI shows; anything else the API returns is kept but not needed. */
const TimelineEvent = z.looseObject({ at: Instant, step: z.string(), event: z.string(), detail: z.string().optional() });
export const RunView = z.looseObject({
  runId: z.string(),
  state: z.string(),
  step: z.string().optional(),
  createdAt: Instant.optional(),
  updatedAt: Instant.optional(),
  finishedAt: Instant.optional(),
  reason: z.string().optional(),
  lastError: z.looseObject({ code: z.string(), message: z.string(), requestId: z.string().optional() }).optional(),
  timeline: z.array(TimelineEvent).default([]),
  /** Share members (backup x receiving project) with their states (issue 15). */
  shares: z
    .array(z.looseObject({ backupId: z.string(), projectId: z.string(), status: z.string(), code: z.string().optional(), message: z.string().optional(), vaultId: z.string().optional(), expiresAt: z.number().optional(), revokedAt: z.number().optional() }))
    .default([]),
  /** Cross-region copies (backup x destination region) with their states (issue 15). */
  copies: z
    .array(z.looseObject({ backupId: z.string(), region: z.string(), state: z.string(), vaultName: z.string().optional(), replicaId: z.string().optional(), code: z.string().optional(), message: z.string().optional(), finishedAt: z.number().optional() }))
    .default([]),
});
export type RunView = z.infer<typeof RunView>;

/** The parts of a restore record (GET /restores/{id}) the CLI shows. */
export const RestoreView = z.looseObject({
  restoreId: z.string(),
  state: z.string(),
  projectId: z.string(),
  backupId: z.string(),
  backupName: z.string().optional(),
  backupAt: z.number().optional(),
  runId: z.string().optional(),
  resourceId: z.string().optional(),
  targetServerId: z.string(),
  powerOn: z.boolean(),
  safety: z.string(),
  mappings: z.array(z.looseObject({ backupId: z.string(), volumeId: z.string(), sizeGb: z.number().optional(), targetSizeGb: z.number().optional(), systemDisk: z.boolean().optional() })).default([]),
  createdAt: z.number(),
  opLogId: z.string().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  progress: z.number().optional(),
  reason: z.string().optional(),
  lastError: z.looseObject({ code: z.string(), message: z.string(), requestId: z.string().optional() }).optional(),
  timeline: z.array(z.looseObject({ at: z.number(), event: z.string(), detail: z.string().optional() })).default([]),
  drill: z.looseObject({
    plan: z.string(),
    name: z.string(),
    result: z.looseObject({ ok: z.boolean(), rpoSeconds: z.number().optional(), rtoSeconds: z.number().optional(), verification: z.string(), problems: z.array(z.string()).default([]) }).optional(),
  }).optional(),
});
export type RestoreView = z.infer<typeof RestoreView>;
export type TimelineEntry = z.infer<typeof TimelineEvent>;

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer within 10 s';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

export interface ApiClientOptions {
  /** Keys to sign POST /runs with (Standard Webhooks); none = send unsigned. */
  webhookKeys?: readonly string[] | undefined;
  /** Bearer token (a JWT from the API's issuer) for the reads, GET /runs and GET /runs/{id}. */
  bearerToken?: string | undefined;
}

const READ_AUTH_HELP = 'reads need a bearer token from the API\'s issuer: set CBR_FLOW_TOKEN or pass --token-file <file> (for a local stack the CLI mints one from .data/jwt-issuer.json)';

export class ApiClient {
  readonly endpoint: string;
  private readonly webhookKeys: readonly string[] | undefined;
  private readonly bearerToken: string | undefined;

  constructor(endpoint: string, options: ApiClientOptions = {}) {
    this.webhookKeys = options.webhookKeys && options.webhookKeys.length > 0 ? options.webhookKeys : undefined;
    this.bearerToken = options.bearerToken || undefined;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new CliError(`--endpoint: "${endpoint}" is not a URL (expected e.g. ${DEFAULT_ENDPOINT})`, 2);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--endpoint: "${endpoint}" must be an http(s) URL`, 2);
    this.endpoint = url.href.replace(/\/+$/, '');
  }

  /** `bearer`: send the bearer token (reads, and the run actions, which carry no body). */
  private async request(method: string, path: string, body?: unknown, bearer = body === undefined, extraHeaders: Record<string, string> = {}): Promise<{ status: number; json: unknown; raw: string }> {
    let res: Response;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // The signature covers these exact bytes; a fresh webhook-id per request (never a replay).
    const signature = payload !== undefined && this.webhookKeys ? signedHeaders(this.webhookKeys, payload) : {};
    try {
      res = await fetch(`${this.endpoint}${path}`, {
        method,
        headers: payload === undefined
          ? { accept: 'application/json', ...extraHeaders, ...(bearer && this.bearerToken ? { authorization: `Bearer ${this.bearerToken}` } : {}) }
          : { 'content-type': 'application/json', accept: 'application/json', ...extraHeaders, ...signature, ...(bearer && this.bearerToken ? { authorization: `Bearer ${this.bearerToken}` } : {}) },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new CliError(`cannot reach cbr-flow at ${this.endpoint} (${describeFetchError(err)}); is \`npm start -- --serve\` running? Use --endpoint or CBR_FLOW_URL to point elsewhere.`, 3, { cause: err });
    }
    const text = await res.text();
    let json: unknown = text;
    try { json = text ? JSON.parse(text) : null; } catch { /* keep the text */ }
    if (res.status >= 500) throw new CliError(`${method} ${path} failed: HTTP ${res.status} ${summarize(json)}`, 3);
    return { status: res.status, json, raw: text };
  }

  /** `fieldLabel` names a field of a 400 answer the way the user gave it (a CLI flag). */
  async startRun(request: unknown, fieldLabel?: (field: string) => string): Promise<{ runId: string; statusUrl?: string; raw: string }> {
    const { status, json, raw } = await this.request('POST', '/runs', request);
    if (status === 401) {
      const reason = typeof json === 'object' && json !== null && typeof (json as { reason?: unknown }).reason === 'string' ? (json as { reason: string }).reason : 'unauthorized';
      const how = this.webhookKeys
        ? 'the webhook key used is not one the API accepts (check --webhook-key-file / CBR_FLOW_WEBHOOK_KEY, or the clock)'
        : 'POST /runs must be signed: pass --webhook-key-file <file> or set CBR_FLOW_WEBHOOK_KEY (a local stack keeps its key in .data/webhook-keys.json)';
      throw new CliError(`the API refused the run as unauthenticated (HTTP 401, ${reason}): ${how}`, 2);
    }
    if (status >= 400) throw new CliError(`the API refused the run (HTTP ${status}): ${summarize(json, fieldLabel)}`, 2);
    const parsed = z.looseObject({ runId: z.string(), statusUrl: z.string().optional() }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to POST /runs: ${summarize(json)}`, 3);
    return { ...parsed.data, raw };
  }

  private refuseUnauthorized(status: number, json: unknown, what: string): void {
    if (status === 401) {
      const how = this.bearerToken ? 'the token was not accepted (expired, or from another issuer or audience?)' : READ_AUTH_HELP;
      throw new CliError(`${what} refused as unauthenticated (HTTP 401): ${how}`, 2);
    }
    if (status === 403) throw new CliError(`${what} refused (HTTP 403): ${summarize(json)}`, 2);
  }

  async getRun(runId: string): Promise<RunView> {
    return (await this.getRunAnswer(runId)).run;
  }

  async getRunAnswer(runId: string): Promise<{ run: RunView; raw: string }> {
    const { status, json, raw } = await this.request('GET', `/runs/${encodeURIComponent(runId)}`);
    this.refuseUnauthorized(status, json, `GET /runs/${runId}`);
    if (status === 404) throw new CliError(`no run ${runId} at ${this.endpoint} (or not one of the projects your token may read)`, 2);
    if (status >= 400) throw new CliError(`GET /runs/${runId} refused (HTTP ${status}): ${summarize(json)}`, 2);
    const record = typeof json === 'object' && json !== null && 'run' in json ? (json as { run: unknown }).run : json;
    const parsed = RunView.safeParse(record);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /runs/${runId}: ${z.prettifyError(parsed.error)}`, 3);
    return { run: parsed.data, raw };
  }

  /** GET /runs/{id}, or undefined when the API knows no such run (404): `status` then tries a restore. */
  async findRun(runId: string): Promise<{ run: RunView; raw: string } | undefined> {
    try {
      return await this.getRunAnswer(runId);
    } catch (error) {
      if (error instanceof CliError && error.message.startsWith(`no run ${runId} `)) return undefined;
      throw error;
    }
  }

  /**
   * POST /restores (bearer token; the project must be in the token's cbr_projects). 400/404/409 become a
   * CliError (exit 2) whose message the caller may rewrite (`refusal`), with the API's field.
   */
  async startRestore(body: unknown, idempotencyKey: string | undefined, refusal: (status: number, field: string | undefined, message: string) => string): Promise<{ restoreId: string; created: boolean; restore: RestoreView; raw: string }> {
    const headers: Record<string, string> = { 'user-agent': 'cbr-flow-cli', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) };
    const { status, json, raw } = await this.request('POST', '/restores', body, true, headers);
    this.refuseUnauthorized(status, json, 'POST /restores');
    if (status >= 400) {
      const field = typeof json === 'object' && json !== null && typeof (json as { field?: unknown }).field === 'string' ? (json as { field: string }).field : undefined;
      throw new CliError(refusal(status, field, summarize(json)), 2);
    }
    const parsed = z.looseObject({ restoreId: z.string(), created: z.boolean(), restore: RestoreView }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to POST /restores: ${summarize(json)}`, 3);
    return { ...parsed.data, raw };
  }

  /** GET /restores/{id}; undefined when the API knows no such restore (404). */
  async findRestore(restoreId: string): Promise<{ restore: RestoreView; raw: string } | undefined> {
    const { status, json, raw } = await this.request('GET', `/restores/${encodeURIComponent(restoreId)}`);
    this.refuseUnauthorized(status, json, `GET /restores/${restoreId}`);
    if (status === 404) return undefined;
    if (status >= 400) throw new CliError(`GET /restores/${restoreId} refused (HTTP ${status}): ${summarize(json)}`, 2);
    const parsed = RestoreView.safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /restores/${restoreId}: ${z.prettifyError(parsed.error)}`, 3);
    return { restore: parsed.data, raw };
  }

  /** POST /runs/{id}/cancel or /retry (bearer token; the run's project must be in the token's cbr_projects). */
  async runAction(runId: string, action: 'cancel' | 'retry'): Promise<{ json: Record<string, unknown>; raw: string }> {
    const path = `/runs/${encodeURIComponent(runId)}/${action}`;
    const { status, json, raw } = await this.request('POST', path, undefined, true);
    this.refuseUnauthorized(status, json, `POST ${path}`);
    if (status === 404) throw new CliError(`no run ${runId} at ${this.endpoint} (or not one of the projects your token may act on)`, 2);
    if (status === 409) throw new CliError(`cannot ${action} run ${runId}: ${summarize(json)}`, 2);
    if (status >= 400) throw new CliError(`POST ${path} refused (HTTP ${status}): ${summarize(json)}`, 2);
    if (typeof json !== 'object' || json === null) throw new CliError(`unexpected answer to POST ${path}: ${summarize(json)}`, 3);
    return { json: json as Record<string, unknown>, raw };
  }

  /** GET /vaults/orphaned (bearer token; only the token's projects). */
  async listOrphanedVaults(query: OrphanedVaultsQuery): Promise<{ vaults: OrphanedVaultView[]; raw: string }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size > 0 ? `?${params}` : '';
    const { status, json, raw } = await this.request('GET', `/vaults/orphaned${qs}`);
    this.refuseUnauthorized(status, json, 'GET /vaults/orphaned');
    if (status >= 400) throw new CliError(`GET /vaults/orphaned refused (HTTP ${status}): ${summarize(json, (f) => VAULT_FLAGS[f] ?? f)}`, 2);
    const parsed = z.looseObject({ vaults: z.array(OrphanedVaultView) }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /vaults/orphaned: ${summarize(json)}`, 3);
    return { vaults: parsed.data.vaults, raw };
  }

  /** GET /vaults: the vaults the runs used, with capacity and forecast (`complete: false` when some were not read in time). */
  async listVaults(query: { projectId?: string | undefined }): Promise<{ vaults: VaultCapacityView[]; complete: boolean; raw: string }> {
    const qs = query.projectId !== undefined ? `?${new URLSearchParams({ projectId: query.projectId })}` : '';
    const { status, json, raw } = await this.request('GET', `/vaults${qs}`);
    this.refuseUnauthorized(status, json, 'GET /vaults');
    if (status >= 400) throw new CliError(`GET /vaults refused (HTTP ${status}): ${summarize(json, (f) => VAULT_FLAGS[f] ?? f)}`, 2);
    const parsed = z.looseObject({ vaults: z.array(VaultCapacityView), complete: z.boolean().default(true) }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /vaults: ${summarize(json)}`, 3);
    return { ...parsed.data, raw };
  }

  /** DELETE /vaults/{vaultId}[?force=true]: one orphaned vault. */
  async deleteVault(vaultId: string, force: boolean): Promise<{ json: Record<string, unknown>; raw: string }> {
    const path = `/vaults/${encodeURIComponent(vaultId)}${force ? '?force=true' : ''}`;
    const { status, json, raw } = await this.request('DELETE', path, undefined, true);
    this.refuseUnauthorized(status, json, `DELETE ${path}`);
    if (status === 404) throw new CliError(`--delete: ${summarize(json)}`, 2);
    if (status === 409) throw new CliError(`--delete: ${summarize(json).replace(/\(force to delete it with them\)/, '(add --force to delete it with them)')}`, 2);
    if (status >= 400) throw new CliError(`DELETE ${path} refused (HTTP ${status}): ${summarize(json, (f) => VAULT_FLAGS[f] ?? f)}`, 2);
    if (typeof json !== 'object' || json === null) throw new CliError(`unexpected answer to DELETE ${path}: ${summarize(json)}`, 3);
    return { json: json as Record<string, unknown>, raw };
  }

  /** One page of GET /runs (newest first); `nextCursor` while there may be more. */
  async listRuns(query: ListQuery): Promise<{ runs: RunView[]; nextCursor?: string; raw: string }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const { status, json, raw } = await this.request('GET', `/runs?${params}`);
    this.refuseUnauthorized(status, json, 'GET /runs');
    if (status >= 400) throw new CliError(`GET /runs refused (HTTP ${status}): ${summarize(json, (f) => LIST_FLAGS[f.replace(/\[\d+\]$/, '')] ?? f)}`, 2);
    const parsed = z.looseObject({ runs: z.array(RunView), nextCursor: z.string().optional() }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /runs: ${summarize(json)}`, 3);
    return { runs: parsed.data.runs, ...(parsed.data.nextCursor ? { nextCursor: parsed.data.nextCursor } : {}), raw };
  }

  /** POST /gates/fresh-backup (bearer token): 200 fresh, or 202 with the run started or joined. */
  async freshGate(body: unknown, fieldLabel?: (field: string) => string): Promise<{ answer: FreshGateView; raw: string }> {
    const { status, json, raw } = await this.request('POST', '/gates/fresh-backup', body, true);
    this.refuseUnauthorized(status, json, 'POST /gates/fresh-backup');
    if (status >= 400) throw new CliError(`POST /gates/fresh-backup refused (HTTP ${status}): ${summarize(json, fieldLabel)}`, 2);
    const parsed = FreshGateView.safeParse(json);
    if (!parsed.success || (status === 202) !== !parsed.data.fresh || (!parsed.data.fresh && !parsed.data.runId)) {
      throw new CliError(`unexpected answer to POST /gates/fresh-backup (HTTP ${status}): ${summarize(json)}`, 3);
    }
    return { answer: parsed.data, raw };
  }

  /** POST /holds (bearer token): hold one backup (`backupId` + `projectId`) or every backup of a run (`runId`). */
  async placeHold(body: { backupId?: string | undefined; projectId?: string | undefined; runId?: string | undefined; reason?: string | undefined }): Promise<{ hold: HoldView; raw: string }> {
    const { status, json, raw } = await this.request('POST', '/holds', body, true);
    this.refuseUnauthorized(status, json, 'POST /holds');
    if (status === 404) throw new CliError(`hold: ${summarize(json, (f) => HOLD_FLAGS[f] ?? f)}`, 2);
    if (status >= 400) throw new CliError(`POST /holds refused (HTTP ${status}): ${summarize(json, (f) => HOLD_FLAGS[f] ?? f)}`, 2);
    const parsed = HoldView.safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to POST /holds: ${summarize(json)}`, 3);
    return { hold: parsed.data, raw };
  }

  /** DELETE /holds/{id}[?reason=]: `released: false` when it was released before. */
  async releaseHold(holdId: string, reason: string | undefined): Promise<{ released: boolean; hold: HoldView; raw: string }> {
    const path = `/holds/${encodeURIComponent(holdId)}${reason ? `?${new URLSearchParams({ reason })}` : ''}`;
    const { status, json, raw } = await this.request('DELETE', path, undefined, true);
    this.refuseUnauthorized(status, json, `DELETE /holds/${holdId}`);
    if (status === 404) throw new CliError(`release: no hold ${holdId} (or not one of the projects your token may act on); \`cbr-flow holds --all\` lists them`, 2);
    if (status >= 400) throw new CliError(`DELETE /holds/${holdId} refused (HTTP ${status}): ${summarize(json, (f) => HOLD_FLAGS[f] ?? f)}`, 2);
    const parsed = z.looseObject({ released: z.boolean(), hold: HoldView }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to DELETE /holds/${holdId}: ${summarize(json)}`, 3);
    return { ...parsed.data, raw };
  }

  /** GET /holds[?all=true]: the active holds (with `all`, released ones too) of the token's projects. */
  async listHolds(all: boolean): Promise<{ holds: HoldView[]; raw: string }> {
    const { status, json, raw } = await this.request('GET', `/holds${all ? '?all=true' : ''}`);
    this.refuseUnauthorized(status, json, 'GET /holds');
    if (status >= 400) throw new CliError(`GET /holds refused (HTTP ${status}): ${summarize(json, (f) => HOLD_FLAGS[f] ?? f)}`, 2);
    const parsed = z.looseObject({ holds: z.array(HoldView) }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /holds: ${summarize(json)}`, 3);
    return { holds: parsed.data.holds, raw };
  }

  /** GET /retention/preview[?plan=]: what the next sweep deletes and keeps, per vault, and why. */
  async retentionPreview(plan: string | undefined): Promise<{ preview: RetentionPreviewView; raw: string }> {
    const path = `/retention/preview${plan !== undefined ? `?${new URLSearchParams({ plan })}` : ''}`;
    const { status, json, raw } = await this.request('GET', path);
    this.refuseUnauthorized(status, json, 'GET /retention/preview');
    if (status >= 400) throw new CliError(`GET /retention/preview refused (HTTP ${status}): ${summarize(json, (f) => HOLD_FLAGS[f] ?? f)}`, 2);
    const parsed = RetentionPreviewView.safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /retention/preview: ${summarize(json)}`, 3);
    return { preview: parsed.data, raw };
  }

  /** GET /retention/ledger[?plan=]: what the sweeps deleted or CBR refused, newest first. */
  async retentionLedger(plan: string | undefined): Promise<{ entries: LedgerEntryView[]; raw: string }> {
    const path = `/retention/ledger${plan !== undefined ? `?${new URLSearchParams({ plan })}` : ''}`;
    const { status, json, raw } = await this.request('GET', path);
    this.refuseUnauthorized(status, json, 'GET /retention/ledger');
    if (status >= 400) throw new CliError(`GET /retention/ledger refused (HTTP ${status}): ${summarize(json, (f) => HOLD_FLAGS[f] ?? f)}`, 2);
    const parsed = z.looseObject({ entries: z.array(LedgerEntryView) }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /retention/ledger: ${summarize(json)}`, 3);
    return { entries: parsed.data.entries, raw };
  }

  /** GET /coverage: the configured projects the token may read (`project`, `status` narrow it). */
  async getCoverage(query: { project?: string | undefined; status?: string | undefined }): Promise<{ coverage: CoverageView; raw: string }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const q = params.size > 0 ? `?${params}` : '';
    const { status, json, raw } = await this.request('GET', `/coverage${q}`);
    this.refuseUnauthorized(status, json, 'GET /coverage');
    if (status >= 400) throw new CliError(`GET /coverage refused (HTTP ${status}): ${summarize(json, (f) => COVERAGE_FLAGS[f.replace(/\[\d+\]$/, '')] ?? f)}`, 2);
    const parsed = CoverageView.safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /coverage: ${summarize(json)}`, 3);
    return { coverage: parsed.data, raw };
  }
}

/** What the CLI reads of POST /gates/fresh-backup (lib/coverage/fresh-gate.ts); the rest is kept. */
const FreshGateView = z.looseObject({
  fresh: z.boolean(),
  maxAgeMinutes: z.number(),
  resources: z.array(z.looseObject({
    id: z.string(),
    fresh: z.boolean(),
    backupId: z.string().optional(),
    backupCreatedAt: z.string().optional(),
    ageMinutes: z.number().optional(),
  })),
  runId: z.string().optional(),
  created: z.boolean().optional(),
  statusUrl: z.string().optional(),
});
type FreshGateView = z.infer<typeof FreshGateView>;

/** GET /coverage's query fields as the `coverage` flags that set them. */
const COVERAGE_FLAGS: Record<string, string> = { 'query.project': '--project', 'query.status': '--status' };

/** What the CLI reads of GET /coverage (lib/coverage/coverage.ts); the rest is kept. */
const CoverageView = z.looseObject({
  generatedAt: z.string(),
  projects: z.array(z.looseObject({
    projectId: z.string(),
    region: z.string(),
    counts: z.record(z.string(), z.number()),
    error: z.looseObject({ name: z.string(), message: z.string() }).optional(),
    resources: z.array(z.looseObject({
      id: z.string(),
      name: z.string(),
      type: z.string(),
      status: z.string(),
      reason: z.string(),
      vault: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).optional(),
      plans: z.array(z.string()),
      rpoHours: z.number(),
      lastBackupAt: z.string().optional(),
    })),
  })),
});
export type CoverageView = z.infer<typeof CoverageView>;

export interface OrphanedVaultsQuery {
  projectId?: string | undefined;
  region?: string | undefined;
}

/** An orphaned vault as GET /vaults/orphaned answers it (what the CLI prints; the rest is kept). */
const OrphanedVaultView = z.looseObject({
  vaultId: z.string(),
  vaultName: z.string(),
  projectId: z.string(),
  region: z.string(),
  runId: z.string(),
  state: z.string(),
  createdAt: z.string().optional(),
  finishedAt: z.string().optional(),
  reason: z.string().optional(),
});
export type OrphanedVaultView = z.infer<typeof OrphanedVaultView>;

/** A vault of GET /vaults: capacity in GB (absent when CBR did not say) and the forecast's text. */
const VaultCapacityView = z.looseObject({
  vaultId: z.string(),
  vaultName: z.string(),
  projectId: z.string(),
  region: z.string(),
  runs: z.number(),
  sizeGb: z.number().nullish(),
  usedGb: z.number().nullish(),
  forecast: z.string(),
});
export type VaultCapacityView = z.infer<typeof VaultCapacityView>;

/** GET /vaults/orphaned's query fields as the `vaults` flags that set them. */
const VAULT_FLAGS: Record<string, string> = { 'query.projectId': '--project', 'query.region': '--region', 'query.force': '--force', vaultId: '--delete' };

export interface ListQuery {
  limit: number;
  state?: string | undefined;
  project?: string | undefined;
  plan?: string | undefined;
  /** ISO 8601. */
  since?: string | undefined;
  cursor?: string | undefined;
}

/** GET /runs' query fields as the `list` flags that set them. */
const LIST_FLAGS: Record<string, string> = {
  'query.limit': '--limit', 'query.state': '--state', 'query.project': '--project', 'query.plan': '--plan', 'query.since': '--since', 'query.cursor': '--cursor',
};

/** A hold as the retention API answers it (lib/retention/holds.ts holdView). */
const HoldView = z.looseObject({
  holdId: z.string(),
  backupId: z.string().optional(),
  runId: z.string().optional(),
  projectId: z.string(),
  backupIds: z.array(z.string()),
  reason: z.string(),
  by: z.string(),
  at: z.string(),
  released: z.looseObject({ by: z.string(), at: z.string(), reason: z.string().optional() }).optional(),
});
export type HoldView = z.infer<typeof HoldView>;

const Because = z.array(z.looseObject({ rule: z.string(), detail: z.string() }));
/** GET /retention/preview (lib/retention/sweep.ts previewView). */
const RetentionPreviewView = z.looseObject({
  at: z.string(),
  scopes: z.array(z.looseObject({
    plan: z.string().nullable(),
    projectId: z.string(),
    region: z.string(),
    vault: z.looseObject({ id: z.string(), name: z.string().nullish() }),
    delete: z.array(z.looseObject({ backupId: z.string(), name: z.string().nullish(), resourceId: z.string().nullish(), createdAt: z.string().nullish(), sizeGb: z.number(), because: Because })),
    keep: z.array(z.looseObject({ backupId: z.string(), name: z.string().nullish(), resourceId: z.string().nullish(), createdAt: z.string().nullish(), because: Because })),
    foreign: z.number(),
    freedGb: z.number(),
  })),
  skipped: z.array(z.looseObject({ plan: z.string().nullish(), vaultName: z.string().nullish(), why: z.string() })),
  totals: z.looseObject({ delete: z.number(), keep: z.number(), foreign: z.number(), freedGb: z.number() }),
});
export type RetentionPreviewView = z.infer<typeof RetentionPreviewView>;

/** An entry of GET /retention/ledger. */
const LedgerEntryView = z.looseObject({
  backupId: z.string(),
  plan: z.string().optional(),
  vaultId: z.string(),
  resourceId: z.string(),
  backupCreatedAt: z.string().nullable(),
  rule: z.string(),
  requestedAt: z.string(),
  result: z.string(),
  reason: z.string().optional(),
  requestId: z.string().optional(),
  attempts: z.number(),
});
export type LedgerEntryView = z.infer<typeof LedgerEntryView>;

/** The retention API's fields as the CLI flags that set them. */
const HOLD_FLAGS: Record<string, string> = {
  'body.backupId': '--backup', 'body.projectId': '--project', 'body.runId': '--run', 'body.reason': '--reason', 'query.plan': '--plan', 'query.all': '--all', id: '<hold id>',
};
