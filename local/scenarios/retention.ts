/**
 * `npm start -- --scenario retention`: a simulated year of daily backups of three servers under a GFS
 * rule (gfs {days 7, weeks 4, months 12, years 1}, floor 2, UTC), on the emulator's manual clock,
 * against the embedded local stack (every handler of serverless.yml; the retention-sweep function
 * fired through its hourly rule). The year ends at the real now: the sweep decides at the function's
 * own clock, and the checker finds a run's backups from the run's real start time, so only today's
 * backups can be real runs:
 *
 * - the 364 days before today are seeded straight into the emulator over its CBR API: the vault
 *   (CreateVault, the three servers bound) on day 1, then one CreateCheckpoint of the vault a day
 *   (the manual clock set to that day), named like cbr-flow's checkpoints — what a nightly run leaves;
 * - one of those backups is put on hold through the API (POST /holds) on a mid-month day the rule lets
 *   go, and one foreign checkpoint (CBR's own `manualbk_` name, not cbr-flow's: a backup of each server)
 *   is made in the vault;
 * - today, two real runs through the pipeline (POST /runs -> ... -> COMPLETED, the emulator clock
 *   ticking fast while one is under way) reuse the vault with the rules: they record the vault, its
 *   checkpoint name and rules, which is how the sweep learns it; the vault's capacity check passes;
 * - the sweep, fired through its hourly rule with the local rate limit off (CBR_RATE_LIMIT_RPS 0: a
 *   year of deletes in seconds, not the template's 3/s), then once more (it must delete nothing).
 *
 * Prints `retention: kept K, deleted D, held H, refused R, vault used U of S GB` (D and R from the
 * ledger, GET /retention/ledger) and exits 0 only when the backups left equal what an independent oracle
 * (lib/retention/oracle.ts, not the engine) keeps of the whole year, the ledger's deletions are exactly
 * the others, the held and the foreign backups are still there, the second sweep deleted nothing, and
 * both runs COMPLETED (none failed for capacity).
 */
import { createCbrClient } from '../../lib/cbr/client';
import { RetentionRules } from '../../lib/retention/rules';
import { retentionOracle } from '../../lib/retention/oracle';
import { DEMO } from '../../emulator/index';
import { ApiClient } from '../cli/client';
import { watchRun } from '../cli/watch';
import { startLocalStack } from '../stack';
import type { ScenarioOptions } from './index';

const DAY = 86_400_000;
const DAYS = 365;
const VAULT = 'retention_year';
/** Full backups of the three servers: 110 GB; incremental ones with the emulator's ratio 0.02: 2.2 GB a day, ~0.9 TB a year. */
const VAULT_SIZE_GB = 1500;
const PREFIX = 'daily';
const RULES_INPUT = { gfs: { days: 7, weeks: 4, months: 12, years: 1 }, floor: 2, timezone: 'UTC' };
/** Three of the demo servers (40, 140 and 40 GB). */
const SERVERS = [DEMO.servers[0], DEMO.servers[1], DEMO.servers[3]] as const;
const HOLD_DAY = 200;
const FOREIGN_DAY = 150;

interface Tracked { id: string; resource: string; ms: number; own: boolean }

