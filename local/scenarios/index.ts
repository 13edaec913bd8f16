/**
 * Scenarios for `npm start -- --scenario <name>`: each runs on the embedded local stack and the
 * emulator, prints its one result line and resolves to the exit code (0 only when its checks hold).
 */
import { retentionScenario } from './retention';

export interface ScenarioOptions {
  /** Progress and the stack's log lines on stderr. */
  verbose: boolean;
}

export const SCENARIOS: Record<string, (options: ScenarioOptions) => Promise<number>> = {
  retention: retentionScenario,
};
