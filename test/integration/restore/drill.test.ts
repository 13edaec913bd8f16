// Recovery drills end to end on loopback (issue 18 item 3): a drill firing (what the Scheduler delivers to
// the restores function) restores the LATEST available backup of the drill's server onto its declared
// drill target; the checker follows the restore through CBR's op log, then measures RPO (restore start -
// backup created_at) and RTO (op log end - start) on the emulator's clock, POSTs the signed verification
// webhook (a real loopback server; signature verified), records the result on the restore, writes the
// DrillsCompleted/DrillsFailed metric and, when not ok, notifies the plan's notifyUrl. The CBR emulator
// over HTTP, dynalite through DynamoRunStore, one virtual clock; the hooks are lib/wiring/drill-hooks.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../../emulator/index';
import { loadConfig } from '../../../lib/config';
import { ValidationError } from '../../../lib/errors';
import { fireDrill, type DrillDeps } from '../../../lib/restore/drill';
import { restoresHandler } from '../../../lib/restore/edge';
import { verifyWebhook } from '../../../lib/webhooks/verify';
import { drillHooksFrom } from '../../../lib/wiring/drill-hooks';
import { newWebhookKey } from '../../../local/webhook-keys';
import { UNREACHABLE_AWS_ENV } from '../../helpers/factories';
import { startLoopbackServer, type LoopbackServer } from '../../helpers/loopback-server';
import { useRestoreHarness } from '../../helpers/restore-harness';

const SOURCE = DEMO.servers[0].id; // ecs-9f93-0002, one 40 GB system disk
const WEB = DEMO.servers[1].id; // ecs-web-01: not a drill target
const TARGET = DEMO.servers[3].id; // ecs-app-01: the declared drill target
const KEY = newWebhookKey();

let hooks: LoopbackServer;
const metrics: Array<Record<string, unknown>> = [];
const h = useRestoreHarness<DrillDeps>({
  table: 'drills-it', vault: 'drill-it', resources: [SOURCE], drillTargets: [TARGET], start: Date.UTC(2026, 11, 6, 3, 0, 0),
  log: () => undefined,
  cbrOptions: { sleep: async () => undefined },
  deps: (base) => {
    const config = loadConfig({ STAGE: 'local', ...UNREACHABLE_AWS_ENV, WEBHOOK_AUTH: 'off', CBR_CREDENTIALS_JSON: JSON.stringify({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }), WEBHOOK_KEYS_JSON: JSON.stringify([KEY]), NOTIFY_ALLOW_LOOPBACK: 'true', NOTIFY_MAX_ATTEMPTS: '2' });
    metrics.length = 0;
    return { ...base, backups: base.cbr, drillHooks: drillHooksFrom(config, (line) => metrics.push(JSON.parse(line) as Record<string, unknown>)) };
  },
});
const { restoreCalls } = h;
beforeAll(async () => {
  hooks = await startLoopbackServer();
});
afterAll(async () => {
  await hooks?.stop();
});

async function backup(): Promise<{ id: string; createdAt: number }> {
  const b = await h.backupOf(SOURCE);
  return { id: b.id, createdAt: Date.parse(`${String(b.created_at).replace(/Z?$/, 'Z')}`) };
}

const firing = (over: Record<string, unknown> = {}) => ({
  source: 'cbr-flow.drill', plan: 'nightly-web', drill: 'web-1', scheduledTime: new Date(h.now).toISOString(),
  projectId: DEMO.projectId, region: DEMO.region, resourceId: SOURCE, target: TARGET, powerOn: false,
  verifyUrl: `${hooks.url}/verify`, notifyUrl: `${hooks.url}/notify`, ...over,
});

