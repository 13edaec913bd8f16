/**
 * `cbr-flow` command line: start a run, show one, watch one until it ends, list recent runs — all
 * through the HTTP API (POST /runs, GET /runs/{id}, GET /runs), locally or deployed.
 *
 * POST /runs is signed the Standard Webhooks way with a webhook key from, in this order:
 * `--webhook-key-file <path>` (a whsec_ key or the keys JSON), $CBR_FLOW_WEBHOOK_KEY, or — for a
 * loopback endpoint — the local stack's key in .data/webhook-keys.json. `--no-auth` sends unsigned
 * (for a local stack started with `npm start -- --no-auth`). Keys are never taken from argv values.
 *
 * Exit codes: 0 success (a watched run COMPLETED); 1 the run ended FAILED, EXPIRED or PARTIAL;
 * 2 bad input (flags, file, a 4xx from the API); 3 the endpoint is unreachable or answered 5xx;
 * 4 `watch --timeout` elapsed before the run ended; 70 an unexpected internal error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { AppError } from '../lib/errors';
import { RunRequest } from '../lib/contracts/run-request';
import { parseWebhookKeys, readLocalWebhookKeys, signedHeaders } from './webhook-keys';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';
const TERMINAL = new Set(['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED']);

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
  finishedAt: Instant.optional(),
  reason: z.string().optional(),
  lastError: z.looseObject({ code: z.string(), message: z.string(), requestId: z.string().optional() }).optional(),
  timeline: z.array(TimelineEvent).default([]),
});
export type RunView = z.infer<typeof RunView>;
export type TimelineEntry = z.infer<typeof TimelineEvent>;

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer within 10 s';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

export interface ApiClientOptions {
  /** Keys to sign POST /runs with (Standard Webhooks); none = send unsigned. */
  webhookKeys?: readonly string[] | undefined;
}

export class ApiClient {
  readonly endpoint: string;
  private readonly webhookKeys: readonly string[] | undefined;

  constructor(endpoint: string, options: ApiClientOptions = {}) {
    this.webhookKeys = options.webhookKeys && options.webhookKeys.length > 0 ? options.webhookKeys : undefined;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new CliError(`--endpoint: "${endpoint}" is not a URL (expected e.g. ${DEFAULT_ENDPOINT})`, 2);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--endpoint: "${endpoint}" must be an http(s) URL`, 2);
    this.endpoint = url.href.replace(/\/+$/, '');
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // The signature covers these exact bytes; a fresh webhook-id per request (never a replay).
    const signature = payload !== undefined && this.webhookKeys ? signedHeaders(this.webhookKeys, payload) : {};
    try {
      res = await fetch(`${this.endpoint}${path}`, {
        method,
        headers: payload === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json', ...signature },
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
    return { status: res.status, json };
  }

  async startRun(request: unknown): Promise<{ runId: string; statusUrl?: string }> {
    const { status, json } = await this.request('POST', '/runs', request);
    if (status === 401) {
      const reason = typeof json === 'object' && json !== null && typeof (json as { reason?: unknown }).reason === 'string' ? (json as { reason: string }).reason : 'unauthorized';
      const how = this.webhookKeys
        ? 'the webhook key used is not one the API accepts (check --webhook-key-file / CBR_FLOW_WEBHOOK_KEY, or the clock)'
        : 'POST /runs must be signed: pass --webhook-key-file <file> or set CBR_FLOW_WEBHOOK_KEY (a local stack keeps its key in .data/webhook-keys.json)';
      throw new CliError(`the API refused the run as unauthenticated (HTTP 401, ${reason}): ${how}`, 2);
    }
    if (status >= 400) throw new CliError(`the API refused the run (HTTP ${status}): ${summarize(json)}`, 2);
    const parsed = z.looseObject({ runId: z.string(), statusUrl: z.string().optional() }).safeParse(json);
    if (!parsed.success) throw new CliError(`unexpected answer to POST /runs: ${summarize(json)}`, 3);
    return parsed.data;
  }

  async getRun(runId: string): Promise<RunView> {
    const { status, json } = await this.request('GET', `/runs/${encodeURIComponent(runId)}`);
    if (status === 404) throw new CliError(`no run ${runId} at ${this.endpoint}`, 2);
    if (status >= 400) throw new CliError(`GET /runs/${runId} refused (HTTP ${status}): ${summarize(json)}`, 2);
    const record = typeof json === 'object' && json !== null && 'run' in json ? (json as { run: unknown }).run : json;
    const parsed = RunView.safeParse(record);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /runs/${runId}: ${z.prettifyError(parsed.error)}`, 3);
    return parsed.data;
  }

  async listRuns(limit: number): Promise<RunView[]> {
    const { status, json } = await this.request('GET', `/runs?limit=${limit}`);
    if (status >= 400) throw new CliError(`GET /runs refused (HTTP ${status}): ${summarize(json)}`, 2);
    const list = Array.isArray(json) ? json : (json as { runs?: unknown; items?: unknown } | null)?.runs ?? (json as { items?: unknown } | null)?.items;
    const parsed = z.array(RunView).safeParse(list);
    if (!parsed.success) throw new CliError(`unexpected answer to GET /runs: ${summarize(json)}`, 3);
    return parsed.data;
  }
}

