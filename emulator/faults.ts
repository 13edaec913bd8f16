/**
 * Fault injection: per operation or global rules (latency, error statuses, hangs, connection resets), and
 * scripted checkpoint outcomes. Every random draw comes from one seeded stream, so a run can be replayed
 * with the same seed (given the same order of requests).
 */
import * as z from 'zod';
import { Rng } from './random';

const Rate = z.number().min(0).max(1);
const Phase = z.enum(['before', 'after']);

export const LatencySpec = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('fixed'), ms: z.number().min(0) }),
  z.strictObject({ kind: z.literal('uniform'), minMs: z.number().min(0), maxMs: z.number().min(0) }),
  z.strictObject({ kind: z.literal('normal'), meanMs: z.number().min(0), stdDevMs: z.number().min(0) }),
]);
export type LatencySpec = z.infer<typeof LatencySpec>;

export const FaultRuleInput = z.strictObject({
  /** Optional name; generated when omitted. Adding a rule with an existing id replaces it. */
  id: z.string().min(1).max(64).optional(),
  /** Operation names (e.g. 'ShowCheckpoint', 'KeystoneCreateUserTokenByPassword'); omitted = every request. */
  operations: z.array(z.string().min(1)).min(1).optional(),
  latency: LatencySpec.optional(),
  /** Answer an error instead of the real response. 'after' = the operation took effect, the answer is lost. */
  error: z
    .strictObject({
      rate: Rate,
      statuses: z.array(z.int().min(400).max(599)).min(1).default([500]),
      retryAfterSeconds: z.int().min(0).optional(),
      errorCode: z.string().min(1).optional(),
      errorMsg: z.string().min(1).optional(),
      phase: Phase.default('before'),
    })
    .optional(),
  /** Never answer (socket held open until the client gives up, `ms` elapses, or the emulator stops). */
  hang: z.strictObject({ rate: Rate, ms: z.int().positive().optional(), phase: Phase.default('before') }).optional(),
  /** Destroy the TCP connection without an answer. */
  reset: z.strictObject({ rate: Rate, phase: Phase.default('before') }).optional(),
  /** Apply to this many matching requests, then the rule is removed. Omitted = until removed. */
  times: z.int().positive().optional(),
});
export type FaultRuleInput = z.input<typeof FaultRuleInput>;
export type FaultRule = z.output<typeof FaultRuleInput> & { id: string; matched: number };

export const CheckpointScriptInput = z.strictObject({
  id: z.string().min(1).max(64).optional(),
  /** 'next' = the next checkpoint created; {name} = the next one created with that name; {vaultId} likewise. */
  match: z.union([z.literal('next'), z.strictObject({ name: z.string().min(1) }), z.strictObject({ vaultId: z.string().min(1) })]).default('next'),
  /** available = completes normally; error = ends in `error`; never = stays `protecting` forever. */
  outcome: z.enum(['available', 'error', 'never']),
  /** error_info message / reason recorded on the backups and op logs (outcome error). */
  reason: z.string().min(1).optional(),
  /** error_info.code recorded in the op logs (outcome error). Default 'BackupService.9910'. */
  code: z.string().min(1).optional(),
  /** Only these resources get the outcome; the others complete normally. Omitted = all resources. */
  resourceIds: z.array(z.string().min(1)).min(1).optional(),
  /** Exact duration for this checkpoint (emulated clock ms) instead of the configured range. */
  durationMs: z.int().min(0).optional(),
  /** How many checkpoints this script applies to. */
  times: z.int().positive().default(1),
});
export type CheckpointScriptInput = z.input<typeof CheckpointScriptInput>;
export type CheckpointScript = z.output<typeof CheckpointScriptInput> & { id: string; used: number };

export type FaultAction =
  | { kind: 'reset' }
  | { kind: 'hang'; ms?: number }
  | { kind: 'error'; status: number; errorCode?: string; errorMsg?: string; retryAfterSeconds?: number };

export interface FaultDecision {
  latencyMs: number;
  before?: FaultAction;
  after?: FaultAction;
}

export interface FaultStats {
  latency: number;
  errors: number;
  hangs: number;
  resets: number;
  byOperation: Record<string, number>;
}

export interface FaultController {
  /** Adds (or replaces, same id) a rule; returns it with its id. Throws a ZodError on bad input. */
  add(rule: FaultRuleInput): FaultRule;
  remove(id: string): boolean;
  list(): FaultRule[];
  /** Removes every rule and every pending checkpoint script. */
  clear(): void;
  scriptCheckpoint(script: CheckpointScriptInput): CheckpointScript;
  scripts(): CheckpointScript[];
  removeScript(id: string): boolean;
  /**
   * Ends a checkpoint that is still protecting (e.g. one scripted 'never') now, as 'available' or 'error'.
   * Returns false when the checkpoint is unknown or already finished.
   */
  resolveCheckpoint(checkpointId: string, outcome: 'available' | 'error', reason?: string): boolean;
  /** Restart the fault PRNG (replays the same decisions for the same request order). */
  reseed(seed: number): void;
  readonly stats: FaultStats;
}

