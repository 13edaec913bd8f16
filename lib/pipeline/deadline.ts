/**
 * Deadlines of a step invocation: a step never starts a CBR call it cannot finish before Lambda stops
 * the invocation. Killed mid-call, a step would leave no trace of why and SQS would re-drive the whole
 * batch after the visibility timeout; refused before the call, the record fails on its own (a batch item
 * failure), the reason is recorded on its run (`lastError` code DEADLINE, timeline), and the next
 * delivery starts with a fresh invocation's full time.
 *
 * A call's worst case is every attempt timing out, with the longest wait between attempts: the backoff
 * cap or the longest `Retry-After` the client still honours (a longer one is thrown at once).
 * test/contract/deadlines.test.ts checks that each CBR-calling function's timeout in serverless.yml
 * fits this plus the margin, from the client's own defaults.
 */
import type { IntakeDeps, PipelineDeps } from '../wiring/deps';
import { StepRetryError } from './errors';

/** The CBR client's call settings that bound one call (lib/cbr/http.ts RetryOptions, timeoutMs). */
export interface CallLimits {
  timeoutMs: number;
  maxAttempts: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

/** Time kept after a call for recording its result (or the failure) on the run. */
export const RECORD_MARGIN_MS = 2_000;

/** Longest one CBR call can take: attempts x per-attempt timeout + the capped waits between attempts. */
export function worstCaseCallMs(l: CallLimits): number {
  return l.maxAttempts * l.timeoutMs + (l.maxAttempts - 1) * Math.max(l.maxDelayMs, l.maxRetryAfterMs);
}

/** What a CBR call must have left in the invocation before it may start. */
export function callBudgetMs(l: CallLimits): number {
  return worstCaseCallMs(l) + RECORD_MARGIN_MS;
}

/** The CBR port with every call refused (StepRetryError 'DEADLINE') once less than `budgetMs` remains. */
export function deadlineCbr<A extends object>(factory: (target: { projectId: string; region: string }) => A | Promise<A>, remainingMs: () => number, budgetMs: number): (target: { projectId: string; region: string }) => Promise<A> {
  const check = (operation: string): void => {
    const left = remainingMs();
    if (left >= budgetMs) return;
    throw new StepRetryError(
      'DEADLINE',
      `not started ${operation}: a CBR call may take up to ${Math.ceil(budgetMs / 1000)} s and this invocation has ${Math.floor(left / 1000)} s left; the message is retried on its next delivery`,
    );
  };
  return async (target) => {
    const api = await factory(target);
    return new Proxy(api, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          check(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  };
}

/**
 * The deps of one invocation: when they include CBR and a call budget (`cbrCallBudgetMs`, set by the
 * CBR wiring) and Lambda's context tells the remaining time, CBR calls are deadline-checked.
 */
export function withInvocationDeadline<D extends IntakeDeps>(deps: D, context: { getRemainingTimeInMillis?: () => number } | undefined): D {
  const withCbr = deps as D & Partial<Pick<PipelineDeps, 'cbr' | 'cbrCallBudgetMs'>>;
  const remaining = context?.getRemainingTimeInMillis;
  if (!withCbr.cbr || withCbr.cbrCallBudgetMs === undefined || typeof remaining !== 'function') return deps;
  return { ...deps, cbr: deadlineCbr(withCbr.cbr, () => remaining.call(context), withCbr.cbrCallBudgetMs) };
}

/**
 * CBR calls made for an operator through the HTTP API (the `vaults` function): API Gateway's HTTP API
 * gives an integration at most 30 s, so the function's timeout is 29 s and one call must fit well inside
 * it: 2 attempts x 6 s + one wait capped at 1 s = 13 s worst case, 15 s with the record margin. A second
 * call starts only while 15 s remain, so no request runs into the gateway's limit; what cannot be done in
 * time answers 503 naming the call (the operator runs the command again).
 */
export const OPERATOR_CALL_LIMITS: CallLimits = { timeoutMs: 6_000, maxAttempts: 2, maxDelayMs: 1_000, maxRetryAfterMs: 1_000 };
