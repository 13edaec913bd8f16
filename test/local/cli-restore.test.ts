/**
 * `cbr-flow restore` and `cbr-flow status <restore id>` against the local runtime of the real
 * serverless.yml (packaged from a private copy, like test/local/cli-vaults.test.ts): the restores
 * function behind the template's JWT authorizer, the checker on its schedule following the restore
 * through CBR's operation logs, the CBR emulator (restores take 1.5-2 s). The local stage declares the
 * emulator's ecs-app-01 a drill target (stage param drillTargets); any other target needs --confirm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { signedHeaders } from '../../local/webhook-keys';
import { startPackagedStack, type PackagedStack } from '../helpers/packaged-stack';

const [SOURCE, WEB, , APP] = DEMO.servers.map((s) => s.id) as [string, string, string, string];
let stack: PackagedStack;
let runId: string;

const cli: PackagedStack['cli'] = (...args) => stack.cli(...args);

const restoreOpLogs = () => stack.emulator.state.snapshot().operationLogs.filter((o: { operation_type?: string }) => o.operation_type === 'restore');

beforeAll(async () => {
  stack = await startPackagedStack({ prefix: 'cbr-flow-cli-restore-', subject: 'cli-restore-test', emulator: { timing: { checkpointMs: [400, 800], restoreMs: [1500, 2000] } } });
  const body = JSON.stringify({
    projectId: DEMO.projectId,
    region: DEMO.region,
    vault: { mode: 'create', name: 'cli_restore', billing: { chargingMode: 'post_paid', size: 400 } },
    resources: [{ id: SOURCE, type: 'OS::Nova::Server' }],
  });
  const res = await fetch(`${stack.runtime.url}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders([stack.webhookKey], body) }, body });
  expect(res.status).toBe(202);
  runId = ((await res.json()) as { runId: string }).runId;
  const watched = await cli(['watch', runId, '--interval', '0.2', '--timeout', '60']);
  expect(watched.code, watched.out).toBe(0);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('cbr-flow restore', () => {
  it('refuses a target that is not a declared drill target without --confirm, saying why and what to type; nothing is sent to CBR', async () => {
    const r = await cli(['restore', '--run', runId, '--resource', SOURCE, '--target', WEB]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`server ${WEB} is not a declared drill target (DRILL_TARGETS)`);
    expect(r.err).toContain('overwrites every disk');
    expect(r.err).toContain(`--confirm ${WEB}`);
    const wrong = await cli(['restore', '--run', runId, '--resource', SOURCE, '--target', WEB, '--confirm', APP]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain(`--confirm must repeat the target's id ${WEB}`);
    expect(restoreOpLogs()).toHaveLength(0);
  });

  it('bad flags name the flag and what to give', async () => {
    expect((await cli(['restore', '--target', APP])).err).toMatch(/which backup\? --backup <backupId> --project <projectId>, or --run <runId> --resource <serverId>/);
    expect((await cli(['restore', '--backup', SOURCE, '--target', APP])).err).toMatch(/--project <projectId> is required with --backup/);
    expect((await cli(['restore', '--run', runId, '--target', APP])).err).toMatch(/--run and --resource go together \(--resource <serverId> is missing\)/);
    expect((await cli(['restore', '--run', runId, '--resource', SOURCE])).err).toMatch(/--target <serverId> is required/);
    expect((await cli(['restore', '--run', 'nope', '--resource', SOURCE, '--target', APP])).err).toMatch(/--run: "nope" is not an id/);
    expect((await cli(['restore', '--run', runId, '--resource', SOURCE, '--target', APP, '--vault', 'x'])).code).toBe(2);
  });

  let restoreId: string;
  it('restores onto the declared drill target and --wait follows it to COMPLETED (exit 0)', async () => {
    const r = await cli(['restore', '--run', runId, '--resource', SOURCE, '--target', APP, '--wait', '--interval', '0.2', '--timeout', '60']);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const m = /^restore ([0-9a-f-]{36}) accepted: backup \S+ onto server (\S+) \(PENDING\); status: cbr-flow status \1$/.exec(r.lines[0]!);
    expect(m, r.lines[0]).not.toBeNull();
    expect(m![2]).toBe(APP);
    restoreId = m![1]!;
    expect(r.lines.at(-1)).toMatch(new RegExp(`^restore ${restoreId} COMPLETED in \\d+\\.\\ds$`));
    expect(r.out).toContain('operation-log-found');
    expect(restoreOpLogs()).toHaveLength(1);
  });

  it('status <restore id> shows the restore: state, backup, target, disks and its timeline', async () => {
    const r = await cli(['status', restoreId]);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toBe(`restore  ${restoreId}`);
    expect(r.lines[1]).toBe('state    COMPLETED');
    expect(r.out).toMatch(new RegExp(`target   server ${APP} \\(declared drill target\\), power on: no`));
    expect(r.out).toMatch(/disk {3}\S+ -> \S+ \(system disk\) 40 GB onto 40 GB/);
    expect(r.out).toMatch(/finished .* \(\d+\.\ds by CBR's operation log\)/);
    const timeline = r.lines.slice(r.lines.indexOf('timeline') + 1).map((l) => /\] (\S+)/.exec(l)?.[1]);
    expect(timeline).toEqual(expect.arrayContaining(['requested', 'restore-called', 'restore-accepted', 'operation-log-found', 'completed']));
    expect(JSON.parse((await cli(['status', restoreId, '--json'])).out)).toMatchObject({ restoreId, state: 'COMPLETED', targetServerId: APP });
    // A run id still shows the run.
    expect((await cli(['status', runId])).lines[0]).toBe(`run      ${runId}`);
    const unknown = await cli(['status', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no run or restore 00000000-0000-4000-8000-000000000000/);
  });

  it('the same command again is the same restore: no second RestoreBackup', async () => {
    const r = await cli(['restore', '--run', runId, '--resource', SOURCE, '--target', APP]);
    expect(r.code, r.err).toBe(0);
    expect(r.lines[0]).toMatch(new RegExp(`^restore ${restoreId} already asked for \\(same backup and target\\)`));
    expect(restoreOpLogs()).toHaveLength(1);
  });

  it('with --confirm <target id> an undeclared target is restored (safety: confirmed)', async () => {
    const r = await cli(['restore', '--run', runId, '--resource', SOURCE, '--target', WEB, '--confirm', WEB, '--wait', '--interval', '0.2', '--timeout', '60']);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const id = /^restore (\S+) accepted/.exec(r.lines[0]!)![1]!;
    expect((await cli(['status', id])).out).toContain(`target   server ${WEB} (confirmed), power on: no`);
    expect(restoreOpLogs()).toHaveLength(2);
  });
});
