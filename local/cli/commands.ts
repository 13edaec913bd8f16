/** The CLI's flags, usage text and commands (run, status, watch, list). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RunRequest } from '../../lib/contracts/run-request';
import { readLocalIssuer } from '../jwt-issuer';
import { DEFAULT_DATA_DIR, parseWebhookKeys, readLocalWebhookKeys } from '../webhook-keys';
import { ApiClient, CliError, DEFAULT_ENDPOINT, STACK_FILE } from './client';
import { formatRun, seconds } from './format';
import { watchRun } from './watch';
import { listDlqs, redriveDlqs, type DlqTarget } from './dlq';
import { planPreview } from './plans';
import { holdCommand, holdsCommand, releaseCommand, retentionCommand } from './retention';
import { formatRestore, restoreCommand } from './restore';

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
  'max-age': { type: 'string' },
  'wait': { type: 'boolean' },
  'endpoint': { type: 'string' },
  'webhook-key-file': { type: 'string' },
  'no-auth': { type: 'boolean' },
  'token-file': { type: 'string' },
  'json': { type: 'boolean' },
  'interval': { type: 'string' },
  'timeout': { type: 'string' },
  'limit': { type: 'string' },
  'state': { type: 'string' },
  'plan': { type: 'string' },
  'since': { type: 'string' },
  'cursor': { type: 'string' },
  'status': { type: 'string' },
  'plans-file': { type: 'string' },
  'firings': { type: 'string' },
  'reconnect': { type: 'string' },
  'stage': { type: 'string' },
  'sqs-endpoint': { type: 'string' },
  'orphaned': { type: 'boolean' },
  'delete': { type: 'string' },
  'force': { type: 'boolean' },
  'yes': { type: 'boolean', short: 'y' },
  'backup': { type: 'string' },
  'run': { type: 'string' },
  'reason': { type: 'string' },
  'all': { type: 'boolean' },
  'resource': { type: 'string' },
  'target': { type: 'string' },
  'power-on': { type: 'boolean' },
  'confirm': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

type Flag = keyof typeof OPTIONS;

/** Each flag's help line. */
const FLAG_HELP: Record<Flag, string> = {
  'file': '--file, -f <path>        the run request as JSON (the body of POST /runs; "-" for stdin)',
  'project': '--project <id>           source project id (32 hex)',
  'region': '--region <region>        CBR region (default: the deployment\'s)',
  'vault': '--vault <name>           vault to use, created (pay-per-use) if missing; needs --vault-size',
  'vault-size': '--vault-size <GB>        capacity in GB of a vault created by --vault (10 or more)',
  'reuse-vault': '--reuse-vault <name>     use an existing vault; the run fails if it does not exist',
  'server': '--server <id>            a server to back up (repeat for more)',
  'volume': '--volume <id>            a disk to back up (repeat for more)',
  'share': '--share <projectId>      share every server backup with this project (repeat for more)',
  'checkpoint-name': '--checkpoint-name <s>    checkpoint name prefix (default cbrflow)',
  'full': '--full                   full backup instead of incremental',
  'window': '--window <minutes>       completion window in minutes (default 240)',
  'notify-url': '--notify-url <url>       where to POST the run-finished notification',
  'watch': '--watch                  follow the run after starting it',
  'max-age': '--max-age <age>          how old the newest available backup may be: 30m, 2h, 1d (or minutes)',
  'wait': '--wait                   when a run is started (or joined), follow it; exit 0 only when COMPLETED',
  'endpoint': `--endpoint <url>         API base URL (default $CBR_FLOW_URL or ${DEFAULT_ENDPOINT})`,
  'webhook-key-file': '--webhook-key-file <f>   sign POST /runs with this key (a whsec_ key, or ["whsec_..."]); default\n                           $CBR_FLOW_WEBHOOK_KEY, else the local stack\'s .data/webhook-keys.json',
  'no-auth': '--no-auth                send POST /runs unsigned (a local stack started with --no-auth)',
  'token-file': '--token-file <f>         bearer token (JWT) for the API\'s reads and run actions; default\n                           $CBR_FLOW_TOKEN, else for a loopback endpoint one minted by the local stack\'s issuer',
  'json': '--json                   print the API\'s answer exactly as it came (the raw body)',
  'interval': '--interval <s>           poll interval in seconds (default 1)',
  'timeout': '--timeout <s>            give up after this many seconds (exit 4)',
  'limit': '--limit <n>              how many runs (default 20; more than 100 is fetched page by page)',
  'state': '--state <S[,S]>          only runs in these states (PENDING, RUNNING, COMPLETED, PARTIAL, FAILED, EXPIRED)',
  'plan': '--plan <name>            only runs a schedule plan of this name started',
  'since': '--since <when>           only runs created since: an ISO date-time, or an age like 30m, 1h, 2d, 1w',
  'reconnect': '--reconnect <s>           while the API is unreachable, keep trying this many seconds (default 120), then exit 3',
  'stage': '--stage <stage>          the deployed stage (AWS: default credential chain, AWS_REGION or --region)',
  'sqs-endpoint': '--sqs-endpoint <url>     an SQS endpoint (default: the running local stack\'s, from its stack.json)',
  'cursor': '--cursor <token>         continue after the page that printed this token',
  'plans-file': '--plans-file <path>       the plans file (default plans/plans.yml)',
  'firings': '--firings <n>            how many next firings to show (default 5)',
  'status': '--status <s[,s]>         only resources in these states (protected, unprotected, stale, share-missing,\n                           missing, deleted); the counts stay whole',
  'orphaned': '--orphaned               vaults cbr-flow created for runs that then failed, used by no later run',
  'delete': '--delete <vaultId>       delete one orphaned vault (asks y/N on a terminal)',
  'force': '--force                  with --delete: delete it even if it still holds resources or backups',
  'yes': '--yes, -y                with --delete: do not ask (required when stdin is not a terminal)',
  'backup': '--backup <backupId>      hold: this one backup; restore: the (server) backup to restore (both with --project)',
  'run': '--run <runId>            hold: every backup of this run; restore: the backup it made of --resource',
  'reason': '--reason <text>          why (recorded with your token\'s subject and the time)',
  'all': '--all                    released holds too',
  'resource': '--resource <serverId>    with --run: the server whose backup (from that run) is restored',
  'target': '--target <serverId>      the server whose disks are overwritten',
  'power-on': '--power-on               start the server after the restore (default: leave it off)',
  'confirm': '--confirm <serverId>     needed when --target is not a declared drill target: repeat its id',
  'help': '-h, --help               this help',
};

