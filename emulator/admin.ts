/**
 * Admin API on its own loopback listener (off unless `admin: true`), separate from the CBR paths so no
 * CBR client can reach it by accident. JSON in, JSON out; bad input -> 400 {error, issues}.
 *
 *   GET    /admin                         route list
 *   GET    /admin/state                   request counts, fault stats, clock, object counts
 *   GET    /admin/snapshot                every vault/checkpoint/backup/member/op log in wire shape
 *   POST   /admin/reset                   drop all vaults, checkpoints, backups, members, op logs, tokens
 *   GET    /admin/request-counts          {total, byOperation, byStatus}
 *   DELETE /admin/request-counts          reset the counts
 *   GET    /admin/faults                  rules
 *   POST   /admin/faults                  add a rule (FaultRuleInput) -> 201 rule
 *   DELETE /admin/faults                  remove every rule and script
 *   DELETE /admin/faults/{id}             remove one rule
 *   GET    /admin/scripts                 pending checkpoint scripts
 *   POST   /admin/scripts                 add a script (CheckpointScriptInput) -> 201 script
 *   DELETE /admin/scripts/{id}            remove one script
 *   POST   /admin/checkpoints/{id}/resolve  {outcome: available|error, reason?} end a protecting checkpoint now
 *   POST   /admin/restores/{op log id}/resolve  {outcome: success|failed, reason?} end a running restore now
 *   POST   /admin/replications/{replica backup id}/resolve  {outcome: success|failed, reason?} end a running replication now
 *   PUT    /admin/vaults/{id}/status      {status: available|lock|frozen|error}
 *   POST   /admin/backups/{id}/restore    {ms} the backup is `restoring` for ms (DeleteBackup refuses, 6216)
 *   DELETE /admin/resources/{id}          delete a server/disk (vaults still listing it show protect_status "deleted")
 *   POST   /admin/orders/{id}/pay         pay a yearly/monthly vault's order now (the vault appears)
 *   GET    /admin/clock                   {now, iso, kind}
 *   POST   /admin/clock/advance           {ms}
 *   POST   /admin/clock/set               {epochMs}
 *   POST   /admin/seed                    {seed} restart the fault PRNG
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { EmulatorClock } from './clock';
import type { CheckpointScriptInput, FaultController, FaultRuleInput } from './faults';
import type { EmulatorState } from './state';

const ROUTES = [
  'GET /admin',
  'GET /admin/state',
  'GET /admin/snapshot',
  'POST /admin/reset',
  'GET /admin/request-counts',
  'DELETE /admin/request-counts',
  'GET /admin/faults',
  'POST /admin/faults',
  'DELETE /admin/faults',
  'DELETE /admin/faults/{id}',
  'GET /admin/scripts',
  'POST /admin/scripts',
  'DELETE /admin/scripts/{id}',
  'POST /admin/checkpoints/{id}/resolve',
  'POST /admin/restores/{id}/resolve',
  'POST /admin/replications/{id}/resolve',
  'PUT /admin/vaults/{id}/status',
  'POST /admin/backups/{id}/restore',
  'DELETE /admin/resources/{id}',
  'POST /admin/orders/{id}/pay',
  'GET /admin/clock',
  'POST /admin/clock/advance',
  'POST /admin/clock/set',
  'POST /admin/seed',
];

const Resolve = z.strictObject({ outcome: z.enum(['available', 'error']), reason: z.string().min(1).optional() });
const ResolveRestore = z.strictObject({ outcome: z.enum(['success', 'failed']), reason: z.string().min(1).optional() });
const VaultStatus = z.strictObject({ status: z.enum(['available', 'lock', 'frozen', 'error']) });
const Advance = z.strictObject({ ms: z.number().min(0) });
const Restore = z.strictObject({ ms: z.number().min(1) });
const SetClock = z.strictObject({ epochMs: z.number() });
const Seed = z.strictObject({ seed: z.int() });

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw new AdminError(
      400,
      r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
      r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
    );
  }
  return r.data;
}

export function createAdminHandler(deps: { state: EmulatorState; faults: FaultController; clock: EmulatorClock }) {
  const { state, faults, clock } = deps;
  const route = (method: string, segs: string[], body: unknown): { status: number; body?: unknown } => {
    const key = `${method} /${segs.join('/')}`;
    const [, a, b, c] = segs;
    if (key === 'GET /admin') return { status: 200, body: { routes: ROUTES } };
    if (key === 'GET /admin/state') {
      const snap = state.snapshot();
      return {
        status: 200,
        body: {
          now: clock.now(),
          requestCounts: state.requestCounts,
          faultStats: faults.stats,
          objects: {
            vaults: snap.vaults.length,
            checkpoints: snap.checkpoints.length,
            backups: snap.backups.length,
            members: snap.members.length,
            operationLogs: snap.operationLogs.length,
            tokens: snap.tokens,
          },
        },
      };
    }
    if (key === 'GET /admin/snapshot') return { status: 200, body: state.snapshot() };
    if (key === 'POST /admin/reset') {
      state.reset();
      return { status: 204 };
    }
    if (key === 'GET /admin/request-counts') return { status: 200, body: state.requestCounts };
    if (key === 'DELETE /admin/request-counts') {
      state.resetRequestCounts();
      return { status: 204 };
    }
    if (key === 'GET /admin/faults') return { status: 200, body: { faults: faults.list() } };
    // Fault rules and scripts are validated by the controller's own zod schemas (ZodError -> 400 below).
    if (key === 'POST /admin/faults') return { status: 201, body: faults.add(body as FaultRuleInput) };
    if (key === 'DELETE /admin/faults') {
      faults.clear();
      return { status: 204 };
    }
    if (method === 'DELETE' && a === 'faults' && b && !c && segs.length === 3) {
      if (!faults.remove(b)) throw new AdminError(404, `no fault rule "${b}"`);
      return { status: 204 };
    }
    if (key === 'GET /admin/scripts') return { status: 200, body: { scripts: faults.scripts() } };
    if (key === 'POST /admin/scripts') return { status: 201, body: faults.scriptCheckpoint(body as CheckpointScriptInput) };
    if (method === 'DELETE' && a === 'scripts' && b && segs.length === 3) {
      if (!faults.removeScript(b)) throw new AdminError(404, `no script "${b}"`);
      return { status: 204 };
    }
    if (method === 'POST' && a === 'checkpoints' && b && c === 'resolve' && segs.length === 4) {
      const input = parse(Resolve, body);
      if (!faults.resolveCheckpoint(b, input.outcome, input.reason)) throw new AdminError(404, `no protecting checkpoint "${b}"`);
      return { status: 204 };
    }
    if (method === 'POST' && a === 'restores' && b && c === 'resolve' && segs.length === 4) {
      const input = parse(ResolveRestore, body);
      if (!state.resolveRestore(b, input.outcome, input.reason)) throw new AdminError(404, `no running restore with op log "${b}"`);
      return { status: 204 };
    }
    if (method === 'POST' && a === 'replications' && b && c === 'resolve' && segs.length === 4) {
      const input = parse(ResolveRestore, body);
      if (!state.resolveReplication(b, input.outcome, input.reason)) throw new AdminError(404, `no running replication with replica "${b}"`);
      return { status: 204 };
    }
    if (method === 'PUT' && a === 'vaults' && b && c === 'status' && segs.length === 4) {
      const input = parse(VaultStatus, body);
      if (!state.setVaultStatus(b, input.status)) throw new AdminError(404, `no vault "${b}"`);
      return { status: 204 };
    }
    if (method === 'POST' && a === 'backups' && b && c === 'restore' && segs.length === 4) {
      if (!state.restoreBackup(b, parse(Restore, body).ms)) throw new AdminError(404, `no available backup "${b}"`);
      return { status: 204 };
    }
    if (method === 'DELETE' && a === 'resources' && b && segs.length === 3) {
      if (!state.deleteResource(b)) throw new AdminError(404, `no resource "${b}"`);
      return { status: 204 };
    }
    if (method === 'POST' && a === 'orders' && b && c === 'pay' && segs.length === 4) {
      if (!state.payOrder(b)) throw new AdminError(404, `no unpaid order "${b}"`);
      return { status: 204 };
    }
    if (key === 'GET /admin/clock') return { status: 200, body: { now: clock.now(), iso: new Date(clock.now()).toISOString(), kind: clock.kind } };
    if (key === 'POST /admin/clock/advance') {
      clock.advance(parse(Advance, body).ms);
      return { status: 200, body: { now: clock.now(), iso: new Date(clock.now()).toISOString() } };
    }
    if (key === 'POST /admin/clock/set') {
      clock.set(parse(SetClock, body).epochMs);
      return { status: 200, body: { now: clock.now(), iso: new Date(clock.now()).toISOString() } };
    }
    if (key === 'POST /admin/seed') {
      faults.reseed(parse(Seed, body).seed);
      return { status: 204 };
    }
    throw new AdminError(404, `no admin route ${method} /${segs.join('/')}`);
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let out: { status: number; body?: unknown };
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        if (raw !== '') {
          try {
            body = JSON.parse(raw);
          } catch {
            throw new AdminError(400, 'request body is not valid JSON');
          }
        }
        const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
        out = route(req.method ?? 'GET', path.split('/').slice(1).map(decodeURIComponent), body);
      } catch (e) {
        if (e instanceof AdminError) out = { status: e.status, body: { error: e.message, ...(e.issues ? { issues: e.issues } : {}) } };
        else if (e instanceof z.ZodError)
          out = {
            status: 400,
            body: {
              error: e.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
              issues: e.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
            },
          };
        else out = { status: 500, body: { error: e instanceof Error ? e.message : String(e) } };
      }
      if (out.body === undefined) {
        res.writeHead(out.status);
        res.end();
      } else {
        const text = JSON.stringify(out.body);
        res.writeHead(out.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      }
    });
  };
}
