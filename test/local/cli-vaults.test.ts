/**
 * `cbr-flow vaults` against the local runtime of the real serverless.yml (packaged from a private copy,
 * like test/local/events.test.ts, so the project's .serverless/ is never touched): the vaults function
 * behind the template's JWT authorizer, the pipeline's functions driven by their SQS mappings and the
 * checker's schedule, the CBR emulator with fault injection. A run that fails after CreateVault leaves
 * an orphan; `--orphaned` lists it (and not a vault a later run used); `--delete` refuses without --yes
 * when stdin is not a terminal (the real bin, stdin a pipe), asks y/N on one, and deletes with --yes
 * (ShowVault then 404).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { createCbrClient } from '../../lib/cbr/client';
import { PROJECT_ROOT } from '../../local/stack';
import { signedHeaders } from '../../local/webhook-keys';
import { startPackagedStack, type PackagedStack } from '../helpers/packaged-stack';

let stack: PackagedStack;
const logs: string[] = [];

const cli: PackagedStack['cli'] = (...args) => stack.cli(...args);

/** POST /runs (signed), then watch it through the CLI until it ends; the run's final record. */
async function runToEnd(vaultName: string, serverId: string): Promise<{ runId: string; state: string; vaultId: string | undefined }> {
  const body = JSON.stringify({
    projectId: DEMO.projectId,
    region: DEMO.region,
    vault: { mode: 'create', name: vaultName, billing: { chargingMode: 'post_paid', size: 400 } },
    resources: [{ id: serverId, type: 'OS::Nova::Server' }],
  });
  const res = await fetch(`${stack.runtime.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders([stack.webhookKey], body) }, body });
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  await cli(['watch', runId, '--interval', '0.2', '--timeout', '60']);
  const status = await cli(['status', runId, '--json']);
  const run = JSON.parse(status.out) as { state: string; vault?: { id: string } };
  return { runId, state: run.state, vaultId: run.vault?.id };
}

/** The next AddVaultResource is refused for good, after the vault was created: the run fails, its vault stays. */
const failNextAdd = () =>
  stack.emulator.faults.add({ operations: ['AddVaultResource'], error: { rate: 1, statuses: [400], errorCode: 'BackupService.6302', errorMsg: 'The resource does not exist.' }, times: 1 });

let orphan: { runId: string; vaultId: string };
let used: { vaultId: string };

beforeAll(async () => {
  const t0 = Date.now();
  stack = await startPackagedStack({ prefix: 'cbr-flow-cli-vaults-', subject: 'cli-vaults-test', emulator: { timing: { checkpointMs: [400, 800], vaultDeleteMs: 0 } }, log: (line) => logs.push(line) });
  const t1 = Date.now();
  // A run that fails after CreateVault: its vault is an orphan.
  failNextAdd();
  const lost = await runToEnd('cli_orphan', DEMO.servers[1].id);
  expect(lost).toMatchObject({ state: 'FAILED', vaultId: expect.any(String) });
  orphan = { runId: lost.runId, vaultId: lost.vaultId! };
  // A run that fails the same way, then a later run into the same vault name that adopts and uses it.
  failNextAdd();
  const first = await runToEnd('cli_used_again', DEMO.servers[2].id);
  expect(first.state).toBe('FAILED');
  const again = await runToEnd('cli_used_again', DEMO.servers[2].id);
  expect(again).toMatchObject({ state: 'COMPLETED', vaultId: first.vaultId });
  used = { vaultId: first.vaultId! };
  console.log(`package + local runtime: ${t1 - t0} ms; three runs to their end: ${Date.now() - t1} ms`);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('cbr-flow vaults --orphaned', () => {
  it('lists the vault of the run that failed after creating it, with a header; not the vault a later run used', async () => {
    const r = await cli(['vaults', '--orphaned']);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toMatch(/^VAULT ID\s+NAME\s+PROJECT\s+REGION\s+RUN\s+STATE\s+CREATED \(UTC\)\s+REASON$/);
    const rows = r.lines.filter((l) => /^[0-9a-f-]{36} /.test(l));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^${orphan.vaultId}\\s+cli_orphan\\s+${DEMO.projectId}\\s+${DEMO.region}\\s+${orphan.runId}\\s+FAILED\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+\\S`));
    expect(r.out).not.toContain(used.vaultId);
    // --json: the API's answer as it came.
    const raw = await cli(['vaults', '--orphaned', '--json']);
    expect(JSON.parse(raw.out)).toEqual({ vaults: [expect.objectContaining({ vaultId: orphan.vaultId, vaultName: 'cli_orphan', runId: orphan.runId, state: 'FAILED' })] });
  });

  it('filters by --project and --region, and shows only the projects of the token', async () => {
    expect((await cli(['vaults', '--orphaned', '--project', DEMO.projectId])).out).toContain(orphan.vaultId);
    expect((await cli(['vaults', '--orphaned', '--region', 'eu-west-101'])).out).toBe('no orphaned vault matches');
    expect((await cli(['vaults', '--orphaned'], {}, [DEMO.peerProjectId])).out).toBe('no orphaned vaults');
    expect(await cli(['vaults', '--orphaned', '--project', 'nope'])).toMatchObject({ code: 2, err: expect.stringContaining('--project: must be a 32-character lowercase hex project id') });
  });

  it('has its own help; refuses a missing mode, stray flags and arguments (exit 2)', async () => {
    const help = await cli(['vaults', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--orphaned', '--delete <vaultId>', '--force', '--yes', '--project', '--region']) expect(help.out).toContain(flag);
    expect(await cli(['vaults', '--force'])).toMatchObject({ code: 2, err: expect.stringContaining('--force only go with --delete <vaultId>') });
    expect(await cli(['vaults', '--orphaned', '--state', 'FAILED'])).toMatchObject({ code: 2, err: expect.stringContaining('vaults does not take --state') });
    expect(await cli(['vaults', '--delete', 'not-a-uuid', '--yes'])).toMatchObject({ code: 2, err: expect.stringContaining('--delete: "not-a-uuid" is not a vault id') });
  });
});