export async function retentionScenario(options: ScenarioOptions): Promise<number> {
  const t0 = Date.now();
  const say = (line: string) => options.log(`[retention ${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}`);
  const failures: string[] = [];
  const today = Date.now();
  /** Day i of the year (DAYS - 1 is today). */
  const dayAt = (i: number) => today - (DAYS - 1 - i) * DAY;
  const stack = await startLocalStack({
    dataDir: null,
    rateScale: 0.02,
    log: options.log,
    // The functions sign with the real time while the emulator's clock walks the year.
    emulator: { clock: 'manual', startTime: dayAt(0), capacity: { incrementalRatio: 0.02 }, timing: { checkpointMs: [1_000, 1_000], backupDeleteMs: [1_000, 1_000] }, limits: { sdkDateSkewMs: 400 * DAY } },
    env: { CBR_RATE_LIMIT_RPS: '0' },
  });
  let ticker: NodeJS.Timeout | undefined;
  try {
    const emu = stack.emulator!;
    const { runtime } = stack;
    const api = new ApiClient(runtime.url, { webhookKeys: stack.webhooks.keys, bearerToken: await runtime.issuer!.mint({ sub: 'retention-scenario', projects: [DEMO.projectId] }, 600) });
    const cbr = createCbrClient({ region: DEMO.region, projectId: DEMO.projectId, endpoint: stack.cbrEndpoint, auth: { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }, now: () => new Date(emu.clock.now()) });
    const sweepRule = runtime.schedules().find((s) => s.functionKey === 'retention-sweep');
    if (!sweepRule) throw new Error('serverless.yml gives retention-sweep no schedule');
    /** Fires the sweep's rule; an automatic firing holding the lease just delays it. */
    const sweep = async (): Promise<{ deleted: number; refused: number; errors: number }> => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const r = (await runtime.fireSchedule(sweepRule.logicalId)) as { busy?: true; deleted?: number; refused?: number; errors?: number };
        if (r.busy) { await new Promise((ok) => setTimeout(ok, 200)); continue; }
        emu.clock.advance(2_000); // CBR finishes the deletes (deleting -> gone)
        return { deleted: r.deleted ?? 0, refused: r.refused ?? 0, errors: r.errors ?? 0 };
      }
      throw new Error('the retention sweep stayed busy for 20 s');
    };
    const runs: Array<{ runId: string; state: string; reason?: string | undefined }> = [];
    /** One real run of the three servers now, through the pipeline; the emulator clock runs 10x while it is under way. */
    const realRun = async (): Promise<void> => {
      emu.clock.set(Math.max(Date.now(), emu.clock.now()));
      ticker = setInterval(() => emu.clock.advance(500), 50);
      const accepted = await api.startRun({
        projectId: DEMO.projectId,
        region: DEMO.region,
        vault: { mode: 'reuse', name: VAULT },
        resources: SERVERS.map((s) => ({ id: s.id, type: 'OS::Nova::Server', name: s.name })),
        checkpoint: { name: PREFIX },
        retention: RULES_INPUT,
        completionWindowMinutes: 30,
      });
      const run = await watchRun(api, accepted.runId, { intervalMs: 100, timeoutMs: 60_000 });
      clearInterval(ticker);
      ticker = undefined;
      runs.push({ runId: run.runId, state: run.state, reason: run.reason ?? run.lastError?.message });
    };

    say(`the ${DAYS - 1} days before today: seeded through the emulator's CBR API`);
    const created = await cbr.createVault({
      vault: {
        name: VAULT,
        billing: { cloud_type: 'public', consistent_level: 'crash_consistent', object_type: 'server', protect_type: 'backup', size: VAULT_SIZE_GB, charging_mode: 'post_paid' },
        resources: SERVERS.map((s) => ({ id: s.id, type: 'OS::Nova::Server' })),
      },
    });
    const vaultId = created.vault!.id;
    const listVault = async () => {
      const out: Array<{ id: string; name: string; resource: string; status: string; ms: number }> = [];
      for await (const b of cbr.paginateBackups({ vault_id: vaultId }, { pageSize: 1000 })) {
        // The instants the oracle uses are CBR's own created_at (the emulator's clock when each backup was made).
        const at = b.created_at ?? '';
        if (!b.parent_id) out.push({ id: b.id, name: b.name ?? '', resource: b.resource_id ?? '', status: b.status, ms: Date.parse(/Z$|[+-]\d\d:\d\d$/.test(at) ? at : `${at}Z`) });
      }
      return out;
    };
    const ownName = (name: string) => new RegExp(`^${PREFIX}_[0-9a-f]{32}(-s\\d+)?$`).test(name);
    const ever = new Map<string, Tracked>();
    const remember = async () => {
      for (const b of await listVault()) if (!ever.has(b.id)) ever.set(b.id, { id: b.id, resource: b.resource, ms: b.ms, own: ownName(b.name) });
    };
    let heldId: string | undefined;
    let foreignIds: string[] = [];
    for (let i = 0; i < DAYS - 1; i++) {
      emu.clock.set(dayAt(i));
      await cbr.createCheckpoint({ checkpoint: { vault_id: vaultId, parameters: { name: `${PREFIX}_${crypto.randomUUID().replace(/-/g, '')}`, incremental: true } } });
      emu.clock.advance(2_000);
      if (i === FOREIGN_DAY) {
        // Made outside cbr-flow (CBR names it manualbk_...): never touched.
        await cbr.createCheckpoint({ checkpoint: { vault_id: vaultId } });
        emu.clock.advance(2_000);
      }
      if (i === FOREIGN_DAY || i >= HOLD_DAY) await remember();
      if (i === FOREIGN_DAY) foreignIds = [...ever.values()].filter((b) => !b.own).map((b) => b.id);
      const dom = new Date(dayAt(i)).getUTCDate();
      if (i >= HOLD_DAY && heldId === undefined && dom >= 5 && dom <= 25) {
        // A backup of a mid-month day months ago: the rule alone would let it go.
        const target = [...ever.values()].filter((b) => b.own && b.resource === SERVERS[1].id).sort((a, b) => b.ms - a.ms)[0]!;
        const { hold } = await api.placeHold({ backupId: target.id, projectId: DEMO.projectId, reason: 'scenario: legal hold' });
        heldId = hold.backupIds[0];
      }
    }
    await remember();
    const usedBefore = Number((await cbr.showVault(vaultId)).vault.billing?.used ?? 0) / 1024;

    say(`today: two real runs; vault used ${usedBefore.toFixed(0)} of ${VAULT_SIZE_GB} GB`);
    await realRun();
    await realRun();
    await remember();

    say('the sweep, through its hourly rule');
    const first = await sweep();
    const second = await sweep();
    const after = await listVault();
    const rules = RetentionRules.parse(RULES_INPUT);
    const holds = new Set(heldId ? [heldId] : []);
    const ownAfter = new Set(after.filter((b) => ownName(b.name)).map((b) => b.id));
    const year = [...ever.values()].filter((b) => b.own);
    const keep = retentionOracle(year.map((b) => ({ id: b.id, resource: b.resource, ms: b.ms, status: 'available' })), rules, holds, 'UTC', Date.now());
    const expected = new Set(year.filter((b) => keep.has(b.id)).map((b) => b.id));
    const diff = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x));
    if (diff(ownAfter, expected).length + diff(expected, ownAfter).length > 0) {
      failures.push(`left ${ownAfter.size} own backups, the oracle over the year (${year.length} backups) keeps ${expected.size}: extra ${diff(ownAfter, expected).join(',') || '-'}; missing ${diff(expected, ownAfter).join(',') || '-'}`);
    }
    const ledger = (await api.retentionLedger(undefined)).entries;
    const deletedIds = new Set(ledger.filter((e) => e.result === 'deleted').map((e) => e.backupId));
    const refused = ledger.filter((e) => e.result === 'refused').length;
    const letGo = new Set(year.filter((b) => !keep.has(b.id)).map((b) => b.id));
    if (diff(deletedIds, letGo).length + diff(letGo, deletedIds).length > 0) failures.push(`the ledger records ${deletedIds.size} deletions, the oracle lets ${letGo.size} go`);
    if (second.deleted !== 0) failures.push(`a second sweep deleted ${second.deleted} more`);
    if (first.errors + second.errors > 0) failures.push(`the sweeps had ${first.errors + second.errors} error(s)`);
    if (!heldId || !ownAfter.has(heldId)) failures.push(`the held backup ${heldId ?? '(none placed)'} is gone`);
    const left = new Set(after.map((b) => b.id));
    if (foreignIds.length !== SERVERS.length) failures.push(`the foreign checkpoint made ${foreignIds.length} backups, not ${SERVERS.length}`);
    for (const id of foreignIds) if (!left.has(id)) failures.push(`the foreign backup ${id} is gone`);
    for (const r of runs) if (r.state !== 'COMPLETED') failures.push(`run ${r.runId} ended ${r.state}: ${r.reason ?? ''}`);
    if (refused > 0) failures.push(`CBR refused ${refused} delete(s)`);

    const billing = (await cbr.showVault(vaultId)).vault.billing;
    const usedGb = Math.round(Number(billing?.used ?? 0) / 1024);
    const sizeGb = Number(billing?.size ?? VAULT_SIZE_GB);
    options.print(`retention: kept ${ownAfter.size}, deleted ${deletedIds.size}, held ${holds.size}, refused ${refused}, vault used ${usedGb} of ${sizeGb} GB`);
    say(`${runs.length} real runs, ${DAYS - 1} seeded days, ${year.length} own backups made (+${foreignIds.length} foreign); the sweep deleted ${first.deleted}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const f of failures) console.error(`retention scenario: ${f}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    if (ticker) clearInterval(ticker);
    await stack.stop();
  }
}
