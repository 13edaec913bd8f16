/** A whole pipeline on in-memory fakes, with helpers to deliver queued messages to their step. */
import type { Message } from '../../../lib/contracts';
import { addResources } from '../../../lib/pipeline/add-resources';
import { checkStatus } from '../../../lib/pipeline/check-status';
import type { StepOutcome } from '../../../lib/pipeline/common';
import { createVault } from '../../../lib/pipeline/create-vault';
import { DEFAULT_SETTINGS, type PipelineDeps, type PipelineSettings } from '../../../lib/wiring/deps';
import { shareBackups } from '../../../lib/pipeline/share-backup';
import { startCheckpoint } from '../../../lib/pipeline/start-checkpoint';
import { startRun } from '../../../lib/pipeline/start-run';
import type { QueueName } from '../../../lib/ports';
import { MemoryBus, type SentMessage } from '../../../lib/queue/memory';
import { MemoryRunStore } from '../../../lib/store/memory';
import type { RunRequestInput } from '../../../lib/contracts/run-request';
import { CrashableStore, FakeCbr, ManualClock } from './fakes';

export const PROJECT = '0605767b5780d5762fc5c0118072a564';
export const PEER = '1a2b3c4d5e6f708192a3b4c5d6e7f801';
export const PEER2 = 'fedcba9876543210fedcba9876543210';
export const SERVER_A = '97595625-198e-4e4d-879b-9d53f68ba551';
export const SERVER_B = 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f';
export const VOLUME_C = '3c1f7a52-9a0e-4c55-8d2f-5b7e0c2d9a11';

export function request(overrides: Partial<RunRequestInput> = {}): RunRequestInput {
  return {
    projectId: PROJECT,
    region: 'ap-southeast-1',
    vault: { mode: 'create', name: 'my_vault', billing: { chargingMode: 'post_paid', size: 200 } },
    resources: [
      { id: SERVER_A, type: 'OS::Nova::Server' },
      { id: SERVER_B, type: 'OS::Nova::Server', name: 'server-4690-0002' },
    ],
    shareWith: [PEER],
    ...overrides,
  };
}

export function makeWorld(settings: Partial<PipelineSettings> = {}) {
  const clock = new ManualClock();
  const memory = new MemoryRunStore(clock);
  const store = new CrashableStore(memory);
  const bus = new MemoryBus();
  const cbr = new FakeCbr(clock);
  let tokens = 0;
  const deps: PipelineDeps = {
    store,
    bus,
    clock,
    cbr: () => cbr,
    settings: { ...DEFAULT_SETTINGS, defaultRegion: 'ap-southeast-1', ...settings },
    newToken: () => `t${++tokens}`,
  };

  const stepOf: Partial<Record<QueueName, (m: Message) => Promise<StepOutcome>>> = {
    vault: (m) => createVault(deps, m as Extract<Message, { type: 'run.requested' }>),
    resources: (m) => addResources(deps, m as Extract<Message, { type: 'vault.ready' }>),
    checkpoint: (m) => startCheckpoint(deps, m as Extract<Message, { type: 'resources.bound' }>),
    share: (m) => shareBackups(deps, m as Extract<Message, { type: 'checkpoint.finished' }>),
  };

  /** Deliver one message to its step (as SQS would). */
  const deliver = (queue: QueueName, message: Message) => stepOf[queue]!(message);

  /**
   * Deliver queued step messages (honouring delays against the manual clock) until none is ready,
   * each `copies` times (duplicate delivery). Returns what was delivered.
   */
  const pump = async (copies = 1): Promise<SentMessage[]> => {
    const delivered: SentMessage[] = [];
    const ready = new Map<SentMessage, number>();
    for (let guard = 0; guard < 1000; guard++) {
      for (const s of bus.sent) if (!ready.has(s)) ready.set(s, clock.now() + s.delaySeconds * 1000);
      const next = bus.sent.find((s) => s.queue !== 'events' && s.queue !== 'intake' && ready.get(s)! <= clock.now());
      if (!next) break;
      bus.sent.splice(bus.sent.indexOf(next), 1);
      delivered.push(next);
      for (let i = 0; i < copies; i++) await deliver(next.queue, next.message);
    }
    return delivered;
  };

  /** Start a run and drive it to a terminal state: pump, finish backups, sweep, pump... */
  const runToEnd = async (input: RunRequestInput = request(), options: { copies?: number; finish?: 'available' | 'error' } = {}) => {
    const { runId } = await startRun(deps, { request: input, source: { kind: 'http' } });
    for (let i = 0; i < 50; i++) {
      await pump(options.copies ?? 1);
      const run = await memory.get(runId);
      if (!run || ['COMPLETED', 'PARTIAL', 'FAILED', 'EXPIRED'].includes(run.state)) break;
      cbr.finishAll(options.finish ?? 'available');
      clock.advance(deps.settings.checkMaxDelayMs + deps.settings.skipRetryDelaySeconds * 1000);
      await checkStatus(deps);
    }
    return (await memory.get(runId))!;
  };

  return { clock, memory, store, bus, cbr, deps, deliver, pump, runToEnd };
}