const COMMON: readonly Flag[] = ['endpoint', 'token-file', 'json', 'help'];
const RUN_FLAGS = ['project', 'region', 'vault', 'vault-size', 'reuse-vault', 'server', 'volume', 'share', 'checkpoint-name', 'full', 'window', 'notify-url'] as const;

interface CommandSpec { args: string; summary: string; flags: readonly Flag[]; more?: string }

const COMMANDS: Record<string, CommandSpec> = {
  run: {
    args: '[--file <path> | flags]',
    summary: 'Start a backup run: from a JSON file (--file, "-" for stdin) or from flags',
    flags: ['file', ...RUN_FLAGS, 'watch', 'interval', 'timeout', 'reconnect', 'webhook-key-file', 'no-auth'],
  },
  status: { args: '<runId | restoreId>', summary: 'Show a run (state, current step, timeline, last error) or a restore (state, disks, timeline)', flags: [] },
  restore: {
    args: '--backup <id> --project <p> | --run <id> --resource <id>, --target <server>',
    summary: 'Restore one backup onto a server (overwrites its disks); --wait follows it until it ends',
    flags: ['backup', 'project', 'region', 'run', 'resource', 'target', 'power-on', 'confirm', 'wait', 'interval', 'timeout'],
    more: 'POST /restores. A target that is not a declared drill target (DRILL_TARGETS) is refused unless --confirm repeats\nits id. The same command again finds the same restore (it never restores twice). --wait exits 0 only when\nthe restore COMPLETED (1 FAILED/EXPIRED, 4 --timeout).',
  },
  watch: {
    args: '<runId>',
    summary: 'Follow a run live until it ends (exit 0 only when COMPLETED); says how long while waiting',
    flags: ['interval', 'timeout', 'reconnect'],
  },
  cancel: {
    args: '<runId>',
    summary: 'Stop a PENDING or RUNNING run: it ends FAILED "cancelled by <you>" (again: no change)',
    flags: [],
  },
  retry: {
    args: '<runId>',
    summary: 'Start a new run from the request of a FAILED, EXPIRED or PARTIAL run (linked both ways)',
    flags: ['watch', 'interval', 'timeout', 'reconnect'],
  },
  dlq: {
    args: 'list | redrive [queue]',
    summary: 'Dead-letter queues: each with its depth; redrive moves messages back to their queue',
    flags: ['stage', 'sqs-endpoint', 'region'],
    more: 'Straight on SQS, not through the API: on AWS with --stage (queues cbr-flow-<stage>-<queue>-dlq), locally\nwith the stack\'s SQS. `redrive` without a queue redrives every DLQ holding messages; the schedules DLQ is\nlisted only (plan-firing-failed consumes it).',
  },
  vaults: {
    args: '[--orphaned | --delete <vaultId>]',
    summary: 'Vaults the runs used: size, used GB, when each fills; --orphaned: left by failed runs; --delete one',
    flags: ['orphaned', 'delete', 'force', 'yes', 'project', 'region'],
    more: 'Without a flag: every vault the recent runs used, with CBR\'s size and used capacity (GB) and a forecast\n("fills in N days" at the pace of its last 30 days of backups, "never" when not growing).\n--project and --region filter the lists. --delete asks for confirmation on a terminal; without one\n(a script, a pipe) it refuses unless --yes is given. Only an orphan is deleted, and only while it holds\nno resource and no backup unless --force.',
  },
  list: {
    args: '[filters]',
    summary: 'Runs, newest first, with filters; pages past 100 are fetched as needed',
    flags: ['state', 'project', 'plan', 'since', 'limit', 'cursor'],
    more: 'Without --since, the API looks back 14 days.',
  },
  coverage: {
    args: '[--project <id>] [--status <s[,s]>]',
    summary: 'Each configured project\'s servers and disks: protected, in no vault, or without a backup within the RPO',
    flags: ['project', 'status'],
    more: 'Read from CBR\'s protectable listing, the backup plans and the runs\' records (GET /coverage). A backup made\noutside cbr-flow is not seen. Configured projects: COVERAGE_PROJECTS and the plans\' own.',
  },
  'ensure-fresh': {
    args: '--project <id> --server <id>... --max-age <age>',
    summary: 'Exit 0 when every server has an available backup younger than --max-age; else start (or join) a run',
    flags: ['project', 'region', 'server', 'volume', 'max-age', 'vault', 'vault-size', 'wait', 'interval', 'timeout', 'reconnect'],
    more: 'POST /gates/fresh-backup. Fresh: prints each backup\'s age, exit 0. Stale: a run of the servers is started (or\nthe one already under way for them joined) into --vault (an existing vault; with --vault-size created if\nmissing); without --wait exit 1 naming the run, with --wait exit as `watch` does.',
  },
  hold: {
    args: '--backup <id> --project <id> --reason <text> | --run <runId> --reason <text>',
    summary: 'Keep a backup (or every backup of a run) whatever the retention rules say, until released',
    flags: ['backup', 'project', 'run', 'reason'],
    more: 'POST /holds. Prints the hold id that `release` takes. A held backup is kept and still counts for the rules.',
  },
  release: {
    args: '<holdId> [--reason <text>]',
    summary: 'Release a hold: its backups are subject to the retention rules again (the hold stays, released)',
    flags: ['reason'],
  },
  holds: {
    args: '[--all]',
    summary: 'The active holds of your token\'s projects (--all: released ones too)',
    flags: ['all'],
  },
  retention: {
    args: 'preview | ledger [--plan <name>]',
    summary: 'preview: what the next retention sweep deletes and keeps, and why; ledger: what the sweeps deleted',
    flags: ['plan'],
    more: 'GET /retention/preview and GET /retention/ledger, for the vaults of --plan (default: every vault with rules).\nThe preview lists the same backups the sweep would delete, each with the rules that let it go; backups\ncbr-flow did not make (foreign) are counted, never touched.',
  },
  plans: {
    args: 'preview <plan>',
    summary: 'What a plan would back up now (its select applied to GET /coverage) and its next firings',
    flags: ['plans-file', 'firings'],
    more: 'Firings are shown in the plan\'s time zone and in UTC. A plan that lists its resources needs no API call.',
  },
};