describe('recovery drills', () => {
  it('restores the latest available backup onto the drill target; RPO and RTO from the emulator clock; a healthy signed verification; DrillsCompleted', async () => {
    await backup();
    h.now += 3_600_000;
    const latest = await backup();
    h.now += 600_000; // the drill fires 10 min after the latest backup
    hooks.respond(() => ({ status: 200, body: { healthy: true } }));
    const before = hooks.requests.length;
    const calls = restoreCalls();
    const { restore, created } = await fireDrill(h.deps, firing());
    expect(created).toBe(true);
    expect(restore).toMatchObject({ backupId: latest.id, targetServerId: TARGET, safety: 'drill-target', source: { kind: 'drill' }, drill: { plan: 'nightly-web', name: 'web-1' } });
    const startedAt = h.now; // the emulator starts the restore op log when RestoreBackup is answered
    const done = await h.trackUntilDone(restore.restoreId, 30);
    expect(done.state).toBe('COMPLETED');
    expect(done.drill!.result).toMatchObject({ ok: true, verification: 'healthy', rtoSeconds: 30, problems: [] });
    expect(done.drill!.result!.rpoSeconds).toBe(Math.round((startedAt - latest.createdAt) / 1000));
    expect(done.drill!.result!.rpoSeconds).toBeGreaterThanOrEqual(600);
    expect(done.timeline.map((e) => e.event)).toContain('drill');
    expect(restoreCalls() - calls).toBe(1);
    // The verification: one signed POST (Standard Webhooks, the notification keys), nothing to notifyUrl.
    const sent = hooks.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(['/verify']);
    expect(() => verifyWebhook({ headers: sent[0]!.headers as Record<string, string>, rawBody: sent[0]!.body }, [KEY])).not.toThrow();
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ type: 'drill.verify', restoreId: restore.restoreId, serverId: TARGET, backupId: latest.id });
    expect(metrics.map((m) => Object.keys(m).filter((k) => k.startsWith('Drills')))).toEqual([['DrillsCompleted']]);
    // The same firing again (a duplicate delivery) is the same restore: no second RestoreBackup.
    const again = await fireDrill(h.deps, firing({ scheduledTime: restore.drill!.scheduledTime }));
    expect(again).toMatchObject({ created: false, restore: { restoreId: restore.restoreId } });
    expect(restoreCalls() - calls).toBe(1);
  });

  it('an unhealthy answer, or a missed RTO target, fails the drill: DrillsFailed and a signed drill.failed notification naming the problems', async () => {
    await backup();
    h.now += 60_000;
    hooks.respond((req) => (req.path === '/verify' ? { status: 503, body: { healthy: false } } : { status: 204 }));
    const before = hooks.requests.length;
    const { restore } = await fireDrill(h.deps, firing({ drill: 'unhealthy' }));
    const done = await h.trackUntilDone(restore.restoreId, 30);
    expect(done.state).toBe('COMPLETED'); // the restore itself worked
    expect(done.drill!.result).toMatchObject({ ok: false, verification: 'unhealthy', notified: expect.stringMatching(/^delivered/) });
    expect(done.drill!.result!.problems.join()).toMatch(/verification unhealthy \(HTTP 503/);
    const notes = hooks.requests.slice(before).filter((r) => r.path === '/notify');
    expect(notes).toHaveLength(1);
    expect(JSON.parse(notes[0]!.body)).toMatchObject({ type: 'drill.failed', restoreId: restore.restoreId, verification: 'unhealthy' });
    expect(metrics.some((m) => 'DrillsFailed' in m)).toBe(true);

    hooks.respond(() => ({ status: 200, body: {} }));
    h.now += 120_000;
    const late = await fireDrill(h.deps, firing({ drill: 'late', rtoTargetSeconds: 10, rpoTargetSeconds: 5 }));
    const r = (await h.trackUntilDone(late.restore.restoreId, 30)).drill!.result!;
    expect(r).toMatchObject({ ok: false, verification: 'healthy', rtoSeconds: 30 });
    expect(r.problems).toEqual([expect.stringMatching(/^RPO \d+ s > target 5 s$/), 'RTO 30 s > target 10 s']);
  });

  it('a drill onto a server that is not a declared drill target is refused (nothing called); no backup at all is a clear error', async () => {
    const calls = restoreCalls();
    await expect(fireDrill(h.deps, firing({ target: WEB, drill: 'bad' }))).rejects.toThrow(ValidationError);
    await expect(fireDrill(h.deps, firing({ target: WEB, drill: 'bad' }))).rejects.toThrow(/not a declared drill target/);
    await expect(fireDrill(h.deps, firing({ resourceId: DEMO.servers[2].id, drill: 'nothing' }))).rejects.toThrow(/has no available backup/);
    expect(restoreCalls()).toBe(calls);
  });

  it('the restores function dispatches a drill firing (Scheduler input) to the drill, HTTP events to the routes', async () => {
    await backup();
    h.now += 60_000;
    const handler = restoresHandler(h.deps);
    const answer = (await handler(firing({ drill: 'via-handler' }))) as { restoreId: string; created: boolean; state: string; targetServerId: string };
    expect(answer).toMatchObject({ created: true, targetServerId: TARGET });
    expect((await h.store.getRestore(answer.restoreId))!.drill!.name).toBe('via-handler');
    await h.trackUntilDone(answer.restoreId, 30);
  });
});
