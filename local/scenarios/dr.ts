/**
 * `npm start -- --scenario dr` (issue 15): disaster recovery end to end on the embedded local stack and
 * an emulator serving two regions. One run backs up two servers, shares them with two projects (the
 * peer, with its own credentials in CBR_CREDENTIALS_MAP, which accepts into its vault `dr_inbox`; a
 * third project without credentials, time-boxed to 1 hour, which stays pending) and replicates both
 * backups to ap-southeast-3 (the demo account's project there, replication vault `dr_replica`). Then
 * the clock is moved past the share's lifetime: the checker's share sweep (lib/pipeline/share-sweep.ts,
 * the code the stack's check-status runs every minute) runs here on the stack's run store and the
 * emulator with its clock at now + 1 h 2 min, under the checker's sweep lease, and revokes the
 * time-boxed members. Prints
 *   dr: members accepted A, pending P, revoked R; copies available C in region X
 * and resolves to 0 only when A = 2, P = 0, R = 2 and C = 2 (run COMPLETED, and CBR agrees: the peer's
 * members accepted, the third project's gone, two replicas available in ap-southeast-3).
 */
import { randomUUID } from 'node:crypto';
import { DEMO } from '../../emulator/index';
import { SWEEP_LEASE_KEY } from '../../lib/pipeline/check-status';
import { sweepShares } from '../../lib/pipeline/share-sweep';
import type { MessageBus } from '../../lib/ports';
import { cbrFactory } from '../../lib/wiring/cbr-factory';
import { projectCredentials } from '../../lib/wiring/credentials';
import { DEFAULT_SETTINGS, type PipelineDeps } from '../../lib/wiring/deps';
import { ApiClient } from '../cli/client';
import { formatRun } from '../cli/format';
import { watchRun } from '../cli/watch';
import { startLocalStack, type LocalStack } from '../stack';
import type { ScenarioOptions } from './index';

const DEST_REGION = DEMO.other.region;
const DEST_PROJECT = DEMO.other.projectId;
/** A third project (another account, no credentials here): the time-boxed share's receiver. */
const THIRD = { id: 'a7c3e5f7091b2d4f6a8c0e1f3a5b7c9d', name: DEMO.region, domainName: 'cbr-dr-third' };
const TTL_HOURS = 1;
const owner = { type: 'aksk', ak: DEMO.ak, sk: DEMO.sk };
const CREDENTIALS_MAP = JSON.stringify({ [DEMO.projectId]: owner, [DEST_PROJECT]: owner, [DEMO.peer.projectId]: { type: 'aksk', ak: DEMO.peer.ak, sk: DEMO.peer.sk } });

export function drRunRequest(): Record<string, unknown> {
  return {
    projectId: DEMO.projectId,
    region: DEMO.region,
    vault: { mode: 'create', name: 'dr_source', billing: { chargingMode: 'post_paid', size: 500 } },
    resources: DEMO.servers.slice(0, 2).map((s) => ({ id: s.id, type: 'OS::Nova::Server', name: s.name })),
    checkpoint: { name: 'dr' },
    shareWith: [
      { projectId: DEMO.peer.projectId, vaultName: 'dr_inbox' },
      { projectId: THIRD.id, ttlHours: TTL_HOURS },
    ],
    replication: [{ region: DEST_REGION, projectId: DEST_PROJECT, vaultName: 'dr_replica', vaultSizeGb: 500 }],
    completionWindowMinutes: 30,
  };
}

/** Nothing in the share sweep publishes: a send would be a bug, so it fails loudly. */
const noBus: MessageBus = {
  send: async (queue) => {
    throw new Error(`the share sweep published to ${queue}; it never publishes`);
  },
};

