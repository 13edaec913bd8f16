/**
 * `npm start -- --scenario <name>`: scenarios that run on the embedded local stack (local/stack.ts) and
 * the emulator, print one result line and resolve to the exit code (0 only when their checks hold).
 */
import { runDr } from './dr';
import { drillScenario } from './drill';
import { retentionScenario } from './retention';

export interface ScenarioOptions {
  /** Console lines (phases and the result line). */
  print: (line: string) => void;
  /** The stack's and handlers' log lines (the data folder's local.log). */
  log: (line: string) => void;
  onPhase: (phase: string) => void;
  rateScale: number;
  timeoutMs: number;
}

export const SCENARIOS: Record<string, (o: ScenarioOptions) => Promise<number>> = {
  dr: runDr,
  drill: drillScenario,
  retention: retentionScenario,
};
