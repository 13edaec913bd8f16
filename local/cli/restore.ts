/**
 * `cbr-flow restore`: one backup (--backup with --project, or --run with --resource) onto a server
 * (--target) through POST /restores, optionally followed (--wait) until it ends; and how `status` shows a
 * restore (its timeline with CBR's operation-log times).
 *
 * A target that is not a declared drill target (DRILL_TARGETS) needs `--confirm <the target's id>`: the
 * API refuses without it and the CLI says why and what to type. The Idempotency-Key is derived from
 * (backup or run+resource, target), so running the same command again finds the same restore instead of
 * overwriting the server a second time.
 */
import { createHash } from 'node:crypto';
import type { ApiClient, RestoreView } from './client';
import { CliError } from './client';
import { seconds } from './format';
import type { Io, Values } from './commands';

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'EXPIRED']);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The API's field as the flag that set it. */
const RESTORE_FLAGS: Record<string, string> = {
  backupId: '--backup', projectId: '--project', runId: '--run', resourceId: '--resource', target: '--target',
  powerOn: '--power-on', confirm: '--confirm', region: '--region', body: '--target',
};

export function restoreBody(values: Values): Record<string, unknown> {
  const byBackup = values.backup !== undefined;
  const byRun = values.run !== undefined || values.resource !== undefined;
  if (byBackup && byRun) throw new CliError('restore: give either --backup <id> (with --project) or --run <id> with --resource <id>, not both', 2);
  if (!byBackup && !byRun) throw new CliError('restore: which backup? --backup <backupId> --project <projectId>, or --run <runId> --resource <serverId>', 2);
  if (byBackup && values.project === undefined) throw new CliError('restore: --project <projectId> is required with --backup (the project that owns the backup)', 2);
  if (byRun && (values.run === undefined || values.resource === undefined)) throw new CliError(`restore: --run and --resource go together (${values.run === undefined ? '--run <runId>' : '--resource <serverId>'} is missing)`, 2);
  if (values.target === undefined) throw new CliError('restore: --target <serverId> is required: the server whose disks the backup overwrites', 2);
  for (const flag of ['backup', 'run', 'resource', 'target'] as const) {
    const v = values[flag];
    if (v !== undefined && !UUID.test(v)) throw new CliError(`--${flag}: "${v}" is not an id (a UUID)`, 2);
  }
  return {
    ...(byBackup ? { backupId: values.backup, projectId: values.project } : { runId: values.run, resourceId: values.resource }),
    ...(values.region !== undefined ? { region: values.region } : {}),
    target: values.target,
    powerOn: values['power-on'] === true,
    ...(values.confirm !== undefined ? { confirm: values.confirm } : {}),
  };
}

/** Same command, same restore: the key names (backup or run+resource, target). */
function idempotencyKey(body: Record<string, unknown>): string {
  const source = body.backupId !== undefined ? `backup:${String(body.backupId)}` : `run:${String(body.runId)}:${String(body.resourceId)}`;
  return `cli-${createHash('sha256').update(`${source}->${String(body.target)}`).digest('hex').slice(0, 32)}`;
}

function refusal(target: string): (status: number, field: string | undefined, message: string) => string {
  return (status, field, message) => {
    if (status === 400 && field === 'confirm') {
      return message.includes('must be the target')
        ? `restore refused: --confirm must repeat the target's id ${target} exactly; a restore overwrites every disk of the target. Run again with --confirm ${target}`
        : `restore refused: server ${target} is not a declared drill target (DRILL_TARGETS), and a restore overwrites every disk of it. If that is what you want, run the same command with --confirm ${target}; to restore without confirming, pick a drill target or add the server to DRILL_TARGETS`;
    }
    const flag = field !== undefined ? RESTORE_FLAGS[field.replace(/^body\./, '')] : undefined;
    const how = status === 409 ? 'not now' : status === 404 ? 'not found' : 'refused';
    return `restore ${how} (HTTP ${status})${flag ? ` [${flag}]` : ''}: ${message}`;
  };
}

