/**
 * The retention commands (README "Retention") through the retention API:
 *   hold --backup <id> --project <p> --reason <why> | hold --run <id> --reason <why>   POST /holds
 *   release <hold id> [--reason <why>]                                               DELETE /holds/{id}
 *   holds [--all]                                                                    GET /holds
 *   retention preview [--plan <name>]                                                GET /retention/preview
 *   retention ledger [--plan <name>]                                                 GET /retention/ledger
 * `--json` prints the API's answer as it came.
 */
import { CliError, type ApiClient, type HoldView } from './client';

interface RetentionValues {
  backup?: string | undefined;
  project?: string | undefined;
  run?: string | undefined;
  reason?: string | undefined;
  all?: boolean | undefined;
  plan?: string | undefined;
  json?: boolean | undefined;
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width + 1);
}

const utc = (iso: string | null | undefined): string => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

function noArgs(command: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new CliError(`${command}: unexpected argument "${rest[0]}"`, 2);
}

/** `hold`: one backup (--backup + --project) or every backup of a run (--run), with --reason. */
export async function holdCommand(api: ApiClient, rest: readonly string[], values: RetentionValues, out: (line: string) => void): Promise<number> {
  noArgs('hold', rest);
  if ((values.backup === undefined) === (values.run === undefined)) {
    throw new CliError('hold: give exactly one of --backup <backupId> (with --project <id>) or --run <runId> (every backup of that run)', 2);
  }
  if (values.backup !== undefined && values.project === undefined) throw new CliError('hold: --backup needs --project <id>, the project the backup is in', 2);
  if (values.run !== undefined && values.project !== undefined) throw new CliError('hold: --project goes with --backup only (a run names its project)', 2);
  if (values.reason === undefined || values.reason.trim() === '') throw new CliError('hold: --reason <text> is required: say why the backup must be kept (e.g. a ticket or a legal hold)', 2);
  const body = values.run !== undefined ? { runId: values.run, reason: values.reason } : { backupId: values.backup, projectId: values.project, reason: values.reason };
  const { hold, raw } = await api.placeHold(body);
  if (values.json) { out(raw); return 0; }
  const what = hold.runId !== undefined ? `run ${hold.runId} (${hold.backupIds.length} backup(s))` : `backup ${hold.backupId}`;
  out(`hold ${hold.holdId} placed on ${what} in project ${hold.projectId}: ${hold.reason}`);
  return 0;
}

/** `release <hold id>`: the hold stays listed (`holds --all`) as released, by whom and why. */
export async function releaseCommand(api: ApiClient, rest: readonly string[], values: RetentionValues, out: (line: string) => void): Promise<number> {
  if (rest.length !== 1 || !rest[0]) throw new CliError(`release: expected exactly one <hold id>, got ${rest.length}`, 2);
  const { released, hold, raw } = await api.releaseHold(rest[0], values.reason);
  if (values.json) { out(raw); return 0; }
  out(released
    ? `hold ${hold.holdId} released${hold.released?.reason ? `: ${hold.released.reason}` : ''}; its backups are subject to the retention rules again`
    : `hold ${hold.holdId} was already released by ${hold.released?.by ?? '?'} at ${utc(hold.released?.at)} UTC: nothing changed`);
  return 0;
}

/** `holds [--all]`: a header and one line per hold. */
export async function holdsCommand(api: ApiClient, rest: readonly string[], values: RetentionValues, out: (line: string) => void): Promise<number> {
  noArgs('holds', rest);
  const { holds, raw } = await api.listHolds(values.all === true);
  if (values.json) { out(raw); return 0; }
  if (holds.length === 0) { out(values.all ? 'no holds' : 'no active holds (`cbr-flow holds --all` shows released ones too)'); return 0; }
  out(`${pad('HOLD ID', 36)}${pad('ON', 44)}${pad('PROJECT', 32)}${pad('BACKUPS', 7)}${pad('BY', 12)}${pad('AT (UTC)', 19)}${values.all ? pad('RELEASED', 8) : ''}REASON`);
  for (const h of holds) out(holdLine(h, values.all === true));
  return 0;
}