describe('cbr-flow vaults (no flag): capacity and forecast', () => {
  it('lists each vault the runs used once (a vault of two runs: RUNS 2), with its size, used GB and when it fills', async () => {
    const r = await cli(['vaults']);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toMatch(/^VAULT ID\s+NAME\s+PROJECT\s+REGION\s+RUNS\s+SIZE GB\s+USED GB\s+FORECAST$/);
    const row = (id: string) => r.lines.filter((l) => l.startsWith(id));
    expect(row(used.vaultId)).toHaveLength(1);
    expect(row(orphan.vaultId)).toHaveLength(1);
    // The used vault: 400 GB, a backup of the last 30 days -> it grows; the orphan holds nothing -> never.
    expect(row(used.vaultId)[0]).toMatch(new RegExp(`^${used.vaultId}\\s+cli_used_again\\s+${DEMO.projectId}\\s+${DEMO.region}\\s+2\\s+400\\s+\\d+(\\.\\d)?\\s+(fills in \\d+ days?|full)$`));
    expect(row(orphan.vaultId)[0]).toMatch(/\s+1\s+400\s+0\.0\s+never$/);
    const raw = JSON.parse((await cli(['vaults', '--json'])).out) as { vaults: Array<{ vaultId: string; growthGbPerDay: number; sizeGb: number }>; complete: boolean };
    expect(raw.complete).toBe(true);
    expect(raw.vaults.find((v) => v.vaultId === used.vaultId)).toMatchObject({ sizeGb: 400, growthGbPerDay: expect.any(Number) });
    expect(raw.vaults.find((v) => v.vaultId === used.vaultId)!.growthGbPerDay).toBeGreaterThan(0);
    expect((await cli(['vaults'], {}, [DEMO.peerProjectId])).out).toBe('no vaults used by runs yet');
  });
});

describe('cbr-flow vaults --delete', () => {
  const showVault = () =>
    createCbrClient({ region: DEMO.region, projectId: DEMO.projectId, endpoint: stack.emulator.url, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, retry: { maxAttempts: 1 } }).showVault(orphan.vaultId);

  it('refuses without --yes when stdin is not a terminal, naming --yes (the real bin, stdin a pipe); the vault stays', async () => {
    const token = await stack.runtime.issuer!.mint({ sub: 'cli-vaults-test', projects: '*' });
    const result = await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin/cbr-flow.mjs'), 'vaults', '--delete', orphan.vaultId, '--endpoint', stack.runtime.url], {
      cwd: PROJECT_ROOT, env: { ...process.env, CBR_FLOW_TOKEN: token }, timeout: 60_000,
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect('code' in result ? result.code : 0).toBe(2);
    expect(result.stderr).toContain(`--delete: stdin is not a terminal, so cbr-flow cannot ask before deleting vault ${orphan.vaultId}; pass --yes`);
    expect((await showVault()).vault.id).toBe(orphan.vaultId);
  });

  it('on a terminal asks y/N: anything but y keeps the vault', async () => {
    const questions: string[] = [];
    const r = await cli(['vaults', '--delete', orphan.vaultId], { isTTY: true, ask: async (q) => { questions.push(q); return ''; } });
    expect(r.code).toBe(0);
    expect(questions).toEqual([`Delete vault ${orphan.vaultId}? This cannot be undone. [y/N] `]);
    expect(r.err).toContain(`"cli_orphan" (project ${DEMO.projectId}, ${DEMO.region}) was created by run ${orphan.runId}, which ended FAILED`);
    expect(r.out).toBe(`vault ${orphan.vaultId} kept (not confirmed)`);
    expect((await showVault()).vault.id).toBe(orphan.vaultId);
  });

  it('refuses a vault a later run used (not an orphan, exit 2) and never calls DeleteVault for it', async () => {
    const r = await cli(['vaults', '--delete', used.vaultId, '--yes']);
    expect(r).toMatchObject({ code: 2, err: expect.stringContaining(`vault ${used.vaultId} is not an orphaned vault of cbr-flow`) });
    expect(stack.emulator.state.snapshot().vaults.map((v) => v.id)).toContain(used.vaultId);
  });

  it('with --yes deletes it: ShowVault then answers 404; deleting it again says it is gone', async () => {
    const r = await cli(['vaults', '--delete', orphan.vaultId, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`vault ${orphan.vaultId} "cli_orphan" deleted`);
    await expect(showVault()).rejects.toMatchObject({ name: 'CbrApiError', notFound: true });
    // The run record still names it, and it is still an "orphan" of the records; deleting it again says it is gone.
    const again = await cli(['vaults', '--delete', orphan.vaultId, '--yes']);
    expect(again).toMatchObject({ code: 0, out: `vault ${orphan.vaultId} was already gone from CBR: nothing deleted` });
    expect((await cli(['vaults'])).lines.find((l) => l.startsWith(orphan.vaultId))).toMatch(/gone \(deleted in CBR\)$/);
  });
});