export interface FaultEngine extends FaultController {
  decide(operation: string): FaultDecision;
  takeScript(checkpointName: string | undefined, vaultId: string): CheckpointScript | undefined;
}

export function createFaultEngine(seed: number, resolve: FaultController['resolveCheckpoint']): FaultEngine {
  const rng = new Rng(seed ^ 0x5eed);
  let rules: FaultRule[] = [];
  let scriptList: CheckpointScript[] = [];
  let counter = 0;
  const stats: FaultStats = { latency: 0, errors: 0, hangs: 0, resets: 0, byOperation: {} };

  const sample = (spec: LatencySpec): number => {
    switch (spec.kind) {
      case 'fixed':
        return spec.ms;
      case 'uniform':
        return spec.minMs + rng.float() * Math.max(0, spec.maxMs - spec.minMs);
      case 'normal':
        return Math.max(0, rng.normal(spec.meanMs, spec.stdDevMs));
    }
  };

  const engine: FaultEngine = {
    stats,
    add(input) {
      const parsed = FaultRuleInput.parse(input);
      const rule: FaultRule = { ...parsed, id: parsed.id ?? `fault-${++counter}`, matched: 0 };
      rules = rules.filter((r) => r.id !== rule.id);
      rules.push(rule);
      return rule;
    },
    remove(id) {
      const before = rules.length;
      rules = rules.filter((r) => r.id !== id);
      return rules.length !== before;
    },
    list: () => rules.map((r) => ({ ...r })),
    clear() {
      rules = [];
      scriptList = [];
    },
    scriptCheckpoint(input) {
      const parsed = CheckpointScriptInput.parse(input);
      const script: CheckpointScript = { ...parsed, id: parsed.id ?? `script-${++counter}`, used: 0 };
      scriptList = scriptList.filter((s) => s.id !== script.id);
      scriptList.push(script);
      return script;
    },
    scripts: () => scriptList.map((s) => ({ ...s })),
    removeScript(id) {
      const before = scriptList.length;
      scriptList = scriptList.filter((s) => s.id !== id);
      return scriptList.length !== before;
    },
    resolveCheckpoint: resolve,
    reseed(newSeed) {
      rng.reseed(newSeed ^ 0x5eed);
    },
    decide(operation) {
      const decision: FaultDecision = { latencyMs: 0 };
      if (rules.length === 0) return decision;
      let expired = false;
      for (const rule of rules) {
        if (rule.operations && !rule.operations.includes(operation)) continue;
        rule.matched++;
        if (rule.times !== undefined && rule.matched >= rule.times) expired = true;
        if (rule.latency) decision.latencyMs += sample(rule.latency);
        if (rule.reset && rng.float() < rule.reset.rate) {
          const phase = rule.reset.phase;
          if (!decision[phase]) decision[phase] = { kind: 'reset' };
        }
        if (rule.hang && rng.float() < rule.hang.rate) {
          const phase = rule.hang.phase;
          if (!decision[phase]) decision[phase] = rule.hang.ms === undefined ? { kind: 'hang' } : { kind: 'hang', ms: rule.hang.ms };
        }
        if (rule.error && rng.float() < rule.error.rate) {
          const e = rule.error;
          const status = e.statuses[Math.floor(rng.float() * e.statuses.length)]!;
          if (!decision[e.phase]) {
            decision[e.phase] = {
              kind: 'error',
              status,
              ...(e.errorCode === undefined ? {} : { errorCode: e.errorCode }),
              ...(e.errorMsg === undefined ? {} : { errorMsg: e.errorMsg }),
              ...(e.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: e.retryAfterSeconds }),
            };
          }
        }
      }
      if (expired) rules = rules.filter((r) => r.times === undefined || r.matched < r.times);
      const injected = decision.before ?? decision.after;
      if (decision.latencyMs > 0) stats.latency++;
      if (injected) {
        if (injected.kind === 'error') stats.errors++;
        else if (injected.kind === 'hang') stats.hangs++;
        else stats.resets++;
        stats.byOperation[operation] = (stats.byOperation[operation] ?? 0) + 1;
      }
      return decision;
    },
    takeScript(name, vaultId) {
      const script = scriptList.find(
        (s) => s.match === 'next' || ('name' in s.match && s.match.name === name) || ('vaultId' in s.match && s.match.vaultId === vaultId),
      );
      if (!script) return undefined;
      script.used++;
      if (script.used >= script.times) scriptList = scriptList.filter((s) => s !== script);
      return script;
    },
  };
  return engine;
}
