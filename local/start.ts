/**
 * `npm start`: the CBR emulator, the local AWS stand-ins and every handler wired as serverless.yml
 * declares, then a demo backup run (two emulated servers, shared with the demo peer project) started
 * through the HTTP webhook and followed step by step until it ends. Exit 0 only when it is COMPLETED.
 *
 *   npm start                  demo run, then exit
 *   npm start -- --serve       keep serving webhooks and the CLI (no demo unless --demo)
 *   npm start -- --help        every flag (HELP below)
 *
 * The console shows the start-up phases as they happen and, with --serve, one line per run event (from
 * the run store, local/run-console.ts); the handlers' JSON logs go to <data>/local.log (--verbose: also
 * to the console). Once ready the stack writes its URL to <data>/stack.json, where the CLI finds it.
 *
 * POST /runs is authenticated locally too: the stack keeps a webhook key in .data/webhook-keys.json,
 * the demo and the CLI sign with it (Standard Webhooks).
 */
import { createWriteStream, existsSync, readdirSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO } from '../emulator/index';
import { ApiClient, CliError, STACK_FILE } from './cli/client';
import { watchRun } from './cli/watch';
import { RunConsole } from './run-console';
import { dataDirHolder } from './runtime';
import { startLocalStack, type LocalStack } from './stack';
import { DEFAULT_DATA_DIR } from './webhook-keys';
import { SCENARIOS } from './scenarios/index';

/** Lifetime of the dashboard token `npm start` prints (local issuer only). */
const DASHBOARD_TOKEN_SECONDS = 12 * 3600;

/** The checker runs every minute in production; locally every 3 s (60 s x 0.05). */
const DEFAULT_RATE_SCALE = 0.05;

export function demoRunRequest(): Record<string, unknown> {
  return {
    projectId: DEMO.projectId,
    region: DEMO.region,
    vault: { mode: 'create', name: 'cbr-flow-demo', description: 'npm start demo', billing: { chargingMode: 'post_paid', size: 500 } },
    resources: DEMO.servers.slice(0, 2).map((s) => ({ id: s.id, type: 'OS::Nova::Server', name: s.name })),
    checkpoint: { name: 'demo', description: 'cbr-flow demo run' },
    shareWith: [DEMO.peerProjectId],
    completionWindowMinutes: 30,
  };
}

export const HELP = `Usage: npm start -- [flags]

The local stack: CBR emulator, DynamoDB and SQS stand-ins and every handler of serverless.yml.
Without --serve it runs a demo backup and exits (0 when COMPLETED).

  --serve            keep serving (HTTP API for webhooks and the CLI) until Ctrl+C; no demo unless --demo
  --demo             with --serve: also run the demo backup once
  --port <n>         port of the HTTP API on 127.0.0.1 (default 3000 with --serve, else any free port)
  --data <dir>       data folder: run store, emulator state, keys, log, stack.json (default $CBR_FLOW_DATA_DIR or .data/)
  --reset            delete the data folder first (says which files it removed)
  --no-auth          accept unsigned POST /runs (local stage only; signed is the default)
  --rate-scale <x>   multiplies schedules, retries, visibility and step timeouts (default ${DEFAULT_RATE_SCALE}: 1 minute -> 3 s)
  --timeout <s>      how long the demo waits for its run (default 120)
  --verbose          also print the handlers' JSON log lines (always in <data>/local.log)
  --scenario <name>  run a scenario on its own in-memory stack instead of the demo (${Object.keys(SCENARIOS).join(', ')}); exit 0 when its checks hold
  --help             this help`;

function usageError(message: string): never {
  throw new CliError(`${message}\nUsage: npm start -- [--serve] [--demo] [--port <n>] [--data <dir>] [--reset] [--no-auth] [--rate-scale <x>] [--timeout <s>] [--verbose] [--scenario <name>] (--help for details)`, 2);
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await start(argv);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    console.error(`cbr-flow: ${err.message}`);
    return err.exitCode;
  }
}