const EXIT_CODES = 'Exit codes: 0 ok/COMPLETED/fresh, 1 FAILED/EXPIRED/PARTIAL (ensure-fresh without --wait: not fresh), 2 bad input, 3 endpoint unreachable or 5xx, 4 watch timeout.';

function flagLines(flags: readonly Flag[]): string {
  return flags.map((f) => `  ${FLAG_HELP[f]}`).join('\n');
}

/** The help of one command: its arguments and every flag it takes. */
export function commandUsage(command: string): string {
  const spec = COMMANDS[command]!;
  return [
    `Usage: cbr-flow ${command} ${spec.args}`,
    '',
    spec.summary,
    '',
    'Flags:',
    flagLines(spec.flags),
    '',
    'Common:',
    flagLines(COMMON),
    ...(spec.more ? ['', spec.more] : []),
    '',
    EXIT_CODES,
  ].join('\n');
}

export const USAGE = `Usage: cbr-flow <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.args.startsWith('<') ? `${c.args}  ` : ''}${c.summary}`).join('\n')}

Run \`cbr-flow <command> --help\` for a command's flags.

Common:
${flagLines(COMMON)}

${EXIT_CODES}`;

export function isCommand(command: string): boolean {
  return Object.hasOwn(COMMANDS, command);
}

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function positiveNumber(flag: string, value: string | undefined, fallback: number | undefined, integer = false, unit = ''): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new CliError(`--${flag}: "${value}" is not a positive ${integer ? 'integer' : 'number'}${unit ? ` (${unit})` : ''}`, 2);
  }
  return n;
}


/**
 * How a field of the run request (`vault.billing.size`, `resources[1].id`, as zod or the API name it)
 * reads to a user who built the request from flags: the flag, the value typed, and the unit.
 */
