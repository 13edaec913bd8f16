import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createVault } from '../../../lib/pipeline/create-vault';
import { callBudgetMs, worstCaseCallMs } from '../../../lib/pipeline/deadline';
import { sqsStepHandler } from '../../../lib/pipeline/edge/sqs';
import { startRunHandler } from '../../../lib/pipeline/edge/start-run';
import { silentLogger } from '../../../lib/wiring/log';
import { makeContext, makeHttpEvent, makeSqsEvent, makeSqsRecord } from '../../helpers/factories';
import { AUTH_OFF } from '../../helpers/webhooks';
import { makeWorld, request } from './world';

const BUDGET = callBudgetMs({ timeoutMs: 10_000, maxAttempts: 3, maxDelayMs: 5_000, maxRetryAfterMs: 10_000 });
const contextWith = (remainingMs: number) => ({ ...makeContext(), getRemainingTimeInMillis: () => remainingMs });

async function worldWithRuns(n: number) {
  const w = makeWorld();
  w.deps.cbrCallBudgetMs = BUDGET;
  const start = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify(request({ vault: { mode: 'create', name: `v_${i}`, billing: { chargingMode: 'post_paid', size: 100 } } }));
    const res = (await start(makeHttpEvent({ method: 'POST', path: '/runs', body, headers: { 'content-type': 'application/json' } }), makeContext())) as APIGatewayProxyStructuredResultV2;
    ids.push((JSON.parse(res.body!) as { runId: string }).runId);
  }
  return { w, ids, records: w.bus.drain('vault').map((s) => makeSqsRecord(s.message)) };
}

describe('step deadlines', () => {
  it('the worst case of one call is attempts x timeout + the capped waits between attempts', () => {
    expect(worstCaseCallMs({ timeoutMs: 10_000, maxAttempts: 3, maxDelayMs: 5_000, maxRetryAfterMs: 10_000 })).toBe(50_000);
    expect(worstCaseCallMs({ timeoutMs: 2_000, maxAttempts: 1, maxDelayMs: 5_000, maxRetryAfterMs: 10_000 })).toBe(2_000);
    expect(BUDGET).toBe(52_000);
  });

  it('with less time left than one call needs, no CBR call starts: every record is a batch failure with the reason on its run', async () => {
    const { w, ids, records } = await worldWithRuns(3);
    const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, silentLogger);
    const res = await handler(makeSqsEvent(records), contextWith(BUDGET - 1));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.messageId));
    expect(w.cbr.calls).toEqual({});
    for (const id of ids) {
      const run = (await w.memory.get(id))!;
      expect(run.state).not.toBe('FAILED'); // first receive: retried, not failed
      expect(run.lastError).toMatchObject({ code: 'DEADLINE', step: 'create-vault', message: expect.stringContaining('this invocation has 51 s left') });
    }
    expect(w.bus.on('resources')).toHaveLength(0);
  });

  it('the next delivery, in a fresh invocation with its full time, goes through', async () => {
    const { w, ids, records } = await worldWithRuns(2);
    const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, silentLogger);
    await handler(makeSqsEvent(records), contextWith(5_000));
    const res = await handler(makeSqsEvent(records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '2' } }))), contextWith(90_000));
    expect(res.batchItemFailures).toEqual([]);
    for (const id of ids) expect((await w.memory.get(id))!.vault?.id).toEqual(expect.any(String));
    expect(w.bus.on('resources')).toHaveLength(2);
  });

  it('time running out mid-step stops before the call that would not fit, after the ones that did', async () => {
    const { w, ids, records } = await worldWithRuns(1);
    // 60 s left until the lookup and the pre-flight (one ShowProtectable per resource) have run, 30 s after them.
    const ctx = { ...makeContext(), getRemainingTimeInMillis: () => ((w.cbr.calls.showProtectable ?? 0) >= 2 ? 30_000 : 60_000) };
    const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, silentLogger);
    const res = await handler(makeSqsEvent(records), ctx);
    expect(res.batchItemFailures).toHaveLength(1);
    expect(w.cbr.calls).toEqual({ listVault: 1, showProtectable: 2 }); // the lookup and the pre-flight ran; CreateVault never started
    expect((await w.memory.get(ids[0]!))!.lastError).toMatchObject({ code: 'DEADLINE', message: expect.stringContaining('not started createVault') });
  });

  it('the pre-flight\'s calls are deadline-checked like any other: refused before the first that would not fit, the vault-name lease released', async () => {
    const { w, ids, records } = await worldWithRuns(1);
    const ctx = { ...makeContext(), getRemainingTimeInMillis: () => (w.cbr.calls.listVault ? BUDGET - 1 : 90_000) };
    const handler = sqsStepHandler({ type: 'run.requested', step: 'create-vault', run: createVault }, w.deps, silentLogger);
    expect((await handler(makeSqsEvent(records), ctx)).batchItemFailures).toHaveLength(1);
    expect(w.cbr.calls).toEqual({ listVault: 1 });
    expect((await w.memory.get(ids[0]!))!.lastError).toMatchObject({ code: 'DEADLINE', message: expect.stringContaining('not started showProtectable') });
    expect([...w.memory.leases.values()].every((l) => l.holder === undefined || l.leaseUntil <= w.clock.now())).toBe(true);
  });
});
