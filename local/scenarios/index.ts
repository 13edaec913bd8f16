/**
 * `npm start -- --scenario <name>`: each scenario runs on its own embedded local stack (local/stack.ts)
 * and the emulator, prints its one result line and resolves to the exit code (0 only when its checks hold).
 */
import { drillScenario } from './drill';

export interface ScenarioOptions {
  /** How long a scenario waits for what it started (npm start's --timeout). */
  timeoutS: number;
  /** Handler and runtime log lines. */
  log: (line: string) => void;
}

export const SCENARIOS: Record<string, (o: ScenarioOptions) => Promise<number>> = {
  drill: drillScenario,
};
