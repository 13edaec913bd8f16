/**
 * cancel and retry (lib/pipeline/run-actions.ts) on the pipeline's own steps: a cancelled run ends
 * FAILED "cancelled by <who>", is announced, and no step or checker makes another CBR call for it;
 * a retry starts one new run from the same request, linked both ways, the same one when repeated.
 */
import { describe, expect, it } from 'vitest';
import { checkStatus } from '../../../lib/pipeline/check-status';
import { cancelRun, retryRun, RunStateConflictError } from '../../../lib/pipeline/run-actions';
import { startRun } from '../../../lib/pipeline/start-run';
import { RunNotFoundError } from '../../../lib/store/errors';
import { makeWorld, request } from './world';

const anyone = () => true;

describe('cancel', () => {
  it('stops a running run: FAILED "cancelled by <who>", announced once, and no further CBR call', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    // create-vault runs (CBR calls), its hand-off to add-resources is queued.
    const first = w.bus.sent.find((s) => s.queue === 'vault')!;
    w.bus.sent.splice(w.bus.sent.indexOf(first), 1);
    await w.deliver('vault', first.message);
    expect((await w.memory.get(runId))!.state).toBe('RUNNING');
    const callsBefore = w.cbr.callCount();
    expect(callsBefore).toBeGreaterThan(0);

    const { run, cancelled } = await cancelRun(w.deps, runId, 'alice', anyone);
    expect(cancelled).toBe(true);
    expect(run).toMatchObject({ state: 'FAILED', reason: 'cancelled by alice', lastError: { code: 'CANCELLED' } });
    expect(w.bus.sent.filter((s) => s.queue === 'events' && s.message.type === 'run.finished')).toHaveLength(1);

    // Every queued step message is delivered, and the checker sweeps well past every timer: nothing calls CBR.
    await w.pump();
    w.clock.advance(w.deps.settings.stepTimeoutMs * 2);
    await checkStatus(w.deps);
    await w.pump();
    expect(w.cbr.callCount()).toBe(callsBefore);
    expect((await w.memory.get(runId))!).toMatchObject({ state: 'FAILED', reason: 'cancelled by alice' });

    // Idempotent: again is the same run, not announced again.
    const again = await cancelRun(w.deps, runId, 'bob', anyone);
    expect(again).toMatchObject({ cancelled: false, run: { reason: 'cancelled by alice' } });
  });

  it('refuses a run that ended otherwise (409), and a run of a project the caller may not act on (404)', async () => {
    const w = makeWorld();
    const done = await w.runToEnd();
    expect(done.state).toBe('COMPLETED');
    await expect(cancelRun(w.deps, done.runId, 'alice', anyone)).rejects.toThrow(RunStateConflictError);
    await expect(cancelRun(w.deps, done.runId, 'alice', anyone)).rejects.toThrow(/already ended COMPLETED.*; only a PENDING or RUNNING run can be cancelled/);
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    await expect(cancelRun(w.deps, runId, 'mallory', () => false)).rejects.toThrow(RunNotFoundError);
    expect((await w.memory.get(runId))!.state).toBe('PENDING');
  });
});

describe('retry', () => {
  it('starts one new run from the same request, linked both ways; repeating it gives the same run', async () => {
    const w = makeWorld();
    const { runId } = await startRun(w.deps, { request: request({ completionWindowMinutes: 30 }), source: { kind: 'http' } });
    await cancelRun(w.deps, runId, 'alice', anyone);
    const sentBefore = w.bus.sent.length;

    const first = await retryRun(w.deps, runId, anyone);
    expect(first.created).toBe(true);
    expect(first.run).toMatchObject({ state: 'PENDING', retryOf: runId, request: (await w.memory.get(runId))!.request });
    expect(first.run.runId).not.toBe(runId);
    expect((await w.memory.get(runId))!.retriedBy).toBe(first.run.runId);
    expect(w.bus.sent.slice(sentBefore).filter((s) => s.queue === 'vault')).toHaveLength(1);

    const second = await retryRun(w.deps, runId, anyone);
    expect(second).toMatchObject({ created: false, run: { runId: first.run.runId } });

    // The new run goes all the way.
    await w.pump();
    for (let i = 0; i < 10 && (await w.memory.get(first.run.runId))!.state !== 'COMPLETED'; i++) {
      w.cbr.finishAll('available');
      w.clock.advance(w.deps.settings.checkMaxDelayMs + w.deps.settings.skipRetryDelaySeconds * 1000);
      await checkStatus(w.deps);
      await w.pump();
    }
    expect((await w.memory.get(first.run.runId))!.state).toBe('COMPLETED');
  });

  it('only a finished run that did not complete: RUNNING and COMPLETED are 409; another project\'s run is 404', async () => {
    const w = makeWorld();
    const done = await w.runToEnd();
    await expect(retryRun(w.deps, done.runId, anyone)).rejects.toThrow(/COMPLETED; only a FAILED, EXPIRED or PARTIAL run can be retried/);
    const { runId } = await startRun(w.deps, { request: request(), source: { kind: 'http' } });
    await expect(retryRun(w.deps, runId, anyone)).rejects.toThrow(/is still PENDING; only a finished run can be retried/);
    await cancelRun(w.deps, runId, 'alice', anyone);
    await expect(retryRun(w.deps, runId, () => false)).rejects.toThrow(RunNotFoundError);
    expect((await w.memory.get(runId))!.retriedBy).toBeUndefined();
  });
});