function summarize(json: unknown): string {
  if (typeof json === 'object' && json !== null) {
    const j = json as { message?: unknown; error?: unknown; issues?: unknown; errors?: unknown };
    const issues = Array.isArray(j.issues) ? j.issues : Array.isArray(j.errors) ? j.errors : undefined;
    const head = typeof j.message === 'string' ? j.message : typeof j.error === 'string' ? j.error : '';
    if (issues) {
      const lines = issues.map((i) => {
        const issue = i as { field?: unknown; path?: unknown; message?: unknown };
        const field = typeof issue.field === 'string' ? issue.field : Array.isArray(issue.path) ? issue.path.join('.') : '';
        return `${field ? `${field}: ` : ''}${String(issue.message ?? JSON.stringify(i))}`;
      });
      return [head, ...lines.map((l) => `  - ${l}`)].filter(Boolean).join('\n');
    }
    return head || JSON.stringify(json).slice(0, 500);
  }
  return String(json).slice(0, 500);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function formatEvent(e: TimelineEntry, startedAt: number): string {
  return `[+${seconds(e.at - startedAt).padStart(6)}] ${e.step.padEnd(16)} ${e.event}${e.detail ? `  ${e.detail}` : ''}`;
}

export function formatRun(run: RunView): string {
  const start = run.createdAt ?? run.timeline[0]?.at ?? Date.now();
  const lines = [
    `run      ${run.runId}`,
    `state    ${run.state}${run.step ? ` (step ${run.step})` : ''}`,
    ...(run.createdAt ? [`started  ${new Date(run.createdAt).toISOString()}`] : []),
    ...(run.finishedAt ? [`finished ${new Date(run.finishedAt).toISOString()} (${seconds(run.finishedAt - start)})`] : []),
    ...(run.reason ? [`reason   ${run.reason}`] : []),
    ...(run.lastError ? [`error    ${run.lastError.code}: ${run.lastError.message}${run.lastError.requestId ? ` (request ${run.lastError.requestId})` : ''}`] : []),
  ];
  if (run.timeline.length > 0) lines.push('timeline', ...run.timeline.map((e) => `  ${formatEvent(e, start)}`));
  return lines.join('\n');
}

export interface WatchOptions {
  intervalMs?: number;
  timeoutMs?: number;
  onEvent?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Polls GET /runs/{id} until the run reaches a terminal state, reporting each new timeline event and
 * state change once. Resolves with the final record; throws CliError(4) on timeout. A few failed polls
 * in a row (the endpoint restarting) are tolerated; a persistent failure is thrown.
 */
export async function watchRun(api: ApiClient, runId: string, options: WatchOptions = {}): Promise<RunView> {
  const interval = options.intervalMs ?? 1000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const emit = options.onEvent ?? (() => undefined);
  const watchStart = Date.now();
  let shown = 0;
  let lastState = '';
  let failures = 0;
  for (;;) {
    let run: RunView | undefined;
    try {
      run = await api.getRun(runId);
      failures = 0;
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode !== 3 || ++failures >= 5) throw err;
    }
    if (run) {
      const start = run.createdAt ?? run.timeline[0]?.at ?? watchStart;
      for (const e of run.timeline.slice(shown)) emit(formatEvent(e, start));
      shown = Math.max(shown, run.timeline.length);
      if (run.state !== lastState) {
        emit(`[+${seconds(Date.now() - start).padStart(6)}] state ${run.state}${run.step ? ` (step ${run.step})` : ''}`);
        lastState = run.state;
      }
      if (TERMINAL.has(run.state)) return run;
    }
    if (Date.now() + interval > deadline) {
      throw new CliError(`run ${runId} is still ${lastState || 'unknown'} after ${seconds(options.timeoutMs ?? 0)}`, 4);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
    if (options.signal?.aborted) throw new CliError('watch interrupted', 4);
  }
}

const USAGE = `Usage: cbr-flow <command> [options]

Commands:
  run      Start a backup run: from a JSON file (--file, "-" for stdin) or from flags
  status   <runId>  Show a run: state, current step, timeline, last error
  watch    <runId>  Follow a run live until it ends (exit 0 only when COMPLETED)
  list     Recent runs

Run flags:
  --file, -f <path>        the run request as JSON (the body of POST /runs)
  --project <id>           source project id (32 hex)
  --region <region>        CBR region (default: the deployment's)
  --vault <name>           vault to use, created (pay-per-use) if missing; needs --vault-size
  --vault-size <GB>        capacity of a vault created by --vault
  --reuse-vault <name>     use an existing vault; the run fails if it does not exist
  --server <id>            a server to back up (repeat for more)
  --volume <id>            a disk to back up (repeat for more)
  --share <projectId>      share every server backup with this project (repeat for more)
  --checkpoint-name <s>    checkpoint name prefix (default cbrflow)
  --full                   full backup instead of incremental
  --window <minutes>       completion window (default 240)
  --notify-url <url>       where to POST the run-finished notification
  --watch                  follow the run after starting it

Common:
  --endpoint <url>         API base URL (default $CBR_FLOW_URL or ${DEFAULT_ENDPOINT})
  --webhook-key-file <f>   sign POST /runs with this key (a whsec_ key, or ["whsec_..."]); default
                           $CBR_FLOW_WEBHOOK_KEY, else the local stack's .data/webhook-keys.json
  --no-auth                send POST /runs unsigned (a local stack started with --no-auth)
  --json                   print raw JSON (run, status, list)
  --interval <s>           watch poll interval (default 1)
  --timeout <s>            watch gives up after this long (exit 4)
  --limit <n>              list size (default 20)
  -h, --help               this help

Exit codes: 0 ok/COMPLETED, 1 FAILED/EXPIRED/PARTIAL, 2 bad input, 3 endpoint unreachable or 5xx, 4 watch timeout.`;

const OPTIONS = {
  'file': { type: 'string', short: 'f' },
  'project': { type: 'string' },
  'region': { type: 'string' },
  'vault': { type: 'string' },
  'vault-size': { type: 'string' },
  'reuse-vault': { type: 'string' },
  'server': { type: 'string', multiple: true },
  'volume': { type: 'string', multiple: true },
  'share': { type: 'string', multiple: true },
  'checkpoint-name': { type: 'string' },
  'full': { type: 'boolean' },
  'window': { type: 'string' },
  'notify-url': { type: 'string' },
  'watch': { type: 'boolean' },
  'endpoint': { type: 'string' },
  'webhook-key-file': { type: 'string' },
  'no-auth': { type: 'boolean' },
  'json': { type: 'boolean' },
  'interval': { type: 'string' },
  'timeout': { type: 'string' },
  'limit': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function positiveNumber(flag: string, value: string | undefined, fallback: number | undefined, integer = false): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new CliError(`--${flag}: "${value}" is not a positive ${integer ? 'integer' : 'number'}`, 2);
  }
  return n;
}

const RUN_FLAGS = ['project', 'region', 'vault', 'vault-size', 'reuse-vault', 'server', 'volume', 'share', 'checkpoint-name', 'full', 'window', 'notify-url'] as const;

/** The run request from --file or from flags, validated with the API's own schema before sending. */
export function buildRunRequest(values: Values, readStdin: () => string): unknown {
  let request: Record<string, unknown>;
  if (values.file !== undefined) {
    const used = RUN_FLAGS.filter((f) => values[f] !== undefined);
    if (used.length > 0) throw new CliError(`--file cannot be combined with ${used.map((f) => `--${f}`).join(', ')}`, 2);
    let text: string;
    try {
      text = values.file === '-' ? readStdin() : readFileSync(values.file, 'utf8');
    } catch (err) {
      throw new CliError(`--file: cannot read ${values.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2, { cause: err });
    }
    try {
      request = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`--file: ${values.file} is not valid JSON (${(err as Error).message})`, 2, { cause: err });
    }
  } else {
    if (values.project === undefined) throw new CliError('run: --project is required (or give the whole request with --file)', 2);
    if (values.vault !== undefined && values['reuse-vault'] !== undefined) throw new CliError('run: use either --vault or --reuse-vault, not both', 2);
    let vault: Record<string, unknown>;
    if (values['reuse-vault'] !== undefined) vault = { mode: 'reuse', name: values['reuse-vault'] };
    else if (values.vault !== undefined) {
      if (values['vault-size'] === undefined) throw new CliError('run: --vault-size <GB> is required to create a vault with --vault (or use --reuse-vault)', 2);
      vault = { mode: 'create', name: values.vault, billing: { chargingMode: 'post_paid', size: positiveNumber('vault-size', values['vault-size'], undefined, true) } };
    } else throw new CliError('run: --vault <name> (with --vault-size) or --reuse-vault <name> is required', 2);
    const resources = [
      ...(values.server ?? []).map((id) => ({ id, type: 'OS::Nova::Server' })),
      ...(values.volume ?? []).map((id) => ({ id, type: 'OS::Cinder::Volume' })),
    ];
    request = {
      projectId: values.project,
      ...(values.region !== undefined ? { region: values.region } : {}),
      vault,
      resources,
      ...(values['checkpoint-name'] !== undefined || values.full ? {
        checkpoint: { ...(values['checkpoint-name'] !== undefined ? { name: values['checkpoint-name'] } : {}), incremental: !values.full },
      } : {}),
      ...(values.share ? { shareWith: values.share } : {}),
      ...(values.window !== undefined ? { completionWindowMinutes: positiveNumber('window', values.window, undefined, true) } : {}),
      ...(values['notify-url'] !== undefined ? { notifyUrl: values['notify-url'] } : {}),
    };
  }
  const parsed = RunRequest.safeParse(request);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(request)'}: ${i.message}`);
    throw new CliError(`invalid run request:\n${lines.join('\n')}`, 2);
  }
  return request;
}

/** The keys `run` signs with (see the header comment for the order); undefined = unsigned. */
export function webhookKeysFor(values: Pick<Values, 'webhook-key-file' | 'no-auth'>, env: Record<string, string | undefined>, endpoint: string): readonly string[] | undefined {
  if (values['no-auth']) {
    if (values['webhook-key-file'] !== undefined) throw new CliError('--no-auth cannot be combined with --webhook-key-file', 2);
    return undefined;
  }
  const file = values['webhook-key-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`--webhook-key-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2, { cause: err });
    }
    return keysOrExit(() => parseWebhookKeys(text, `--webhook-key-file ${file}`));
  }
  if (env.CBR_FLOW_WEBHOOK_KEY) return keysOrExit(() => parseWebhookKeys(env.CBR_FLOW_WEBHOOK_KEY!, 'CBR_FLOW_WEBHOOK_KEY'));
  let host = '';
  try { host = new URL(endpoint).hostname; } catch { /* ApiClient reports a bad endpoint */ }
  if (host === '127.0.0.1' || host === 'localhost' || host === '[::1]') return keysOrExit(() => readLocalWebhookKeys());
  return undefined;
}

function keysOrExit(read: () => string[] | undefined): string[] | undefined {
  try {
    return read();
  } catch (err) {
    throw new CliError((err as Error).message, 2, { cause: err });
  }
}

export interface Io { out(line: string): void; err(line: string): void; readStdin(): string }

const defaultIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readStdin: () => readFileSync(0, 'utf8'),
};