export function flagOfField(values: Values): (field: string) => string {
  const servers = values.server ?? [];
  const volumes = values.volume ?? [];
  return (field) => {
    const path = field.replace(/\[(\d+)\]/g, '.$1').replace(/^body\./, '').split('.');
    const [head, second, third] = path;
    const typed = (flag: string, value: unknown, unit = '') => `${flag}${value !== undefined ? ` "${String(value)}"` : ''}${unit ? ` (${unit})` : ''}`;
    switch (head) {
      case 'projectId': return typed('--project', values.project);
      case 'region': return typed('--region', values.region);
      case 'vault':
        if (second === 'billing') return typed('--vault-size', values['vault-size'], 'GB');
        return values['reuse-vault'] !== undefined ? typed('--reuse-vault', values['reuse-vault']) : typed('--vault', values.vault);
      case 'resources': {
        if (second === undefined || !/^\d+$/.test(second)) return '--server/--volume';
        const i = Number(second);
        return i < servers.length ? typed('--server', servers[i]) : typed('--volume', volumes[i - servers.length]);
      }
      case 'shareWith': return second !== undefined && /^\d+$/.test(second) ? typed('--share', values.share?.[Number(second)]) : '--share';
      case 'checkpoint': return third === undefined && second === 'incremental' ? '--full' : typed('--checkpoint-name', values['checkpoint-name']);
      case 'completionWindowMinutes': return typed('--window', values.window, 'minutes');
      case 'notifyUrl': return '--notify-url';
      default: return field;
    }
  };
}

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
      vault = { mode: 'create', name: values.vault, billing: { chargingMode: 'post_paid', size: positiveNumber('vault-size', values['vault-size'], undefined, true, 'GB') } };
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
      ...(values.window !== undefined ? { completionWindowMinutes: positiveNumber('window', values.window, undefined, true, 'minutes') } : {}),
      ...(values['notify-url'] !== undefined ? { notifyUrl: values['notify-url'] } : {}),
    };
  }
  const parsed = RunRequest.safeParse(request);
  if (!parsed.success) {
    // From --file the user wrote the JSON, so its paths are what they typed; from flags, the flags are.
    const label = values.file !== undefined ? (f: string) => f : flagOfField(values);
    const lines = parsed.error.issues.map((i) => `  - ${i.path.length > 0 ? label(i.path.join('.')) : '(request)'}: ${i.message}`);
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

export interface Io {
  out(line: string): void;
  err(line: string): void;
  readStdin(): string;
  /** Whether stdin is a terminal a person can answer a question on (default: not). */
  isTTY?: boolean;
  /** Asks `question` on the terminal and resolves with the answer line. */
  ask?(question: string): Promise<string>;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** --since: an ISO date(-time) or an age (30m, 1h, 2d, 1w) back from `now`; ISO 8601 for the API. */
export function sinceOf(value: string | undefined, now: number): string | undefined {
  if (value === undefined) return undefined;
  const age = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (age) return new Date(now - Number(age[1]) * UNIT_MS[age[2]!]!).toISOString();
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) throw new CliError(`--since: "${value}" is neither an ISO date-time (2026-01-31T08:00:00Z) nor an age like 30m, 1h, 2d or 1w`, 2);
  return new Date(at).toISOString();
}

const LIST_PAGE = 100;

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width + 1);
}

/** `list`: a header and one line per run; follows the API's pages until --limit runs are shown. */
async function listCommand(api: ApiClient, values: Values, io: Io): Promise<number> {
  const want = positiveNumber('limit', values.limit, 20, true) ?? 20;
  const filters = { state: values.state, project: values.project, plan: values.plan, since: sinceOf(values.since, Date.now()) };
  let cursor = values.cursor;
  let shown = 0;
  let header = false;
  do {
    const page = await api.listRuns({ limit: Math.min(LIST_PAGE, want - shown), ...filters, cursor });
    cursor = page.nextCursor;
    if (values.json) io.out(page.raw); // one raw answer per page requested
    else {
      for (const r of page.runs.slice(0, want - shown)) {
        if (!header) {
          io.out(`${pad('RUN ID', 36)}${pad('STATE', 9)}${pad('STEP', 16)}${pad('CREATED (UTC)', 20)}${pad('PROJECT', 32)}PLAN`);
          header = true;
        }
        const when = r.createdAt ? new Date(r.createdAt).toISOString().slice(0, 19).replace('T', ' ') : '';
        const project = typeof r.projectId === 'string' ? r.projectId : '';
        const plan = typeof r.plan === 'string' ? r.plan : '';
        io.out(`${pad(r.runId, 36)}${pad(r.state, 9)}${pad(r.step ?? '', 16)}${pad(when, 20)}${pad(project, 32)}${plan}`.trimEnd());
      }
    }
    shown += page.runs.length;
  } while (cursor && shown < want);
  if (!values.json) {
    if (!header) io.out(values.state || values.project || values.plan || values.since || values.cursor ? 'no runs match' : 'no runs yet');
    if (cursor) io.out(`more: cbr-flow list --cursor ${cursor} (with the same filters), or a larger --limit`);
  }
  return 0;
}

