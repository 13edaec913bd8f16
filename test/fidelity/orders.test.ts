/**
 * Yearly/monthly vaults are orders (issue 10 item 4), through the whole pipeline on loopback
 * (test/helpers/pipeline-harness.ts: emulator, dynalite, local SQS, virtual clock): CreateVault answers
 * an order, the run waits in step await-payment with the order id, and goes on once the vault appears
 * (paid by the account owner, or auto-paid); unpaid at the end of the completion window it is EXPIRED
 * naming the order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const servers = makeServers(6, 'order');
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function harness(): Promise<Harness> {
  h = await startHarness({ emulator: { seed: 10, projects: [...DEMO.projects], credentials: [...DEMO.credentials], users: [...DEMO.users], resources: [...DEMO.resources, ...servers] } });
  return h;
}

const prePaid = (isAutoPay: boolean) => ({ mode: 'create' as const, name: '', billing: { chargingMode: 'pre_paid' as const, size: 2000, periodType: 'month' as const, periodNum: 1, isAutoPay } });

async function untilAwaitingPayment(h: Harness, runId: string) {
  for (let i = 0; i < 10; i++) {
    const run = await h.run(runId);
    if (run.step === 'await-payment') return run;
    await h.pump();
  }
  throw new Error('the run never reached await-payment');
}

describe('yearly/monthly vault ordered with is_auto_pay: false', () => {
  it('waits for payment showing the order id, and completes once the order is paid', async () => {
    const h = await harness();
    const body = runBody('ord_paid', [servers[0]!.id], { vault: { ...prePaid(false), name: 'ord_paid' } });
    const { runId } = await h.startRun(body);
    const waiting = await untilAwaitingPayment(h, runId!);
    expect(waiting).toMatchObject({ state: 'RUNNING', step: 'await-payment', order: { id: expect.stringMatching(/^CS/) } });
    expect(waiting.vault).toBeUndefined();
    expect(waiting.timeline.map((e) => e.event)).toContain('awaiting-payment');
    // The checker keeps looking (no vault yet) without ending the run.
    h.clock.advance(10 * 60_000);
    await h.sweep();
    expect((await h.run(runId!)).step).toBe('await-payment');

    expect(h.emulator.state.payOrder(waiting.order!.id)).toBe(true);
    await h.drive({ runIds: [runId!] });
    const done = await h.run(runId!);
    expect(done.state).toBe('COMPLETED');
    expect(done.vault).toMatchObject({ name: 'ord_paid', created: true });
    expect(done.timeline.find((e) => e.event === 'vault-created')?.detail).toContain(waiting.order!.id);
    // One order only, although the checker and redeliveries ran while it was unpaid.
    expect(h.emulator.state.requestCounts.byOperation.CreateVault).toBe(1);
  });

  it('ends EXPIRED naming the order when it is still unpaid at the end of the completion window', async () => {
    const h = await harness();
    const body = runBody('ord_unpaid', [servers[1]!.id], { vault: { ...prePaid(false), name: 'ord_unpaid' }, completionWindowMinutes: 30 });
    const { runId } = await h.startRun(body);
    const waiting = await untilAwaitingPayment(h, runId!);
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('EXPIRED');
    expect(run.reason).toContain(`order ${waiting.order!.id} was not paid`);
    expect(run.lastError).toMatchObject({ code: 'ORDER_NOT_PAID', step: 'await-payment' });
  });
});

describe('yearly/monthly vault ordered with is_auto_pay: true', () => {
  it('completes once the emulator has auto-paid the order', async () => {
    const h = await harness();
    const { runId } = await h.startRun(runBody('ord_auto', [servers[2]!.id], { vault: { ...prePaid(true), name: 'ord_auto' } }));
    await h.drive({ runIds: [runId!] });
    const run = await h.run(runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.order?.id).toMatch(/^CS/);
    expect(run.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['awaiting-payment', 'vault-created']));
  });
});
