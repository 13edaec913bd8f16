/**
 * Deadlines against serverless.yml: the worst case of one CBR call, derived from the client's own
 * settings (attempts x per-attempt timeout + the capped waits between attempts), must fit every
 * CBR-calling function's timeout, and each queue's visibility timeout must be >= 6 x its consumer's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_RETRY, DEFAULT_TIMEOUT_MS } from '../../lib/cbr/http';
import { Config } from '../../lib/config';
import { callBudgetMs, OPERATOR_CALL_LIMITS, worstCaseCallMs } from '../../lib/pipeline/deadline';
import { QUEUE_NAMES } from '../../lib/ports';
import { DEFAULT_SETTINGS } from '../../lib/wiring/deps';
import { QUEUE_CONSUMERS, QUEUE_LOGICAL_IDS } from '../../lib/wiring/topology';

const root = join(import.meta.dirname, '../..');
type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form YAML document
const sls = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as Yaml;
const custom = (v: unknown): unknown => (typeof v === 'string' && /^\$\{self:custom\.(\w+)\}$/.test(v) ? sls.custom[v.slice(14, -1)] : v);
const fns = sls.functions as Record<string, Yaml>;
const timeoutOf = (name: string): number => Number(fns[name]!.timeout ?? sls.provider.timeout);
const source = (name: string) => readFileSync(join(root, `functions/${name}.ts`), 'utf8');
/** The operator's CBR APIs (HTTP, API Gateway's 30 s): their clients use OPERATOR_CALL_LIMITS (operatorCbrDeps, operatorRetentionDeps, restoreDeps). */
const operator = Object.keys(fns).filter((name) => /\boperator\w*Deps\b|\brestoreDeps\b/.test(source(name))).sort();
/** The pipeline's CBR-calling functions (steps, the checker, the retention sweep): the clients' defaults. */
const cbrCalling = Object.keys(fns).filter((name) => /wiring\/runtime-(cbr|retention)'/.test(source(name)) && !operator.includes(name));
/** The per-attempt timeout the deployed clients get: CBR_TIMEOUT_MS from serverless.yml, else the config default. */
const cbrTimeoutMs = Config.shape.CBR_TIMEOUT_MS.parse(custom(sls.provider.environment.CBR_TIMEOUT_MS));

describe('deadlines fit serverless.yml', () => {
  it('the clients use the config default the deadline is computed from', () => {
    expect(cbrTimeoutMs).toBe(DEFAULT_TIMEOUT_MS);
    // 3 attempts x 10 s + 2 waits capped at max(backoff cap 5 s, Retry-After cap 10 s) = 50 s.
    expect(worstCaseCallMs({ timeoutMs: cbrTimeoutMs, ...DEFAULT_RETRY })).toBe(DEFAULT_RETRY.maxAttempts * cbrTimeoutMs + (DEFAULT_RETRY.maxAttempts - 1) * Math.max(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.maxRetryAfterMs));
  });

  it('one worst-case CBR call (plus recording it) fits the timeout of every function that calls CBR', () => {
    const budget = callBudgetMs({ timeoutMs: cbrTimeoutMs, ...DEFAULT_RETRY });
    expect(cbrCalling.length).toBeGreaterThanOrEqual(5);
    for (const name of cbrCalling) expect(timeoutOf(name) * 1000, `${name} timeout (s) vs ${budget} ms`).toBeGreaterThanOrEqual(budget);
  });

  it('the operator APIs (vaults, retention, restores) answer within API Gateway\'s 30 s: 13 s per CBR call worst case, 15 s budget, timeout 29 s', () => {
    expect(operator).toEqual(['restores', 'retention', 'vaults']);
    expect(worstCaseCallMs(OPERATOR_CALL_LIMITS)).toBe(13_000);
    expect(callBudgetMs(OPERATOR_CALL_LIMITS)).toBe(15_000);
    for (const name of operator) {
      expect(timeoutOf(name), name).toBe(29);
      expect(timeoutOf(name) * 1000).toBeGreaterThanOrEqual(callBudgetMs(OPERATOR_CALL_LIMITS));
      for (const e of fns[name]!.events as Yaml[]) expect(e.httpApi, `${name}: HTTP only`).toBeDefined();
    }
  });

  it('leases and claims outlive the step that holds them; the sweep lease outlives the checker', () => {
    const steps = cbrCalling.filter((n) => n !== 'check-status' && n !== 'retention-sweep');
    for (const name of steps) {
      expect(DEFAULT_SETTINGS.vaultLeaseMs, name).toBeGreaterThan(timeoutOf(name) * 1000);
      expect(DEFAULT_SETTINGS.checkpointClaimMs, name).toBeGreaterThan(timeoutOf(name) * 1000);
    }
    expect(Number(sls.provider.environment.CHECK_LEASE_SECONDS)).toBeGreaterThan(timeoutOf('check-status'));
  });

  it('the retention sweep\'s lease (RETENTION_LEASE_SECONDS) outlives its timeout; one sweep container', () => {
    const sweep = fns['retention-sweep']!;
    expect(cbrCalling).toContain('retention-sweep');
    const lease = Config.shape.RETENTION_LEASE_SECONDS.parse(sweep.environment.RETENTION_LEASE_SECONDS);
    expect(lease).toBeGreaterThan(timeoutOf('retention-sweep'));
    expect(timeoutOf('retention-sweep')).toBeLessThanOrEqual(900); // Lambda's maximum
    expect(sweep.reservedConcurrency).toBe(1);
    expect(sweep.maximumRetryAttempts).toBe(0);
  });

  it("every queue's visibility timeout is >= 6 x its consumer's timeout", () => {
    for (const queue of QUEUE_NAMES) {
      const consumer = QUEUE_CONSUMERS[queue]!;
      const visibility = Number(custom(sls.resources.Resources[QUEUE_LOGICAL_IDS[queue]].Properties.VisibilityTimeout));
      expect(visibility, `${queue} (consumer ${consumer}, ${timeoutOf(consumer)} s)`).toBeGreaterThanOrEqual(6 * timeoutOf(consumer));
    }
    // Every SQS event source of serverless.yml, the schedules DLQ (plan-firing-failed) included.
    const mappings = Object.entries(fns).flatMap(([fn, def]) => (def.events as Yaml[]).filter((e) => e.sqs).map((e) => [fn, e.sqs.arn['Fn::GetAtt'][0] as string] as const));
    expect(mappings.map(([, q]) => q)).toContain('ScheduleDLQ');
    for (const [fn, queueId] of mappings) {
      const visibility = Number(custom(sls.resources.Resources[queueId].Properties.VisibilityTimeout));
      expect(visibility, `${queueId} (consumer ${fn}, ${timeoutOf(fn)} s)`).toBeGreaterThanOrEqual(6 * timeoutOf(fn));
    }
  });
});
