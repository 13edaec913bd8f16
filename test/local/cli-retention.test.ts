/**
 * `cbr-flow hold | release | holds | retention preview | retention ledger` against the local runtime of
 * the real serverless.yml (packaged from a private copy, like test/local/cli-vaults.test.ts): the
 * retention function behind the template's JWT authorizer, the pipeline's functions driven by their SQS
 * mappings and the checker's schedule, and the retention-sweep function fired through its hourly rule,
 * against the CBR emulator over HTTP. Three runs of one server with `retention: {keepLast: 1}` into one
 * vault: the first run held, so the preview deletes the middle one only; the sweep deletes exactly that
 * backup; the ledger shows it; the release puts the first backup back under the rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { signedHeaders } from '../../local/webhook-keys';
import { startPackagedStack, type PackagedStack } from '../helpers/packaged-stack';

const VAULT = 'cli_retention';
let stack: PackagedStack;
const runs: Array<{ runId: string; backupId: string }> = [];

const cli: PackagedStack['cli'] = (...args) => stack.cli(...args);

/** One run of the server into the vault with the rules, watched until it ends: its id and its backup. */
async function backupRun(): Promise<{ runId: string; backupId: string }> {
  const body = JSON.stringify({
    projectId: DEMO.projectId,
    region: DEMO.region,
    vault: { mode: 'create', name: VAULT, billing: { chargingMode: 'post_paid', size: 400 } },
    resources: [{ id: DEMO.servers[1].id, type: 'OS::Nova::Server' }],
    checkpoint: { name: 'clikeep' },
    retention: { keepLast: 1 },
  });
  const res = await fetch(`${stack.runtime.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders([stack.webhookKey], body) }, body });
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  const watched = await cli(['watch', runId, '--interval', '0.2', '--timeout', '60']);
  expect(watched.code, watched.out).toBe(0);
  const run = JSON.parse((await cli(['status', runId, '--json'])).out) as { checkpoints: Array<{ backups: Array<{ id: string }> }> };
  return { runId, backupId: run.checkpoints[0]!.backups[0]!.id };
}

const listed = () => stack.emulator.state.snapshot().backups.filter((b) => String(b.name ?? '').startsWith('clikeep')).map((b) => String(b.id));

beforeAll(async () => {
  stack = await startPackagedStack({ prefix: 'cbr-flow-cli-retention-', subject: 'cli-retention-test', emulator: { timing: { checkpointMs: [300, 600], backupDeleteMs: [200, 200] } }, log: () => {} });
  for (let i = 0; i < 3; i++) runs.push(await backupRun());
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('cbr-flow hold / holds / retention preview / sweep / ledger / release', () => {
  let holdId: string;

  it('refuses bad input naming the flag (exit 2) before any request', async () => {
    expect(await cli(['hold', '--run', runs[0]!.runId])).toMatchObject({ code: 2, err: expect.stringContaining('--reason <text> is required') });
    expect(await cli(['hold', '--reason', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('give exactly one of --backup <backupId> (with --project <id>) or --run <runId>') });
    expect(await cli(['hold', '--backup', runs[0]!.backupId, '--reason', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('--backup needs --project <id>') });
    expect(await cli(['hold', '--backup', runs[0]!.backupId, '--project', 'nope', '--reason', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('--project') });
    expect(await cli(['retention', 'preview', '--plan', 'Not A Plan'])).toMatchObject({ code: 2, err: expect.stringContaining('--plan: "Not A Plan" is not a plan name') });
    expect(await cli(['retention', 'sweep'])).toMatchObject({ code: 2, err: expect.stringContaining('expected `retention preview` or `retention ledger`, got "sweep"') });
    expect(await cli(['release'])).toMatchObject({ code: 2, err: expect.stringContaining('release: expected exactly one <hold id>, got 0') });
    expect(await cli(['holds', '--plan', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('holds does not take --plan') });
    const help = await cli(['hold', '--help']);
    for (const flag of ['--backup <backupId>', '--run <runId>', '--reason <text>', '--project']) expect(help.out).toContain(flag);
  });

  it('hold --run holds the first run\'s backup; another project\'s token cannot hold it (404 -> exit 2); holds lists it', async () => {
    const r = await cli(['hold', '--run', runs[0]!.runId, '--reason', 'incident INC-7']);
    expect(r.code, r.err).toBe(0);
    const m = /^hold (\S+) placed on run (\S+) \(1 backup\(s\)\) in project (\w+): incident INC-7$/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    holdId = m![1]!;
    expect(m![2]).toBe(runs[0]!.runId);
    expect(await cli(['hold', '--run', runs[0]!.runId, '--reason', 'x'], {}, [DEMO.peerProjectId])).toMatchObject({ code: 2, err: expect.stringContaining(`no run ${runs[0]!.runId}`) });

    const list = await cli(['holds']);
    expect(list.lines[0]).toMatch(/^HOLD ID\s+ON\s+PROJECT\s+BACKUPS\s+BY\s+AT \(UTC\)\s+REASON$/);
    expect(list.lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^${holdId}\\s+run ${runs[0]!.runId}\\s+${DEMO.projectId}\\s+1\\s+cli-retention-test\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+incident INC-7$`))]);
    expect((await cli(['holds'], {}, [DEMO.peerProjectId])).out).toBe('no active holds (`cbr-flow holds --all` shows released ones too)');
    expect(JSON.parse((await cli(['holds', '--json'])).out)).toEqual({ holds: [expect.objectContaining({ holdId, runId: runs[0]!.runId, backupIds: [runs[0]!.backupId], by: 'cli-retention-test' })] });
  });

  it('retention preview: keepLast keeps the newest, the hold keeps the first, the middle one is deleted; --json is the API\'s answer', async () => {
    const r = await cli(['retention', 'preview']);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toMatch(new RegExp(`^vault ${VAULT} \\([0-9a-f-]{36}\\), project ${DEMO.projectId} \\(${DEMO.region}\\): delete 1, keep 2, foreign 0 \\(never touched\\), frees \\d+(\\.\\d+)? GB$`));
    const row = (id: string) => r.lines.find((l) => l.includes(id));
    expect(row(runs[1]!.backupId)).toMatch(/^ {2}delete\s+\S+\s+\S+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+keepLast: /);
    expect(row(runs[2]!.backupId)).toMatch(/^ {2}keep\s+.*keepLast: /);
    expect(row(runs[0]!.backupId)).toMatch(/^ {2}keep\s+.*hold: /);
    expect(r.lines.at(-1)).toMatch(/^total: delete 1, keep 2, foreign 0, frees /);
    const raw = JSON.parse((await cli(['retention', 'preview', '--json'])).out) as { scopes: Array<{ delete: Array<{ backupId: string }> }> };
    expect(raw.scopes.flatMap((s) => s.delete.map((d) => d.backupId))).toEqual([runs[1]!.backupId]);
    expect((await cli(['retention', 'preview'], {}, [DEMO.peerProjectId])).out).toBe('no vault with retention rules');
    expect((await cli(['retention', 'ledger'])).out).toBe('no retention deletions recorded');
  });

  it('the sweep (fired through its hourly rule) deletes exactly the previewed backup; the ledger shows it', async () => {
    const rule = stack.runtime.schedules().find((s) => s.functionKey === 'retention-sweep')!;
    expect(rule.expression).toBe('rate(1 hour)');
    expect(await stack.runtime.fireSchedule(rule.logicalId)).toMatchObject({ deleted: 1, refused: 0, errors: 0 });
    await expect.poll(listed, { timeout: 5_000 }).not.toContain(runs[1]!.backupId);
    expect(listed()).toEqual(expect.arrayContaining([runs[0]!.backupId, runs[2]!.backupId]));
    const ledger = await cli(['retention', 'ledger']);
    expect(ledger.lines[0]).toMatch(/^REQUESTED \(UTC\)\s+RESULT\s+BACKUP ID\s+RESOURCE\s+CREATED \(UTC\)\s+RULE\s+TRIES\s+REASON$/);
    expect(ledger.lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+deleted\\s+${runs[1]!.backupId}\\s+${DEMO.servers[1].id}\\s+\\S+ \\S+\\s+keepLast\\s+1$`))]);
    expect(JSON.parse((await cli(['retention', 'ledger', '--json'])).out).entries).toEqual([expect.objectContaining({ backupId: runs[1]!.backupId, result: 'deleted', rule: 'keepLast' })]);
  });

  it('release puts the held backup back under the rules: the next preview deletes it; releasing again changes nothing', async () => {
    const r = await cli(['release', holdId, '--reason', 'resolved']);
    expect(r).toMatchObject({ code: 0, out: `hold ${holdId} released: resolved; its backups are subject to the retention rules again` });
    const again = await cli(['release', holdId]);
    expect(again.out).toMatch(new RegExp(`^hold ${holdId} was already released by cli-retention-test at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC: nothing changed$`));
    expect(await cli(['release', 'no-such-hold'])).toMatchObject({ code: 2, err: expect.stringContaining('release: no hold no-such-hold') });
    expect((await cli(['holds'])).out).toBe('no active holds (`cbr-flow holds --all` shows released ones too)');
    expect((await cli(['holds', '--all'])).lines[1]).toMatch(new RegExp(`^${holdId}\\s+.*\\s+yes \\(cli-retention-test\\)\\s+incident INC-7$`));
    const preview = JSON.parse((await cli(['retention', 'preview', '--json'])).out) as { scopes: Array<{ delete: Array<{ backupId: string }> }> };
    expect(preview.scopes.flatMap((s) => s.delete.map((d) => d.backupId))).toEqual([runs[0]!.backupId]);
  });
});
