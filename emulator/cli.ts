/**
 * `npm run emulator -- [options]`: the local CBR + IAM emulator on 127.0.0.1.
 * Prints its URL and the demo credentials (a local fake: they only open this emulator).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEMO, EmulatorConfigError, startEmulator } from './index';
import type { EmulatorOptions } from './index';

const HELP = `Usage: npm run emulator -- [options]

  --port <n>              CBR + IAM port on 127.0.0.1 (default 0 = any free port)
  --admin                 enable the admin API on a separate listener
  --admin-port <n>        admin port (default 0)
  --seed <n>              seed of ids, durations and faults (default 1)
  --checkpoint-ms <n|a-b> how long a backup stays protecting (default 6000-10000)
  --delete-ms <n|a-b>     how long a deleted backup stays deleting (default 2000-4000)
  --manual-clock          freeze time; advance it with POST /admin/clock/advance (needs --admin)
  --quirk <key=value>     set a quirk, repeatable (e.g. --quirk listVaultNameMatch=exact)
  --config <file.json>    options file (same shape as startEmulator options; flags win)
  --log                   print one line per request (never credentials)
  --json                  print a single JSON line {url, adminUrl, ...} instead of the banner
  -h, --help              this text
`;

function range(flag: string, v: string): number | [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  if (!m) throw new EmulatorConfigError(`${flag}: expected a number of ms or a range like 6000-10000, got "${v}"`);
  return m[2] === undefined ? Number(m[1]) : [Number(m[1]), Number(m[2])];
}

function int(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new EmulatorConfigError(`${flag}: expected an integer, got "${v}"`);
  return Number(v);
}

function quirkValue(v: string): unknown {
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d+$/.test(v)) return Number(v);
  if (v.startsWith('[')) return JSON.parse(v) as unknown;
  return v;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      admin: { type: 'boolean' },
      'admin-port': { type: 'string' },
      seed: { type: 'string' },
      'checkpoint-ms': { type: 'string' },
      'delete-ms': { type: 'string' },
      'manual-clock': { type: 'boolean' },
      quirk: { type: 'string', multiple: true },
      config: { type: 'string' },
      log: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  let options: EmulatorOptions = {};
  if (values.config !== undefined) {
    try {
      options = JSON.parse(readFileSync(values.config, 'utf8')) as EmulatorOptions;
    } catch (e) {
      throw new EmulatorConfigError(`--config ${values.config}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (values.port !== undefined) options.port = int('--port', values.port);
  if (values.admin) options.admin = true;
  if (values['admin-port'] !== undefined) options.adminPort = int('--admin-port', values['admin-port']);
  if (values.seed !== undefined) options.seed = int('--seed', values.seed);
  if (values['checkpoint-ms'] !== undefined) options.timing = { ...options.timing, checkpointMs: range('--checkpoint-ms', values['checkpoint-ms']) };
  if (values['delete-ms'] !== undefined) options.timing = { ...options.timing, backupDeleteMs: range('--delete-ms', values['delete-ms']) };
  if (values['manual-clock']) options.clock = 'manual';
  for (const q of values.quirk ?? []) {
    const eq = q.indexOf('=');
    if (eq < 1) throw new EmulatorConfigError(`--quirk: expected key=value, got "${q}"`);
    options.quirks = { ...options.quirks, [q.slice(0, eq)]: quirkValue(q.slice(eq + 1)) };
  }
  if (values.log) {
    options.log = (e) =>
      process.stdout.write(`${e.requestId} ${e.method} ${e.path} ${e.operation} ${e.status}${e.fault ? ` [${e.fault}]` : ''} ${e.durationMs.toFixed(1)}ms\n`);
  }

  const emu = await startEmulator(options);
  const defaultsUsed = options.credentials === undefined;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ url: emu.url, adminUrl: emu.adminUrl ?? null, demo: defaultsUsed })}\n`);
  } else {
    const lines = [
      `cbr-flow CBR emulator listening on ${emu.url}   (CBR_ENDPOINT=${emu.url} IAM_ENDPOINT=${emu.url})`,
      ...(emu.adminUrl ? [`admin API on ${emu.adminUrl}   (GET ${emu.adminUrl}/admin for the routes)`] : []),
      `seed ${emu.config.seed}, backups take ${JSON.stringify(emu.config.timing.checkpointMs)} ms, clock ${emu.clock.kind}`,
    ];
    if (defaultsUsed) {
      lines.push(
        '',
        'Demo credentials (local fake, they only open this emulator):',
        `  owner  project ${DEMO.projectId} (${DEMO.projectName})  AK ${DEMO.ak}  SK ${DEMO.sk}`,
        `         IAM user ${DEMO.user.name} / ${DEMO.user.password} / domain ${DEMO.user.domainName}`,
        `  peer   project ${DEMO.peerProjectId} (${DEMO.peer.projectName})  AK ${DEMO.peer.ak}  SK ${DEMO.peer.sk}`,
        `         IAM user ${DEMO.peer.user.name} / ${DEMO.peer.user.password} / domain ${DEMO.peer.user.domainName}`,
        '  servers (owner):',
        ...DEMO.servers.map((s) => `    ${s.id}  ${s.name}  ${s.disks.reduce((n, d) => n + d.sizeGb, 0)} GB, ${s.disks.length} disk(s)`),
        '  volumes (owner):',
        ...DEMO.volumes.map((v) => `    ${v.id}  ${v.name}  ${v.sizeGb} GB`),
        `  server (peer): ${DEMO.peer.servers[0].id}  ${DEMO.peer.servers[0].name}`,
      );
    } else {
      lines.push(`credentials: ${(emu.config.credentials ?? []).map((c) => c.ak).join(', ')} (secrets from your config)`);
    }
    lines.push('', 'Ctrl-C to stop.');
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  const shutdown = () => {
    emu.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