const utc = (value: unknown): string => (typeof value === 'string' && value ? value.slice(0, 19).replace('T', ' ') : '');
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** `vaults --orphaned`: a header and one line per orphan (or the API's raw answer). */
async function orphanedCommand(api: ApiClient, values: Values, io: Io): Promise<number> {
  const { vaults, raw } = await api.listOrphanedVaults({ projectId: values.project, region: values.region });
  if (values.json) { io.out(raw); return 0; }
  if (vaults.length === 0) { io.out(values.project || values.region ? 'no orphaned vault matches' : 'no orphaned vaults'); return 0; }
  io.out(`${pad('VAULT ID', 36)}${pad('NAME', 24)}${pad('PROJECT', 32)}${pad('REGION', 14)}${pad('RUN', 36)}${pad('STATE', 7)}${pad('CREATED (UTC)', 19)}REASON`);
  for (const v of vaults) {
    io.out(`${pad(v.vaultId, 36)}${pad(v.vaultName, 24)}${pad(v.projectId, 32)}${pad(v.region, 14)}${pad(v.runId, 36)}${pad(v.state, 7)}${pad(utc(v.createdAt), 19)}${text(v.reason)}`.trimEnd());
  }
  io.out(`${vaults.length} orphaned vault(s); delete one with \`cbr-flow vaults --delete <vaultId>\``);
  return 0;
}

/** `vaults --delete <id>`: shows the orphan, asks y/N on a terminal (or needs --yes), then DELETE /vaults/{id}. */
async function deleteVaultCommand(api: ApiClient, vaultId: string, values: Values, io: Io): Promise<number> {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(vaultId)) {
    throw new CliError(`--delete: "${vaultId}" is not a vault id (a UUID, as \`cbr-flow vaults --orphaned\` prints it)`, 2);
  }
  const orphan = (await api.listOrphanedVaults({})).vaults.find((v) => v.vaultId === vaultId);
  if (!orphan) {
    throw new CliError(`--delete: vault ${vaultId} is not an orphaned vault of cbr-flow (created by a run that failed or expired and used by no later run) in the projects your token may act on; list them with \`cbr-flow vaults --orphaned\``, 2);
  }
  if (!values.yes) {
    if (!io.isTTY || !io.ask) {
      throw new CliError(`--delete: stdin is not a terminal, so cbr-flow cannot ask before deleting vault ${vaultId}; pass --yes to delete it without asking`, 2);
    }
    io.err(`vault ${vaultId} "${orphan.vaultName}" (project ${orphan.projectId}, ${orphan.region}) was created by run ${orphan.runId}, which ended ${orphan.state}${orphan.reason ? `: ${orphan.reason}` : ''}`);
    const answer = await io.ask(`Delete vault ${vaultId}${values.force ? ' with any resources and backups it holds' : ''}? This cannot be undone. [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) { io.out(`vault ${vaultId} kept (not confirmed)`); return 0; }
  }
  const { json, raw } = await api.deleteVault(vaultId, values.force === true);
  if (values.json) { io.out(raw); return 0; }
  io.out(json.deleted === false
    ? `vault ${vaultId} was already gone from CBR: nothing deleted`
    : `vault ${vaultId} "${orphan.vaultName}" deleted${json.resources || json.backups ? ` (with ${String(json.resources)} resource(s) and its backups)` : ''}`);
  return 0;
}

async function vaultsCommand(api: ApiClient, rest: string[], values: Values, io: Io): Promise<number> {
  if (rest.length > 0) throw new CliError(`vaults: unexpected argument "${rest[0]}"${values.delete === undefined ? ' (to delete a vault: --delete <vaultId>)' : ''}`, 2);
  if (values.delete !== undefined) {
    const extra = (['orphaned', 'project', 'region'] as const).filter((f) => values[f] !== undefined);
    if (extra.length > 0) throw new CliError(`vaults --delete cannot be combined with ${extra.map((f) => `--${f}`).join(', ')}`, 2);
    return await deleteVaultCommand(api, values.delete, values, io);
  }
  const only = (['force', 'yes'] as const).filter((f) => values[f] !== undefined);
  if (only.length > 0) throw new CliError(`vaults: ${only.map((f) => `--${f}`).join(', ')} only go with --delete <vaultId>`, 2);
  if (values.orphaned) return await orphanedCommand(api, values, io);
  return await capacityCommand(api, values, io);
}

const gb = (v: number | null | undefined): string => (typeof v === 'number' ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '?');

/** `vaults`: the vaults the runs used, with CBR's size and used capacity (GB) and when each fills. */
async function capacityCommand(api: ApiClient, values: Values, io: Io): Promise<number> {
  const answer = await api.listVaults({ projectId: values.project });
  if (values.json) { io.out(answer.raw); return 0; }
  const vaults = answer.vaults.filter((v) => values.region === undefined || v.region === values.region);
  if (vaults.length === 0) { io.out(values.project || values.region ? 'no vault matches' : 'no vaults used by runs yet'); return 0; }
  io.out(`${pad('VAULT ID', 36)}${pad('NAME', 24)}${pad('PROJECT', 32)}${pad('REGION', 14)}${pad('RUNS', 4)}${pad('SIZE GB', 7)}${pad('USED GB', 7)}FORECAST`);
  for (const v of vaults) {
    io.out(`${pad(v.vaultId, 36)}${pad(v.vaultName, 24)}${pad(v.projectId, 32)}${pad(v.region, 14)}${pad(String(v.runs), 4)}${pad(gb(v.sizeGb), 7)}${pad(gb(v.usedGb), 7)}${v.forecast}`);
  }
  if (!answer.complete) io.out('some vaults were not read within the API\'s time limit: run the command again, or narrow it with --project');
  return 0;
}

/** The SQS a `dlq` command talks to: --sqs-endpoint, --stage (AWS), or the running local stack's (its data folder's stack.json). */
export function dlqTargetOf(values: Values, dataDir = DEFAULT_DATA_DIR): DlqTarget {
  const region = values.region;
  if (values['sqs-endpoint'] !== undefined) {
    try { new URL(values['sqs-endpoint']); } catch { throw new CliError(`--sqs-endpoint: "${values['sqs-endpoint']}" is not a URL (e.g. http://127.0.0.1:9324)`, 2); }
    return { stage: values.stage ?? 'local', endpoint: values['sqs-endpoint'], region };
  }
  if (values.stage !== undefined) {
    if (!/^[a-zA-Z0-9-]+$/.test(values.stage)) throw new CliError(`--stage: "${values.stage}" is not a stage name (letters, digits, -)`, 2);
    return { stage: values.stage, region };
  }
  let sqs: unknown;
  try {
    sqs = (JSON.parse(readFileSync(join(dataDir, STACK_FILE), 'utf8')) as { sqsEndpoint?: unknown }).sqsEndpoint;
  } catch { /* no running local stack */ }
  if (typeof sqs !== 'string') {
    throw new CliError(`dlq: no running local stack in ${dataDir} (start it with \`npm start -- --serve\`), or pass --stage <stage> for AWS or --sqs-endpoint <url>`, 2);
  }
  return { stage: 'local', endpoint: sqs, region };
}

async function dlqCommand(rest: string[], values: Values, io: Io): Promise<number> {
  const [sub, queue, ...extra] = rest;
  if (sub !== 'list' && sub !== 'redrive') throw new CliError(`dlq: expected \`dlq list\` or \`dlq redrive [queue]\`, got ${sub ? `"${sub}"` : 'nothing'}`, 2);
  if (extra.length > 0 || (sub === 'list' && queue !== undefined)) throw new CliError(`dlq ${sub}: unexpected argument "${extra[0] ?? queue}"`, 2);
  const target = dlqTargetOf(values);
  if (sub === 'list') {
    const dlqs = await listDlqs(target);
    if (values.json) { io.out(JSON.stringify({ stage: target.stage, dlqs: dlqs.map(({ name, source, depth }) => ({ name, source, depth: depth ?? null })) })); return 0; }
    io.out(`${pad('DEAD-LETTER QUEUE', 34)}${pad('MESSAGES', 8)}REDRIVES TO`);
    for (const d of dlqs) io.out(`${pad(d.name, 34)}${pad(d.depth === undefined ? 'missing' : String(d.depth), 8)}${d.source ?? '(none: plan-firing-failed consumes it)'}`.trimEnd());
    return 0;
  }
  const moved = await redriveDlqs(target, queue);
  if (values.json) { io.out(JSON.stringify({ stage: target.stage, redriven: moved })); return 0; }
  if (moved.length === 0) io.out('no dead-letter queue holds messages: nothing to redrive');
  for (const m of moved) {
    io.out(m.depth === 0 ? `${m.name} is empty: nothing to redrive` : `${m.name}: moving ${m.depth} message(s) back to ${m.source}${m.taskHandle ? ` (task ${m.taskHandle.slice(0, 40)})` : ''}`);
  }
  return 0;
}

/** Runs one parsed command; CliError for anything the user should see (exit code on the error). */
/** `--max-age`: `30m`, `2h`, `1d`, or a bare number of minutes -> whole minutes. */
export function maxAgeMinutesOf(value: string | undefined): number {
  if (value === undefined) throw new CliError('--max-age is required: how old the newest backup may be, e.g. --max-age 30m', 2);
  const m = /^(\d+(?:\.\d+)?)\s*(m|min|h|d)?$/i.exec(value.trim());
  const n = m ? Number(m[1]) * ({ m: 1, min: 1, h: 60, d: 1440 }[(m[2] ?? 'm').toLowerCase() as 'm' | 'min' | 'h' | 'd']) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--max-age: "${value}" is not an age of whole minutes such as 30m, 2h or 1d`, 2);
  return n;
}

function ageText(minutes: number): string {
  if (minutes < 60) return `${minutes}m`;
  const h = Math.floor(minutes / 60);
  return h < 48 ? `${h}h${String(minutes % 60).padStart(2, '0')}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

/** `ensure-fresh`: the freshness gate; with --wait, follows the run it started or joined. */
async function ensureFreshCommand(api: ApiClient, values: Values, io: Io, watch: (runId: string) => Promise<number>): Promise<number> {
  const maxAgeMinutes = maxAgeMinutesOf(values['max-age']);
  const servers = values.server ?? [];
  const volumes = values.volume ?? [];
  if (servers.length + volumes.length === 0) throw new CliError('ensure-fresh: give at least one --server <id> (or --volume <id>)', 2);
  const size = positiveNumber('vault-size', values['vault-size'], undefined, true, 'GB');
  if (size !== undefined && values.vault === undefined) throw new CliError('--vault-size needs --vault <name>', 2);
  const body = {
    projectId: values.project,
    ...(values.region ? { region: values.region } : {}),
    resources: [...servers.map((id) => ({ id, type: 'OS::Nova::Server' })), ...volumes.map((id) => ({ id, type: 'OS::Cinder::Volume' }))],
    maxAgeMinutes,
    ...(values.vault === undefined ? {} : size === undefined
      ? { vault: { mode: 'reuse', name: values.vault } }
      : { vault: { mode: 'create', name: values.vault, billing: { chargingMode: 'post_paid', size } } }),
  };
  const label = (field: string): string => {
    if (field.startsWith('vault')) return field.includes('size') ? '--vault-size' : '--vault';
    if (field === 'maxAgeMinutes') return '--max-age';
    if (field === 'projectId') return '--project';
    if (field.startsWith('resources')) return '--server/--volume';
    return flagOfField(values)(field);
  };
  const { answer, raw } = await api.freshGate(body, label);
  if (values.json) io.out(raw);
  else {
    for (const r of answer.resources) {
      io.out(`${r.fresh ? 'fresh' : 'stale'}  ${r.id}  ${r.backupId ? `backup ${r.backupId} ${ageText(r.ageMinutes ?? 0)} old (${r.backupCreatedAt})` : 'no available backup'}`);
    }
  }
  if (answer.fresh) {
    if (!values.json) io.out(`fresh: every resource has an available backup younger than ${ageText(maxAgeMinutes)}`);
    return 0;
  }
  const runId = answer.runId!;
  if (!values.json) io.out(`not fresh: run ${runId} ${answer.created === false ? 'already under way, joined' : 'started'}${answer.statusUrl ? `; status: ${answer.statusUrl}` : ''}`);
  if (!values.wait) {
    if (!values.json) io.err(`cbr-flow: not fresh (older than ${ageText(maxAgeMinutes)}): run ${runId} makes new backups; add --wait to follow it`);
    return 1;
  }
  return await watch(runId);
}

/** `coverage`: per project a summary line, then a header and one line per resource (worst first). */
async function coverageCommand(api: ApiClient, values: Values, io: Io): Promise<number> {
  if (values.project !== undefined && !/^[0-9a-f]{32}$/.test(values.project)) {
    throw new CliError(`--project: "${values.project}" is not a project id (32 lowercase hex characters)`, 2);
  }
  const { coverage, raw } = await api.getCoverage({ project: values.project, status: values.status });
  if (values.json) {
    io.out(raw);
    return 0;
  }
  if (coverage.projects.length === 0) {
    io.out(values.project ? `project ${values.project} is not configured for coverage, or your token may not read it` : 'no configured project your token may read (COVERAGE_PROJECTS, plans)');
    return 0;
  }
  const order = ['missing', 'unprotected', 'stale', 'share-missing', 'protected', 'deleted'];
  for (const p of coverage.projects) {
    if (p.error) {
      io.out(`project ${p.projectId} (${p.region}): not read: ${p.error.name}: ${p.error.message}`);
      continue;
    }
    const c = p.counts;
    io.out(`project ${p.projectId} (${p.region}): ${c.total ?? 0} resources: ${c.protected ?? 0} protected, ${c.unprotected ?? 0} unprotected, ${c.stale ?? 0} stale, ${c['share-missing'] ?? 0} share missing, ${c.missing ?? 0} missing, ${c.deleted ?? 0} deleted`);
    if (p.resources.length === 0) continue;
    io.out(`${pad('STATUS', 13)}${pad('TYPE', 6)}${pad('ID', 36)}${pad('NAME', 16)}${pad('VAULT', 16)}${pad('LAST BACKUP (UTC)', 19)}${pad('RPO', 5)}REASON`);
    const rank = (s: string) => (order.indexOf(s) < 0 ? order.length : order.indexOf(s));
    for (const r of [...p.resources].sort((a, b) => rank(a.status) - rank(b.status) || a.name.localeCompare(b.name))) {
      const when = r.lastBackupAt ? r.lastBackupAt.slice(0, 19).replace('T', ' ') : '-';
      const plans = r.plans.length > 0 ? ` (plans: ${r.plans.join(', ')})` : '';
      io.out(`${pad(r.status, 13)}${pad(r.type, 6)}${pad(r.id, 36)}${pad(r.name || '-', 16)}${pad(r.vault?.name ?? '-', 16)}${pad(when, 19)}${pad(`${r.rpoHours}h`, 5)}${r.reason}${plans}`.trimEnd());
    }
  }
  return 0;
}

export async function runCommand(command: string, rest: string[], values: Values, env: Record<string, string | undefined>, io: Io): Promise<number> {
  if (!isCommand(command)) throw new CliError(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')} (see --help)`, 2);
  if (values.help) { io.out(commandUsage(command)); return 0; }
  const spec = COMMANDS[command]!;
  const foreign = (Object.keys(values) as Flag[]).filter((f) => values[f] !== undefined && !spec.flags.includes(f) && !COMMON.includes(f));
  if (foreign.length > 0) {
    throw new CliError(`${command} does not take ${foreign.map((f) => `--${f}`).join(', ')}; see \`cbr-flow ${command} --help\``, 2);
  }
  if (command === 'dlq') return await dlqCommand(rest, values, io);
  if (command === 'plans') {
    const [sub, name, extra] = rest;
    if (sub !== 'preview' || !name || extra !== undefined) throw new CliError(`plans: expected \`plans preview <plan>\`, got "${rest.join(' ')}"`, 2);
    const endpoint = values.endpoint ?? env.CBR_FLOW_URL ?? DEFAULT_ENDPOINT;
    const api = async () => new ApiClient(endpoint, { bearerToken: await bearerTokenFor(values, env, endpoint) });
    const count = positiveNumber('firings', values.firings, 5, true) ?? 5;
    return await planPreview(api, values['plans-file'] ?? 'plans/plans.yml', name, count, Date.now(), io.out);
  }
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
      intervalMs: (positiveNumber('interval', values.interval, 1, false, 'seconds') ?? 1) * 1000,
      timeoutMs: values.timeout === undefined ? undefined : (positiveNumber('timeout', values.timeout, undefined, false, 'seconds') ?? 0) * 1000,
      reconnectMs: (positiveNumber('reconnect', values.reconnect, 120, false, 'seconds') ?? 120) * 1000,
      onEvent: values.json ? () => undefined : io.out,
      ...(values.json ? { onAnswer: io.out } : {}),
    });
    if (values.json) return run.state === 'COMPLETED' ? 0 : 1;
    const took = run.finishedAt && run.createdAt ? ` in ${seconds(run.finishedAt - run.createdAt)}` : '';
    const why = run.reason ?? run.lastError?.message;
    io.out(`run ${run.runId} ${run.state}${took}${run.state !== 'COMPLETED' && why ? `: ${why}` : ''}`);
    return run.state === 'COMPLETED' ? 0 : 1;
  };
  switch (command) {
    case 'run': {
      if (rest.length > 0) throw new CliError(`run: unexpected argument "${rest[0]}"`, 2);
      const request = buildRunRequest(values, io.readStdin);
      const accepted = await api.startRun(request, values.file !== undefined ? undefined : flagOfField(values));
      io.out(values.json ? accepted.raw : `run ${accepted.runId} accepted${accepted.statusUrl ? `; status: ${accepted.statusUrl}` : ''}`);
      return values.watch ? watch(accepted.runId) : 0;
    }
    case 'status': {
      if (rest.length !== 1 || !rest[0]) throw new CliError(`status: expected exactly one <runId> or <restoreId>, got ${rest.length}`, 2);
      if (!/^[0-9a-fA-F-]{36}$/.test(rest[0])) throw new CliError(`status: "${rest[0]}" is not a run or restore id (a UUID)`, 2);
      // Runs and restores share the id form (UUID): a run first, then a restore.
      const found = await api.findRun(rest[0]);
      if (found) { io.out(values.json ? found.raw : formatRun(found.run)); return 0; }
      const restore = await api.findRestore(rest[0]);
      if (!restore) throw new CliError(`no run or restore ${rest[0]} at ${api.endpoint} (or not one of the projects your token may read)`, 2);
      io.out(values.json ? restore.raw : formatRestore(restore.restore));
      return 0;
    }
    case 'restore':
      return await restoreCommand(api, rest, values, io, {
        intervalMs: (positiveNumber('interval', values.interval, 1, false, 'seconds') ?? 1) * 1000,
        timeoutMs: values.timeout === undefined ? undefined : (positiveNumber('timeout', values.timeout, undefined, false, 'seconds') ?? 0) * 1000,
      });
    case 'watch':
      return await watch(runIdArg());
    case 'cancel': {
      const { json, raw } = await api.runAction(runIdArg(), 'cancel');
      const run = json.run as { runId?: string; state?: string; reason?: string } | undefined;
      io.out(values.json ? raw : json.cancelled === false
        ? `run ${run?.runId ?? rest[0]} was already cancelled (${run?.reason ?? 'FAILED'})`
        : `run ${run?.runId ?? rest[0]} ${run?.state ?? 'FAILED'}: ${run?.reason ?? 'cancelled'}`);
      return 0;
    }
    case 'retry': {
      const oldId = runIdArg();
      const { json, raw } = await api.runAction(oldId, 'retry');
      const newId = typeof json.runId === 'string' ? json.runId : undefined;
      if (!newId) throw new CliError(`unexpected answer to POST /runs/${oldId}/retry: ${raw.slice(0, 500)}`, 3);
      io.out(values.json ? raw : `run ${newId} ${json.created === false ? 'already retries' : 'retries'} run ${oldId}${typeof json.statusUrl === 'string' ? `; status: ${json.statusUrl}` : ''}`);
      return values.watch ? watch(newId) : 0;
    }
    case 'vaults':
      return await vaultsCommand(api, rest, values, io);
    case 'list':
      if (rest.length > 0) throw new CliError(`list: unexpected argument "${rest[0]}"`, 2);
      return await listCommand(api, values, io);
    case 'ensure-fresh':
      if (rest.length > 0) throw new CliError(`ensure-fresh: unexpected argument "${rest[0]}"`, 2);
      return await ensureFreshCommand(api, values, io, watch);
    case 'coverage':
      if (rest.length > 0) throw new CliError(`coverage: unexpected argument "${rest[0]}"`, 2);
      return await coverageCommand(api, values, io);
    case 'hold':
      return await holdCommand(api, rest, values, io.out);
    case 'release':
      return await releaseCommand(api, rest, values, io.out);
    case 'holds':
      return await holdsCommand(api, rest, values, io.out);
    case 'retention':
      return await retentionCommand(api, rest, values, io.out);
    default:
      throw new CliError(`unknown command "${command}"`, 2);
  }
}