async function start(argv: string[]): Promise<number> {
  const launchedAt = Date.now() - Math.round(process.uptime() * 1000);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'serve': { type: 'boolean' },
        'demo': { type: 'boolean' },
        'reset': { type: 'boolean' },
        'no-auth': { type: 'boolean' },
        'port': { type: 'string' },
        'rate-scale': { type: 'string' },
        'timeout': { type: 'string' },
        'verbose': { type: 'boolean' },
        'data': { type: 'string' },
        'scenario': { type: 'string' },
        'help': { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    usageError((err as Error).message);
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const num = (flag: string, value: string | undefined, fallback: number, ok: (n: number) => boolean): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || !ok(n)) usageError(`--${flag}: "${value}" is not valid`);
    return n;
  };
  const serve = args.serve ?? false;
  const runDemo = !serve || (args.demo ?? false);
  const port = num('port', args.port, serve ? 3000 : 0, (n) => Number.isInteger(n) && n >= 0 && n < 65536);
  const rateScale = num('rate-scale', args['rate-scale'], DEFAULT_RATE_SCALE, (n) => n > 0 && n <= 1);
  const timeoutS = num('timeout', args.timeout, 120, (n) => n > 0);

  if (args.scenario !== undefined) {
    const scenario = SCENARIOS[args.scenario];
    if (!scenario) usageError(`--scenario: unknown scenario "${args.scenario}" (one of ${Object.keys(SCENARIOS).join(', ')})`);
    if (serve) usageError('--scenario runs on its own stack and exits: leave out --serve');
    // The log lines go to the console with --verbose; otherwise the last ones are shown when it fails.
    const lines: string[] = [];
    const log = (line: string): void => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      if (args.verbose) process.stdout.write(`${line}\n`);
    };
    const onPhase = (phase: string): void => console.log(`cbr-flow: [${((Date.now() - launchedAt) / 1000).toFixed(1).padStart(5)} s] ${phase}...`);
    let code: number;
    try {
      code = await scenario({ print: (line) => console.log(line), log, onPhase, rateScale, timeoutMs: timeoutS * 1000 });
    } catch (err) {
      console.error(`${args.scenario}: FAILED: ${(err as Error).message}`);
      code = 1;
    }
    if (code !== 0 && !args.verbose) console.error(`--- last log lines ---\n${lines.slice(-30).join('\n')}`);
    return code;
  }
  if (args.data === '') usageError('--data: needs a folder');
  const dataDir = resolve(args.data ?? DEFAULT_DATA_DIR);
  const holder = dataDirHolder(dataDir);
  if (holder !== undefined) {
    throw new CliError(`${dataDir} is in use by process ${holder} (\`npm start -- --serve\`?); stop it first${args.reset ? ' before --reset' : ''}`, 1);
  }
  if (args.reset && existsSync(dataDir)) {
    const entries = readdirSync(dataDir).sort();
    rmSync(dataDir, { recursive: true, force: true });
    console.log(`reset: removed ${dataDir}${entries.length ? `: ${entries.map((e) => describeDataEntry(e)).join(', ')}` : ' (empty)'}`);
  }
  mkdirSync(dataDir, { recursive: true });
  // Handler and runtime logs go to a file (--verbose: and to the console); the console keeps the
  // start-up phases and the runs' events.
  const logFile = join(dataDir, 'local.log');
  const logStream = createWriteStream(logFile, { flags: serve ? 'a' : 'w' });
  let runConsole: RunConsole | undefined;
  const log = (line: string): void => {
    logStream.write(`${new Date().toISOString()} ${line}\n`);
    if (args.verbose) process.stdout.write(`${line}\n`);
    runConsole?.onLogLine(line);
  };
  const onPhase = (phase: string): void => console.log(`cbr-flow: [${((Date.now() - launchedAt) / 1000).toFixed(1).padStart(5)} s] ${phase}...`);

  let stack: LocalStack | undefined;
  const shutdown = async (): Promise<void> => {
    const s = stack;
    stack = undefined;
    if (s) rmSync(join(dataDir, STACK_FILE), { force: true });
    // The run console reads the run store, which stops with the stack: let it finish first.
    const rc = runConsole;
    runConsole = undefined;
    await rc?.idle();
    await s?.stop();
    await new Promise<void>((resolve) => logStream.end(resolve));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.log(`\n${signal}: stopping...`);
    void shutdown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    console.log(`cbr-flow: starting the local stack (emulator, DynamoDB, SQS, handlers from serverless.yml); logs in ${logFile}`);
    stack = await startLocalStack({ dataDir, httpPort: port, rateScale, log, onPhase, webhookAuth: args['no-auth'] ? 'off' : 'on' });
    const { runtime } = stack;
    if (serve && stack.runStore) runConsole = new RunConsole(stack.runStore, (line) => console.log(line), (message) => log(`[console] ${message}`));
    writeStackFile(dataDir, runtime.url, runtime.sqsEndpoint);
    console.log(`cbr-flow: ready in ${((Date.now() - launchedAt) / 1000).toFixed(1)} s since launch`);
    console.log(`  HTTP API   ${runtime.url}  (POST /runs, GET /runs/{id}, GET /runs, GET /coverage, POST /gates/fresh-backup, GET /vaults, /holds, GET /retention/preview)`);
    if (runtime.issuer) {
      // The page reads the token from the URL's fragment (never sent to a server) and keeps it for the tab.
      const token = await runtime.issuer.mint({ sub: 'cbr-flow-dashboard', projects: '*' }, DASHBOARD_TOKEN_SECONDS);
      console.log(`  dashboard  ${runtime.url}/#token=${token}`);
      console.log(`             (signed in by the token after #: every project, ${DASHBOARD_TOKEN_SECONDS / 3600} h, from ${runtime.issuer.file ?? 'the local issuer'}; or open ${runtime.url}/ and paste a token)`);
    }
    console.log(`  CBR        ${stack.cbrEndpoint}${stack.emulator ? ' (embedded emulator, demo credentials)' : ''}`);
    console.log(`  data       ${dataDir}  (logs: ${logFile}; URL: ${join(dataDir, STACK_FILE)})`);
    if (stack.resumed > 0) console.log(`  resumed    ${stack.resumed} unfinished run(s) from before the restart (re-driven by the next check-status sweep)`);
    console.log(stack.webhooks.auth === 'on'
      ? `  webhooks   POST /runs must be signed (Standard Webhooks); key in ${stack.webhooks.file ?? '(memory)'}`
      : '  webhooks   authentication OFF (--no-auth): unsigned POST /runs accepted');
    console.log(`  functions  ${runtime.functions.map((f) => f.key).join(', ')}`);
    console.log(`  schedules  ${runtime.schedules().filter((s) => s.enabled).map((s) => `${s.functionKey} ${s.expression}`).join('; ') || 'none'} (rate x ${rateScale})`);

    let code = 0;
    if (runDemo) {
      const api = new ApiClient(runtime.url, {
        webhookKeys: stack.webhooks.auth === 'on' ? stack.webhooks.keys : undefined,
        bearerToken: await runtime.issuer?.mint({ sub: 'cbr-flow-demo', projects: [DEMO.projectId] }),
      });
      console.log(`\ndemo: backing up ${DEMO.servers[0].name} and ${DEMO.servers[1].name} of project ${DEMO.projectId}, sharing with ${DEMO.peerProjectId}`);
      const accepted = await api.startRun(demoRunRequest());
      console.log(`demo: POST /runs (${stack.webhooks.auth === 'on' ? 'signed' : 'unsigned'}) -> 202, run ${accepted.runId}`);
      try {
        // With --serve the run console prints the run's events already.
        const run = await watchRun(api, accepted.runId, { intervalMs: 250, timeoutMs: timeoutS * 1000, onEvent: (line) => { if (!runConsole) console.log(`  ${line}`); } });
        const wall = ((Date.now() - launchedAt) / 1000).toFixed(1);
        console.log(`demo: run ${run.runId} ${run.state}${run.reason ? ` (${run.reason})` : ''}; wall time from launch ${wall} s`);
        if (run.state !== 'COMPLETED') code = 1;
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        console.error(`demo: ${err.message}`);
        code = err.exitCode;
      }
    }
    if (serve) {
      console.log(`\nserving; try:  npx cbr-flow list   (the CLI finds ${runtime.url} in ${join(dataDir, STACK_FILE)})`);
      console.log('one line per run event below; press Ctrl+C to stop');
      await new Promise<never>(() => undefined);
    }
    await shutdown();
    if (code !== 0) printLogTail(logFile);
    return code;
  } catch (err) {
    await shutdown().catch(() => undefined);
    if (err instanceof CliError) {
      console.error(`cbr-flow: ${err.message}`);
      printLogTail(logFile);
      return err.exitCode;
    }
    console.error(`cbr-flow: ${(err as Error).message}`);
    printLogTail(logFile);
    return 1;
  }
}

/**
 * Where a running stack says where it listens (the CLI's default endpoint, local/cli/client.ts):
 * written once ready, removed on stop.
 */
function writeStackFile(dataDir: string, url: string, sqsEndpoint: string): void {
  const file = join(dataDir, STACK_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ url, port: Number(new URL(url).port), sqsEndpoint, pid: process.pid, startedAt: new Date().toISOString() })}\n`);
  renameSync(`${file}.tmp`, file);
}

/** What a file or folder of the data folder holds, for --reset's account of what it discarded. */
const DATA_ENTRIES: Record<string, string> = {
  'dynamodb': 'the run store: every run',
  'emulator-state.json': "the emulator's vaults, checkpoints and backups",
  'webhook-keys.json': 'the local webhook key',
  'jwt-issuer.json': "the local token issuer's key",
  'runtime.lock': 'a stale lock',
  'local.log': 'the log',
  'stack.json': "the stack's URL",
};

function describeDataEntry(name: string): string {
  const what = DATA_ENTRIES[name];
  return what ? `${name} (${what})` : name;
}

function printLogTail(file: string): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-30);
  console.error(`--- last lines of ${file} ---\n${lines.join('\n')}`);
}