export function formatRestore(r: RestoreView): string {
  const start = r.createdAt;
  const took = r.startedAt !== undefined && r.finishedAt !== undefined ? ` (${seconds(r.finishedAt - r.startedAt)} by CBR's operation log)` : '';
  const lines = [
    `restore  ${r.restoreId}`,
    `state    ${r.state}${r.state === 'RUNNING' && r.progress !== undefined ? ` (${r.progress} %)` : ''}`,
    `backup   ${r.backupId}${r.backupName ? ` (${r.backupName})` : ''}${r.runId ? ` of run ${r.runId}` : ''}`,
    `target   server ${r.targetServerId} (${r.safety === 'drill-target' ? 'declared drill target' : 'confirmed'}), power on: ${r.powerOn ? 'yes' : 'no'}`,
    ...r.mappings.map((m) => `  disk   ${m.backupId} -> ${m.volumeId}${m.systemDisk ? ' (system disk)' : ''}${m.sizeGb !== undefined ? ` ${m.sizeGb} GB` : ''}${m.targetSizeGb !== undefined ? ` onto ${m.targetSizeGb} GB` : ''}`),
    `asked    ${new Date(r.createdAt).toISOString()}`,
    ...(r.opLogId ? [`op log   ${r.opLogId}`] : []),
    ...(r.startedAt !== undefined ? [`started  ${new Date(r.startedAt).toISOString()}`] : []),
    ...(r.finishedAt !== undefined ? [`finished ${new Date(r.finishedAt).toISOString()}${took}`] : []),
    ...(r.drill ? [`drill    plan ${r.drill.plan}, ${r.drill.name}${r.drill.result ? `: ${r.drill.result.ok ? 'ok' : 'FAILED'}, RPO ${r.drill.result.rpoSeconds ?? '?'} s, RTO ${r.drill.result.rtoSeconds ?? '?'} s, verification ${r.drill.result.verification}${r.drill.result.problems.length ? ` (${r.drill.result.problems.join('; ')})` : ''}` : ' (running)'}`] : []),
    ...(r.reason ? [`reason   ${r.reason}`] : []),
    ...(r.lastError ? [`error    ${r.lastError.code}: ${r.lastError.message}${r.lastError.requestId ? ` (request ${r.lastError.requestId})` : ''}`] : []),
  ];
  if (r.timeline.length > 0) lines.push('timeline', ...r.timeline.map((e) => `  [+${seconds(e.at - start).padStart(6)}] ${e.event}${e.detail ? `  ${e.detail}` : ''}`));
  return lines.join('\n');
}

export interface RestoreWaitOptions { intervalMs: number; timeoutMs: number | undefined }

/** Polls GET /restores/{id}, printing each new timeline event, until it ends; exit 0 only when COMPLETED. */
export async function waitRestore(api: ApiClient, restoreId: string, o: RestoreWaitOptions, io: Io, json: boolean): Promise<number> {
  const started = Date.now();
  let shown = 0;
  for (;;) {
    const found = await api.findRestore(restoreId);
    if (!found) throw new CliError(`restore ${restoreId} is gone (expired from the store?)`, 2);
    const r = found.restore;
    if (!json) for (const e of r.timeline.slice(shown)) io.out(`[+${seconds(e.at - r.createdAt).padStart(6)}] ${e.event}${e.detail ? `  ${e.detail}` : ''}`);
    shown = r.timeline.length;
    if (TERMINAL.has(r.state)) {
      if (json) io.out(found.raw);
      else io.out(`restore ${r.restoreId} ${r.state}${r.state === 'COMPLETED' && r.startedAt !== undefined && r.finishedAt !== undefined ? ` in ${seconds(r.finishedAt - r.startedAt)}` : ''}${r.state !== 'COMPLETED' && r.reason ? `: ${r.reason}` : ''}`);
      return r.state === 'COMPLETED' ? 0 : 1;
    }
    if (o.timeoutMs !== undefined && Date.now() - started >= o.timeoutMs) {
      io.err(`restore ${restoreId} still ${r.state} after ${seconds(o.timeoutMs)}; follow it with \`cbr-flow status ${restoreId}\``);
      return 4;
    }
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs));
  }
}

export async function restoreCommand(api: ApiClient, rest: string[], values: Values, io: Io, wait: RestoreWaitOptions): Promise<number> {
  if (rest.length > 0) throw new CliError(`restore: unexpected argument "${rest[0]}" (the backup is --backup <id> or --run <id> --resource <id>)`, 2);
  const body = restoreBody(values);
  const target = String(body.target);
  const accepted = await api.startRestore(body, idempotencyKey(body), refusal(target));
  const r = accepted.restore;
  if (values.json && !values.wait) { io.out(accepted.raw); return 0; }
  if (!values.json) {
    io.out(`restore ${accepted.restoreId} ${accepted.created ? 'accepted' : 'already asked for (same backup and target)'}: backup ${r.backupId} onto server ${r.targetServerId} (${r.state}); status: cbr-flow status ${accepted.restoreId}`);
  }
  if (r.state === 'FAILED' || r.state === 'EXPIRED') {
    if (!values.json) io.out(`restore ${r.restoreId} ${r.state}: ${r.reason ?? ''}`);
    return 1;
  }
  return values.wait ? waitRestore(api, accepted.restoreId, wait, io, values.json === true) : 0;
}