export async function runDr(o: ScenarioOptions): Promise<number> {
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      dataDir: null,
      httpPort: 0,
      rateScale: o.rateScale,
      log: o.log,
      onPhase: o.onPhase,
      webhookAuth: 'off',
      processEnv: {},
      emulator: {
        regions: [DEST_REGION],
        projects: [...DEMO.projects, THIRD],
        timing: { checkpointMs: [2_000, 3_000], replicationMs: [3_000, 5_000] },
      },
      env: { CBR_CREDENTIALS_MAP: CREDENTIALS_MAP },
    });
    const { runtime, emulator } = stack;
    if (!emulator || !stack.runStore) throw new Error('the dr scenario needs the embedded emulator and the run store');
    const api = new ApiClient(runtime.url, { bearerToken: await runtime.issuer?.mint({ sub: 'cbr-flow-dr', projects: [DEMO.projectId] }) });
    o.print(`dr: backing up ${DEMO.servers[0].name} and ${DEMO.servers[1].name}; sharing with ${DEMO.peer.projectId} (accepts into dr_inbox) and ${THIRD.id} (${TTL_HOURS} h); replicating to ${DEST_REGION}`);
    const { runId } = await api.startRun(drRunRequest());
    const run = await watchRun(api, runId, { intervalMs: 250, timeoutMs: o.timeoutMs });
    o.print(`dr: run ${runId} ${run.state}${run.reason ? ` (${run.reason})` : ''}`);

    // Past the time-boxed share's lifetime: the checker's share sweep with its clock moved on.
    const offsetMs = TTL_HOURS * 3600_000 + 2 * 60_000;
    const credentials = projectCredentials({ STAGE: 'local', CBR_CREDENTIALS_JSON: JSON.stringify(owner), AWS_REGION: 'us-east-1', SECRETS_TTL_SECONDS: 300, CBR_CREDENTIALS_MAP: CREDENTIALS_MAP });
    const deps: PipelineDeps = {
      store: stack.runStore,
      bus: noBus,
      clock: { now: () => Date.now() + offsetMs },
      cbr: cbrFactory({ CBR_ENDPOINT: stack.cbrEndpoint, IAM_ENDPOINT: stack.cbrEndpoint, CBR_TIMEOUT_MS: 10_000 }, credentials),
      settings: { ...DEFAULT_SETTINGS, defaultRegion: DEMO.region },
      newToken: randomUUID,
    };
    const holder = randomUUID();
    let lease = await deps.store.acquireLease(SWEEP_LEASE_KEY, holder, Date.now(), 30_000);
    for (let i = 0; !lease.acquired && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 250));
      lease = await deps.store.acquireLease(SWEEP_LEASE_KEY, holder, Date.now(), 30_000);
    }
    if (!lease.acquired) throw new Error('the checker kept the sweep lease');
    let swept;
    try {
      swept = await sweepShares(deps, (level, message, fields) => o.log(JSON.stringify({ level, message, ...fields })));
    } finally {
      await deps.store.releaseLease(SWEEP_LEASE_KEY, holder, Date.now());
    }
    o.print(`dr: clock + ${Math.round(offsetMs / 60_000)} min: share sweep looked at ${swept.watches} watch(es), revoked ${swept.revoked}`);

    const after = await api.getRun(runId);
    o.print(formatRun(after).split('\n').filter((l) => !l.startsWith('  [') && !l.startsWith('timeline')).join('\n'));
    const count = (status: string) => after.shares.filter((s) => s.status === status).length;
    const accepted = count('accepted');
    const pending = count('pending');
    const revoked = count('revoked');
    const copies = after.copies.filter((c) => c.state === 'COMPLETED' && c.region === DEST_REGION).length;
    o.print(`dr: members accepted ${accepted}, pending ${pending}, revoked ${revoked}; copies available ${copies} in region ${DEST_REGION}`);

    // CBR's side agrees with the run: members as recorded, replicas available in the other region.
    const members = emulator.state.snapshot().members as Array<{ dest_project_id: string; status: string }>;
    const replicas = (emulator.state.snapshot(DEST_REGION).backups as Array<{ status: string; image_type: string }>).filter((b) => b.image_type === 'replication' && b.status === 'available');
    const cbrAgrees =
      members.filter((m) => m.dest_project_id === DEMO.peer.projectId && m.status === 'accepted').length === 2 &&
      members.every((m) => m.dest_project_id !== THIRD.id) &&
      replicas.length === 2;
    if (!cbrAgrees) o.print(`dr: CBR disagrees: members ${JSON.stringify(members)}, ${replicas.length} replica(s) available in ${DEST_REGION}`);
    return run.state === 'COMPLETED' && accepted === 2 && pending === 0 && revoked === 2 && copies === 2 && cbrAgrees ? 0 : 1;
  } finally {
    await stack?.stop();
  }
}
