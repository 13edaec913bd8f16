/**
 * The retention API's handler (lib/pipeline/edge/retention.ts) on API Gateway events, against the
 * emulator over HTTP: holds with who/why through POST/DELETE/GET /holds, scoped by the token's
 * cbr_projects; the preview of a plan, then the sweep deletes exactly what it listed; the ledger.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../../emulator/index';
import { retentionApiHandler } from '../../../lib/pipeline/edge/retention';
import { sweepRetention } from '../../../lib/retention/sweep';
import { makeContext, makeHttpEvent } from '../../helpers/factories';
import { DAY_MS, startRetentionWorld, type RetentionWorld } from '../../helpers/retention-world';

let world: RetentionWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const OPERATOR = { sub: 'alice', cbr_projects: DEMO.projectId };
const STRANGER = { sub: 'mallory', cbr_projects: '1a2b3c4d5e6f708192a3b4c5d6e7f801' };

async function call(w: RetentionWorld, init: Parameters<typeof makeHttpEvent>[0]): Promise<{ status: number; body: any }> {
  const handler = retentionApiHandler({ ...w.deps, runs: w.runs }, { log: () => {} });
  const res = (await handler(makeHttpEvent(init), makeContext())) as APIGatewayProxyStructuredResultV2;
  return { status: res.statusCode!, body: JSON.parse(String(res.body)) };
}

describe('retention API', () => {
  it('holds through the API; the preview of a plan is what the sweep then deletes; the ledger shows it', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 2 }, plan: 'nightly' });
    const w = world;
    const runIds: string[] = [];
    for (let d = 0; d < 5; d++) {
      runIds.push(await w.backup());
      w.advance(DAY_MS);
    }

    const missingReason = await call(w, { method: 'POST', path: '/holds', body: JSON.stringify({ runId: runIds[0] }), claims: OPERATOR });
    expect(missingReason).toMatchObject({ status: 400, body: { field: 'body.reason' } });
    const foreignRun = await call(w, { method: 'POST', path: '/holds', body: JSON.stringify({ runId: runIds[0], reason: 'x' }), claims: STRANGER });
    expect(foreignRun.status).toBe(404);
    const placed = await call(w, { method: 'POST', path: '/holds', body: JSON.stringify({ runId: runIds[0], reason: 'incident INC-42' }), claims: OPERATOR });
    expect(placed).toMatchObject({ status: 201, body: { runId: runIds[0], reason: 'incident INC-42', by: 'alice' } });
    expect((await call(w, { method: 'GET', path: '/holds', claims: OPERATOR })).body.holds).toHaveLength(1);
    expect((await call(w, { method: 'GET', path: '/holds', claims: STRANGER })).body.holds).toHaveLength(0);

    const badPlan = await call(w, { method: 'GET', path: '/retention/preview', queryStringParameters: { plan: 'No Such' }, claims: OPERATOR });
    expect(badPlan).toMatchObject({ status: 400, body: { field: 'query.plan' } });
    const preview = await call(w, { method: 'GET', path: '/retention/preview', queryStringParameters: { plan: 'nightly' }, claims: OPERATOR });
    expect(preview.status).toBe(200);
    const planned: string[] = preview.body.scopes[0].delete.map((d: { backupId: string }) => d.backupId).sort();
    expect(planned).toHaveLength(4); // 5 runs x 2 servers: 2 newest kept by keepLast, the oldest run held
    expect(preview.body.scopes[0].keep.filter((k: { because: Array<{ rule: string }> }) => k.because[0]!.rule === 'hold')).toHaveLength(2);
    expect(preview.body.totals.freedGb).toBeGreaterThan(0);
    expect((await call(w, { method: 'GET', path: '/retention/preview', queryStringParameters: { plan: 'nightly' }, claims: STRANGER })).body.scopes).toEqual([]);

    expect(await sweepRetention(w.deps)).toMatchObject({ deleted: 4 });
    const ledger = await call(w, { method: 'GET', path: '/retention/ledger', queryStringParameters: { plan: 'nightly' }, claims: OPERATOR });
    expect(ledger.body.entries.map((e: { backupId: string }) => e.backupId).sort()).toEqual(planned);
    expect(ledger.body.entries[0]).toMatchObject({ result: 'deleted', rule: 'keepLast', plan: 'nightly' });

    const released = await call(w, { method: 'DELETE', path: `/holds/${placed.body.holdId}`, routeKey: 'DELETE /holds/{id}', pathParameters: { id: placed.body.holdId }, queryStringParameters: { reason: 'resolved' }, claims: OPERATOR });
    expect(released).toMatchObject({ status: 200, body: { released: true, hold: { released: { by: 'alice', reason: 'resolved' } } } });
    expect((await call(w, { method: 'GET', path: '/holds', claims: OPERATOR })).body.holds).toHaveLength(0);
    expect((await call(w, { method: 'GET', path: '/holds', queryStringParameters: { all: 'true' }, claims: OPERATOR })).body.holds).toHaveLength(1);
  });

  it('with the operator call budget (the deployed function), a preview with too little time left starts no ListBackups and says so', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 1 }, plan: 'nightly' });
    const w = world;
    await w.backup();
    w.advance(DAY_MS);
    await w.backup();
    let calls = 0;
    const counted = { ...w.deps, runs: w.runs, cbr: async (t: { projectId: string; region: string }) => { calls++; return w.deps.cbr(t); }, cbrCallBudgetMs: 15_000 };
    const handler = retentionApiHandler(counted, { log: () => {} });
    const event = makeHttpEvent({ method: 'GET', path: '/retention/preview', queryStringParameters: { plan: 'nightly' }, claims: OPERATOR });
    const late = (await handler(event, { ...makeContext(), getRemainingTimeInMillis: () => 10_000 })) as APIGatewayProxyStructuredResultV2;
    expect(late.statusCode).toBe(200);
    const body = JSON.parse(String(late.body));
    expect(body.scopes).toEqual([]);
    expect(body.skipped).toEqual([expect.objectContaining({ plan: 'nightly', why: expect.stringMatching(/^ListBackups failed: not started paginateBackups: a CBR call may take up to 15 s and this invocation has 10 s left/) })]);
    expect(calls).toBe(1); // the client was built, but no CBR request was started
    const inTime = (await handler(event, { ...makeContext(), getRemainingTimeInMillis: () => 20_000 })) as APIGatewayProxyStructuredResultV2;
    expect(JSON.parse(String(inTime.body)).scopes[0].delete).toHaveLength(2);
  });
});
