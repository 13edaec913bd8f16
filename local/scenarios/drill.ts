/**
 * `npm start -- --scenario drill`: a recovery drill on the embedded local stack (the real serverless.yml,
 * the CBR emulator). It backs up ecs-9f93-0002 through POST /runs, lets ten minutes pass on the emulator's
 * clock, then fires the drill exactly as EventBridge Scheduler would (the `restores` function, input
 * `{source: "cbr-flow.drill", ...}`): the latest backup is restored onto ecs-app-01, the local stage's
 * declared drill target; the checker follows the restore, calls the verification webhook (a local server
 * here that checks the Standard Webhooks signature and answers healthy) and records RPO and RTO.
 * Prints one line and exits 0 only when the restore COMPLETED, the verification was healthy, and RPO/RTO
 * equal what the emulator's own clock says (backup created_at, restore op log started_at/ended_at).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO } from '../../emulator/index';
import { verifyWebhook } from '../../lib/webhooks/verify';
import { ApiClient } from '../cli/client';
import { watchRun } from '../cli/watch';
import { startLocalStack } from '../stack';
import type { ScenarioOptions } from './index';

const SOURCE = DEMO.servers[0]; // ecs-9f93-0002, one 40 GB system disk
const TARGET = DEMO.servers[3]; // ecs-app-01: params.local.drillTargets in serverless.yml
// Within the 15 minutes of clock skew CBR's AK/SK signature allows (the emulator checks X-Sdk-Date too).
const BACKUP_AGE_MS = 10 * 60_000;

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

const emuMs = (t: unknown): number => Date.parse(`${String(t).replace(/Z?$/, 'Z')}`);

export async function drillScenario(o: ScenarioOptions): Promise<number> {
  const stack = await startLocalStack({
    dataDir: null,
    rateScale: 0.05,
    log: o.log,
    emulator: { timing: { checkpointMs: [1_000, 1_500], restoreMs: [4_000, 6_000] } },
  });
  const verifications: Array<{ ok: boolean; why?: string }> = [];
  const verifier = createServer((req, res) => {
    void readBody(req).then((body) => {
      try {
        verifyWebhook({ headers: req.headers as Record<string, string>, rawBody: body }, stack.webhooks.keys);
        const msg = JSON.parse(body) as { type?: string; serverId?: string };
        const ok = msg.type === 'drill.verify' && msg.serverId === TARGET.id;
        verifications.push({ ok });
        res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify({ healthy: ok }));
      } catch (err) {
        verifications.push({ ok: false, why: (err as Error).message });
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => verifier.listen(0, '127.0.0.1', resolve));
  const verifyUrl = `http://127.0.0.1:${(verifier.address() as AddressInfo).port}/verify`;
  const fail = (why: string): number => {
    console.error(`drill: FAILED: ${why}`);
    return 1;
  };
  try {
    const { runtime, emulator } = stack;
    if (!emulator) return fail('the scenario needs the embedded emulator (unset CBR_ENDPOINT)');
    const api = new ApiClient(runtime.url, { webhookKeys: stack.webhooks.keys, bearerToken: await runtime.issuer?.mint({ sub: 'cbr-flow-drill-scenario', projects: [DEMO.projectId] }) });

    // 1. A backup of the server, through the pipeline.
    const accepted = await api.startRun({
      projectId: DEMO.projectId,
      region: DEMO.region,
      vault: { mode: 'create', name: 'cbr_flow_drill', billing: { chargingMode: 'post_paid', size: 100 } },
      resources: [{ id: SOURCE.id, type: 'OS::Nova::Server', name: SOURCE.name }],
      completionWindowMinutes: 30,
    });
    const run = await watchRun(api, accepted.runId, { intervalMs: 250, timeoutMs: o.timeoutMs });
    if (run.state !== 'COMPLETED') return fail(`the backup run ${run.runId} ended ${run.state}: ${run.reason ?? ''}`);

    // 2. Time passes on CBR's clock; then the drill fires as the Scheduler delivers it.
    emulator.clock.advance(BACKUP_AGE_MS);
    const firing = {
      source: 'cbr-flow.drill', plan: 'drill-scenario', drill: 'ecs-9f93-0002', scheduledTime: new Date().toISOString(),
      projectId: DEMO.projectId, region: DEMO.region, resourceId: SOURCE.id, target: TARGET.id, powerOn: false,
      verifyUrl, rpoTargetSeconds: 3600, rtoTargetSeconds: 60,
    };
    const fired = (await runtime.invoke('restores', firing)) as { restoreId: string; backupId: string };

    // 3. The checker follows it to the end and verifies it.
    const deadline = Date.now() + o.timeoutMs;
    let restore;
    for (;;) {
      restore = (await api.findRestore(fired.restoreId))?.restore;
      if (restore && ['COMPLETED', 'FAILED', 'EXPIRED'].includes(restore.state) && (restore.state !== 'COMPLETED' || restore.drill?.result)) break;
      if (Date.now() > deadline) return fail(`restore ${fired.restoreId} still ${restore?.state ?? 'unknown'} after ${o.timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (restore.state !== 'COMPLETED') return fail(`restore ${restore.restoreId} ${restore.state}: ${restore.reason ?? ''}`);
    const result = restore.drill?.result;
    if (!result) return fail('no drill result recorded');

    // 4. The figures must be the emulator's: its backup created_at and its restore op log.
    const snap = emulator.state.snapshot();
    const backup = snap.backups.find((b) => b.id === fired.backupId);
    const opLog = snap.operationLogs.find((l) => l.id === restore.opLogId);
    if (!backup || !opLog) return fail(`the emulator has no backup ${fired.backupId} or op log ${restore.opLogId}`);
    const rpo = Math.round((emuMs(opLog.started_at) - emuMs(backup.created_at)) / 1000);
    const rto = Math.round((emuMs(opLog.ended_at) - emuMs(opLog.started_at)) / 1000);
    const line = `drill: restored ${fired.backupId} onto ${TARGET.name}, RPO ${result.rpoSeconds} s, RTO ${result.rtoSeconds} s, verification ${result.verification}`;
    o.print(line);
    if (result.rpoSeconds !== rpo || result.rtoSeconds !== rto) return fail(`recorded RPO/RTO ${result.rpoSeconds}/${result.rtoSeconds} s differ from the emulator's ${rpo}/${rto} s`);
    if (rpo < BACKUP_AGE_MS / 1000) return fail(`RPO ${rpo} s is less than the ${BACKUP_AGE_MS / 1000} s that passed on the emulator's clock`);
    if (result.verification !== 'healthy' || verifications.length === 0 || !verifications.every((v) => v.ok)) return fail(`verification ${result.verification} (${verifications.map((v) => v.why ?? v.ok).join(', ')})`);
    if (!result.ok) return fail(`drill not ok: ${result.problems.join('; ')}`);
    return 0;
  } finally {
    await new Promise<void>((resolve) => verifier.close(() => resolve()));
    await stack.stop();
  }
}
