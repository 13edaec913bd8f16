/**
 * The CBR emulator in its own process for P1/P2 (fork()ed by bench/p1-world.ts with an IPC channel),
 * so the checker being measured never shares a CPU core or an event loop with the service it calls.
 * Commands arrive as IPC messages { id, cmd, arg } and are answered { id, ok, value | error }. The
 * process stops its emulator and exits when the parent goes away (IPC disconnect).
 */
import { emulatorOptions } from './p1-emulator';
import { startEmulator } from '../emulator';
import type { Emulator, FaultRuleInput } from '../emulator';

interface Req {
  id: number;
  cmd: 'start' | 'counts' | 'resetCounts' | 'addFault' | 'clearFaults' | 'advance' | 'now' | 'record' | 'arrivals' | 'cpu';
  arg?: unknown;
}

let emu: Emulator | undefined;
/** Arrival times (performance.now() of this process, ms) of requests answered while recording, per operation. */
let recording: Array<{ at: number; operation: string; status: number }> | undefined;

async function handle(req: Req): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      const { sizes, startTime } = req.arg as { sizes: number[]; startTime: number };
      emu = await startEmulator(
        emulatorOptions(sizes, {
          startTime,
          log: (e) => {
            // The log fires when the answer is sent: arrival = now - time spent in the emulator.
            recording?.push({ at: performance.now() - e.durationMs, operation: e.operation, status: e.status });
          },
        }),
      );
      return { url: emu.url };
    }
    case 'counts':
      return structuredClone(emu!.state.requestCounts);
    case 'resetCounts':
      emu!.state.resetRequestCounts();
      return null;
    case 'addFault':
      return emu!.faults.add(req.arg as FaultRuleInput).id;
    case 'clearFaults':
      emu!.faults.clear();
      return null;
    case 'advance':
      emu!.clock.advance(req.arg as number);
      return emu!.clock.now();
    case 'now':
      return emu!.clock.now();
    case 'cpu': {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
    case 'record':
      recording = req.arg ? [] : undefined;
      return null;
    case 'arrivals': {
      const out = recording ?? [];
      recording = undefined;
      return out;
    }
  }
}

process.on('message', (raw) => {
  const req = raw as Req;
  handle(req).then(
    (value) => process.send!({ id: req.id, ok: true, value }),
    (e: unknown) => process.send!({ id: req.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
  );
});
process.on('disconnect', () => {
  void (emu?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
