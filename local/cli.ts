/**
 * `cbr-flow` command line: start a run, show one, watch one until it ends, list runs (filtered, paged),
 * cancel or retry one, list and delete orphaned vaults, gate on fresh backups (ensure-fresh), hold and
 * release backups and preview the retention sweep (hold, release, holds, retention preview|ledger) — through
 * the HTTP API (POST /runs, GET /runs/{id}, GET /runs, POST /runs/{id}/cancel|retry, GET /vaults/orphaned,
 * DELETE /vaults/{vaultId}, POST /gates/fresh-backup, POST|GET /holds, DELETE /holds/{id}, GET
 * /retention/preview|ledger), locally or deployed; and the dead-letter queues
 * straight on SQS (`dlq`).
 * `cbr-flow <command> --help` shows that command's flags; `--json` prints the API's raw answer.
 *
 * POST /runs is signed the Standard Webhooks way with a webhook key from, in this order:
 * `--webhook-key-file <path>` (a whsec_ key or the keys JSON), $CBR_FLOW_WEBHOOK_KEY, or — for a
 * loopback endpoint — the local stack's key in .data/webhook-keys.json. `--no-auth` sends unsigned
 * (for a local stack started with `npm start -- --no-auth`). Keys are never taken from argv values.
 *
 * Reads and run actions (status, watch, list, cancel, retry) send a bearer token: `--token-file <path>`, $CBR_FLOW_TOKEN, or — for a
 * loopback endpoint — a 5-minute token minted with the local stack's issuer (.data/jwt-issuer.json).
 *
 * Exit codes: 0 success (a watched run COMPLETED; ensure-fresh: fresh); 1 the run ended FAILED, EXPIRED or PARTIAL
 * (ensure-fresh without --wait: not fresh, a run was started or joined);
 * 2 bad input (flags, file, a 4xx from the API); 3 the endpoint is unreachable or answered 5xx (watch:
 * for longer than --reconnect);
 * 4 `watch --timeout` elapsed before the run ended; 70 an unexpected internal error.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { CliError } from './cli/client';
import { OPTIONS, USAGE, commandUsage, isCommand, runCommand, type Io } from './cli/commands';

export type { Io } from './cli/commands';

const defaultIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readStdin: () => readFileSync(0, 'utf8'),
  isTTY: process.stdin.isTTY === true,
  ask: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
};

export async function main(argv: string[], env: Record<string, string | undefined> = process.env, io: Io = defaultIo): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      const command = argv.find((a) => !a.startsWith('-'));
      throw new CliError(`${(err as Error).message}\nRun \`cbr-flow ${command && isCommand(command) ? `${command} ` : ''}--help\` for usage.`, 2);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (command === 'help') { io.out(rest[0] && isCommand(rest[0]) ? commandUsage(rest[0]) : USAGE); return 0; }
    if (values.help && (!command || !isCommand(command))) { io.out(USAGE); return 0; }
    if (!command) throw new CliError(`missing command\n\n${USAGE}`, 2);
    return await runCommand(command, rest, values, env, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`cbr-flow: ${err.message}`);
      return err.exitCode;
    }
    io.err(`cbr-flow: unexpected error: ${(err as Error).stack ?? String(err)}`);
    return 70;
  }
}
