/** The CLI's flags, usage text and commands (run, status, watch, list). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RunRequest } from '../../lib/contracts/run-request';
import { readLocalIssuer } from '../jwt-issuer';
import { parseWebhookKeys, readLocalWebhookKeys } from '../webhook-keys';
import { ApiClient, CliError, DEFAULT_ENDPOINT } from './client';
import { formatRun, seconds } from './format';
import { watchRun } from './watch';

export const USAGE = `Usage: cbr-flow <command> [options]

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
  --token-file <f>         bearer token (JWT) for status, watch and list; default $CBR_FLOW_TOKEN,
                           else for a loopback endpoint one minted by the local stack's issuer
  --json                   print raw JSON (run, status, list)
  --interval <s>           watch poll interval (default 1)
  --timeout <s>            watch gives up after this long (exit 4)
  --limit <n>              list size (default 20)
  -h, --help               this help

Exit codes: 0 ok/COMPLETED, 1 FAILED/EXPIRED/PARTIAL, 2 bad input, 3 endpoint unreachable or 5xx, 4 watch timeout.`;

export const OPTIONS = {
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
  'token-file': { type: 'string' },
  'json': { type: 'boolean' },
  'interval': { type: 'string' },
  'timeout': { type: 'string' },
  'limit': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

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
  if (isLoopback(endpoint)) return keysOrExit(() => readLocalWebhookKeys());
  return undefined;
}

function isLoopback(endpoint: string): boolean {
  let host = '';
  try { host = new URL(endpoint).hostname; } catch { /* ApiClient reports a bad endpoint */ }
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/**
 * The bearer token for reads: `--token-file`, else $CBR_FLOW_TOKEN, else — for a loopback endpoint —
 * a 5-minute token for every project minted with the local stack's issuer (.data/jwt-issuer.json).
 * Like the webhook keys, never an argv value. Undefined = send none (the API answers 401).
 */
export async function bearerTokenFor(values: Pick<Values, 'token-file'>, env: Record<string, string | undefined>, endpoint: string): Promise<string | undefined> {
  const file = values['token-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new CliError(`--token-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 2, { cause: err });
    }
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(text)) throw new CliError(`--token-file: ${file} does not hold a JWT (three base64url parts separated by dots)`, 2);
    return text;
  }
  if (env.CBR_FLOW_TOKEN) return env.CBR_FLOW_TOKEN.trim();
  if (!isLoopback(endpoint)) return undefined;
  try {
    const issuer = await readLocalIssuer();
    return await issuer?.mint({ sub: 'cbr-flow-cli', projects: '*' }, 300);
  } catch (err) {
    throw new CliError((err as Error).message, 2, { cause: err });
  }
}

function keysOrExit(read: () => string[] | undefined): string[] | undefined {
  try {
    return read();
  } catch (err) {
    throw new CliError((err as Error).message, 2, { cause: err });
  }
}

export interface Io { out(line: string): void; err(line: string): void; readStdin(): string }

/** Runs one parsed command; CliError for anything the user should see (exit code on the error). */
export async function runCommand(command: string, rest: string[], values: Values, env: Record<string, string | undefined>, io: Io): Promise<number> {
  const endpoint = values.endpoint ?? env.CBR_FLOW_URL ?? DEFAULT_ENDPOINT;
  const reads = command !== 'run' || values.watch === true;
  const api = new ApiClient(endpoint, {
    webhookKeys: command === 'run' ? webhookKeysFor(values, env, endpoint) : undefined,
    bearerToken: reads ? await bearerTokenFor(values, env, endpoint) : undefined,
  });
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
}