function holdLine(h: HoldView, all: boolean): string {
  const on = h.runId !== undefined ? `run ${h.runId}` : `backup ${h.backupId}`;
  const released = all ? pad(h.released ? `yes (${h.released.by})` : 'no', 8) : '';
  return `${pad(h.holdId, 36)}${pad(on, 44)}${pad(h.projectId, 32)}${pad(String(h.backupIds.length), 7)}${pad(h.by, 12)}${pad(utc(h.at), 19)}${released}${h.reason}`.trimEnd();
}

/** `retention preview|ledger [--plan <name>]`. */
export async function retentionCommand(api: ApiClient, rest: readonly string[], values: RetentionValues, out: (line: string) => void): Promise<number> {
  const [sub, ...extra] = rest;
  if (sub !== 'preview' && sub !== 'ledger') throw new CliError(`retention: expected \`retention preview\` or \`retention ledger\`, got ${sub ? `"${sub}"` : 'nothing'}`, 2);
  noArgs(`retention ${sub}`, extra);
  if (values.plan !== undefined && !/^[a-z0-9][a-z0-9-]{0,31}$/.test(values.plan)) {
    throw new CliError(`--plan: "${values.plan}" is not a plan name (lowercase letters, digits and -, at most 32; see plans/plans.yml)`, 2);
  }
  if (sub === 'preview') {
    const { preview, raw } = await api.retentionPreview(values.plan);
    if (values.json) { out(raw); return 0; }
    if (preview.scopes.length === 0 && preview.skipped.length === 0) {
      out(values.plan ? `no vault of plan ${values.plan} has retention rules (or your token may not read its project)` : 'no vault with retention rules');
      return 0;
    }
    for (const s of preview.scopes) {
      out(`vault ${s.vault.name ?? '?'} (${s.vault.id})${s.plan ? ` plan ${s.plan}` : ''}, project ${s.projectId} (${s.region}): delete ${s.delete.length}, keep ${s.keep.length}, foreign ${s.foreign} (never touched), frees ${s.freedGb} GB`);
      if (s.delete.length + s.keep.length === 0) continue;
      out(`  ${pad('ACTION', 6)}${pad('BACKUP ID', 36)}${pad('RESOURCE', 36)}${pad('CREATED (UTC)', 19)}BECAUSE`);
      const rows = [...s.delete.map((d) => ({ action: 'delete', ...d })), ...s.keep.map((k) => ({ action: 'keep', ...k }))]
        .sort((a, b) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')));
      for (const r of rows) {
        out(`  ${pad(r.action, 6)}${pad(r.backupId, 36)}${pad(r.resourceId ?? '-', 36)}${pad(utc(r.createdAt), 19)}${r.because.map((b) => `${b.rule}: ${b.detail}`).join('; ')}`.trimEnd());
      }
    }
    for (const k of preview.skipped) out(`skipped vault ${k.vaultName ?? '?'}${k.plan ? ` (plan ${k.plan})` : ''}: ${k.why}`);
    out(`total: delete ${preview.totals.delete}, keep ${preview.totals.keep}, foreign ${preview.totals.foreign}, frees ${preview.totals.freedGb} GB`);
    return 0;
  }
  const { entries, raw } = await api.retentionLedger(values.plan);
  if (values.json) { out(raw); return 0; }
  if (entries.length === 0) { out(values.plan ? `no retention deletions recorded for plan ${values.plan}` : 'no retention deletions recorded'); return 0; }
  out(`${pad('REQUESTED (UTC)', 19)}${pad('RESULT', 9)}${pad('BACKUP ID', 36)}${pad('RESOURCE', 36)}${pad('CREATED (UTC)', 19)}${pad('RULE', 16)}${pad('TRIES', 5)}REASON`);
  for (const e of entries) {
    out(`${pad(utc(e.requestedAt), 19)}${pad(e.result, 9)}${pad(e.backupId, 36)}${pad(e.resourceId, 36)}${pad(utc(e.backupCreatedAt), 19)}${pad(e.rule, 16)}${pad(String(e.attempts), 5)}${e.reason ?? ''}`.trimEnd());
  }
  return 0;
}