export async function main(argv: string[], env: Record<string, string | undefined> = process.env, io: Io = defaultIo): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new CliError(`${(err as Error).message}\nRun \`cbr-flow --help\` for usage.`, 2);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') { io.out(USAGE); return 0; }
    if (!command) throw new CliError(`missing command\n\n${USAGE}`, 2);
    const endpoint = values.endpoint ?? env.CBR_FLOW_URL ?? DEFAULT_ENDPOINT;
    const api = new ApiClient(endpoint, { webhookKeys: command === 'run' ? webhookKeysFor(values, env, endpoint) : undefined });
    const runIdArg = (): string => {
      if (rest.length !== 1 || !rest[0]) throw new CliError(`${command}: expected exactly one <runId>, got ${rest.length}`, 2);
      if (!/^[0-9a-fA-F-]{36}$/.test(rest[0])) throw new CliError(`${command}: "${rest[0]}" is not a run id (a UUID)`, 2);
      return rest[0];
    };
    const watch = async (runId: string): Promise<number> => {
      const run = await watchRun(api, runId, {
        intervalMs: (positiveNumber('interval', values.interval, 1) ?? 1) * 1000,
        timeoutMs: values.timeout === undefined ? undefined : (positiveNumber('timeout', values.timeout, undefined) ?? 0) * 1000,
        onEvent: io.out,
      });
      const took = run.finishedAt && run.createdAt ? ` in ${seconds(run.finishedAt - run.createdAt)}` : '';
      const why = run.reason ?? run.lastError?.message;
      io.out(`run ${run.runId} ${run.state}${took}${run.state !== 'COMPLETED' && why ? `: ${why}` : ''}`);
      return run.state === 'COMPLETED' ? 0 : 1;
    };
    switch (command) {
      case 'run': {
        if (rest.length > 0) throw new CliError(`run: unexpected argument "${rest[0]}"`, 2);
        const accepted = await api.startRun(buildRunRequest(values, io.readStdin));
        io.out(values.json ? JSON.stringify(accepted) : `run ${accepted.runId} accepted${accepted.statusUrl ? `; status: ${accepted.statusUrl}` : ''}`);
        return values.watch ? watch(accepted.runId) : 0;
      }
      case 'status': {
        const run = await api.getRun(runIdArg());
        io.out(values.json ? JSON.stringify(run, null, 2) : formatRun(run));
        return 0;
      }
      case 'watch':
        return await watch(runIdArg());
      case 'list': {
        if (rest.length > 0) throw new CliError(`list: unexpected argument "${rest[0]}"`, 2);
        const runs = await api.listRuns(positiveNumber('limit', values.limit, 20, true) ?? 20);
        if (values.json) io.out(JSON.stringify(runs, null, 2));
        else if (runs.length === 0) io.out('no runs yet');
        else {
          for (const r of runs) {
            const when = r.createdAt ? new Date(r.createdAt).toISOString() : ''.padEnd(24);
            io.out(`${r.runId}  ${r.state.padEnd(9)}  ${(r.step ?? '').padEnd(16)}  ${when}`);
          }
        }
        return 0;
      }
      default:
        throw new CliError(`unknown command "${command}"; commands: run, status, watch, list (see --help)`, 2);
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`cbr-flow: ${err.message}`);
      return err.exitCode;
    }
    io.err(`cbr-flow: unexpected error: ${(err as Error).stack ?? String(err)}`);
    return 70;
  }
}
