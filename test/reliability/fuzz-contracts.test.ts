/**
 * Issue 6 item 6 — the contracts and the non-HTTP, non-SQS edges under fuzzing:
 * - parseMessage for every message type (the six queue contracts): a one-field mutation is refused
 *   with a ValidationError naming exactly that field; random input is only ever a ValidationError;
 *   a valid-shaped envelope with hostile free-text values parses to itself;
 * - start-run's direct invokes (a plan's schedule trigger, a run.requested envelope, anything else
 *   a caller can pass to Lambda Invoke): a result, or a ValidationError naming the field — never a
 *   TypeError or another crash;
 * - check-status with any scheduled event.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_TYPES, parseMessage, type MessageType } from '../../lib/contracts';
import { ValidationError } from '../../lib/errors';
import { checkStatusHandler } from '../../lib/pipeline/edge/check-status';
import { startRunHandler } from '../../lib/pipeline/edge/start-run';
import { silentLogger } from '../../lib/wiring/log';
import {
  anyJson,
  asParsed,
  assertNoPollution,
  envelopes,
  formatPath,
  hostileText,
  mutated,
  pointsAt,
  runRequest,
  runs,
  toJson,
  uuid,
  watchProcess,
  type Mutated,
} from '../helpers/arbitraries';
import { makeContext, makeScheduledEvent } from '../helpers/factories';
import { AUTH_OFF } from '../helpers/webhooks'; // these properties are about bodies/contracts; auth is fuzzed in fuzz-http
import { makeWorld } from '../unit/pipeline/world';

const ctx = makeContext('cbr-flow-fuzz-contracts');
const counts: Record<string, number> = {};
const count = (target: string) => (counts[target] = (counts[target] ?? 0) + 1);
const started = Date.now();

let watch: ReturnType<typeof watchProcess>;
beforeAll(() => {
  watch = watchProcess();
});
afterAll(() => {
  watch.stop();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`[fuzz-contracts] ${JSON.stringify(counts)} total=${total} in ${Date.now() - started} ms`);
});

/** Runs `fn`; returns its error, which must be a ValidationError naming a field (or nothing). */
async function refusal(fn: () => unknown): Promise<ValidationError | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    expect(error, `not a ValidationError: ${String(error)}`).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.field.length).toBeGreaterThan(0);
    expect(v.issues.length).toBeGreaterThan(0);
    return v;
  }
}

function expectNames(v: ValidationError | undefined, m: Mutated, root = ''): void {
  if (m.mustFail) expect(v, `${m.note} was accepted`).toBeDefined();
  if (!v) return;
  const want = formatPath(m.expect, root);
  expect(pointsAt(v.field, m.expect, root), `${m.note}: names '${v.field}', not '${want}'`).toBe(true);
  for (const i of v.issues) expect(pointsAt(i.field, m.expect, root), `${m.note}: issue on '${i.field}' (${i.message}) is not about '${want}'`).toBe(true);
}

describe('queue contracts (parseMessage) under fuzzing', () => {
  it.each(MESSAGE_TYPES)('%s: one mutated field is refused naming that field', async (type: MessageType) => {
    await fc.assert(
      fc.asyncProperty(mutated(envelopes[type] as fc.Arbitrary<unknown>), fc.boolean(), async (m, asText) => {
        count(`contract.mutated.${type}`);
        const input = asText ? toJson(m.value) : asParsed(m.value);
        const v = await refusal(() => parseMessage(input, type));
        expectNames(v, m);
        assertNoPollution();
      }),
      { numRuns: runs(300) },
    );
    await watch.check();
  });

  it.each(MESSAGE_TYPES)('%s: a valid-shaped envelope with hostile free text parses to itself', async (type: MessageType) => {
    await fc.assert(
      fc.property(envelopes[type] as fc.Arbitrary<{ type: string; runId: string }>, (e) => {
        count(`contract.shaped.${type}`);
        const parsed = parseMessage(toJson(e), type);
        if (type === 'run.requested') expect(parsed.runId).toBe(e.runId);
        else expect(parsed).toEqual(e);
      }),
      { numRuns: runs(50) },
    );
  });

  it('random input is refused with a ValidationError, never another error', async () => {
    const input = fc.oneof(anyJson, anyJson.map(toJson), fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom(undefined, null, 0, NaN, '', '{}', Symbol.for('x') as unknown));
    await fc.assert(
      fc.asyncProperty(input, fc.option(fc.constantFrom(...MESSAGE_TYPES), { nil: undefined }), async (value, type) => {
        count('contract.random');
        const v = await refusal(() => parseMessage(value instanceof Object && !(typeof value === 'string') ? asParsed(value) : value, type));
        expect(v).toBeDefined();
        assertNoPollution();
      }),
      { numRuns: runs(600) },
    );
    await watch.check();
  });
});

describe('start-run direct invokes and the scheduler under fuzzing', () => {
  const trigger = fc.record({
    source: fc.constant('cbr-flow.plan'),
    plan: fc.string({ minLength: 1, maxLength: 64 }),
    scheduledTime: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    request: runRequest,
  });

  it('a plan trigger with one field mutated: a run, or a ValidationError naming that field', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    await fc.assert(
      fc.asyncProperty(mutated(trigger), async (m) => {
        count('invoke.scheduleTrigger');
        const event = asParsed(m.value) as Record<string, unknown>;
        const before = w.memory.runs.size;
        let result: unknown;
        const v = await refusal(async () => {
          result = await handler(event, ctx);
        });
        if (v) {
          // A trigger whose `source` is mutated is not a trigger any more: it is read as an envelope.
          if (m.path[0] !== 'source') expectNames(v, m);
          expect(w.memory.runs.size).toBe(before);
        } else {
          expect(result).toMatchObject({ runId: expect.any(String), state: expect.any(String) });
          expect(w.memory.runs.get((result as { runId: string }).runId)).toBeDefined();
        }
        assertNoPollution();
      }),
      { numRuns: runs(400) },
    );
    await watch.check();
  });

  it('a run.requested envelope invoked directly with one field mutated: a run, or a ValidationError naming that field', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    await fc.assert(
      fc.asyncProperty(mutated(envelopes['run.requested']), async (m) => {
        count('invoke.runRequested');
        const event = asParsed(m.value);
        if (typeof event === 'object' && event !== null && 'Records' in event) return; // an SQS-shaped event
        const v = await refusal(() => handler(event as Record<string, unknown>, ctx));
        if (v) expectNames(v, m);
      }),
      { numRuns: runs(300) },
    );
    await watch.check();
  });

  it('any other invoke payload (null, primitives, arrays, junk, junk SQS records): an answer or a ValidationError', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log: silentLogger });
    const payload = fc.oneof(
      anyJson,
      fc.constantFrom(null, undefined, 0, 'x', [], true),
      fc.array(fc.oneof(anyJson, fc.constant(null)), { maxLength: 3 }).map((Records) => ({ Records })),
      fc.record({ requestContext: fc.oneof(anyJson, fc.record({ http: fc.constant({}) })), body: fc.oneof(anyJson, hostileText), headers: fc.oneof(anyJson, fc.constant(null)) }),
      fc.record({ source: fc.oneof(fc.constant('cbr-flow.plan'), hostileText), plan: anyJson, scheduledTime: fc.oneof(hostileText, fc.constant('<aws.scheduler.scheduled-time>')), request: anyJson }),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (value) => {
        count('invoke.anyPayload');
        const event = value === undefined ? undefined : asParsed(value);
        let answer: unknown;
        await refusal(async () => {
          answer = await handler(event as Record<string, unknown>, ctx);
        });
        if (answer && typeof answer === 'object' && 'statusCode' in answer) expect((answer as { statusCode: number }).statusCode).toBeLessThan(500);
        if (answer && typeof answer === 'object' && 'batchItemFailures' in answer) {
          for (const f of (answer as { batchItemFailures: Array<{ itemIdentifier: unknown }> }).batchItemFailures) expect(typeof f.itemIdentifier).toBe('string');
        }
        assertNoPollution();
      }),
      { numRuns: runs(400), examples: [[null], [undefined], [{ Records: [null] }], [{ Records: [1] }], [{ requestContext: { http: {} }, body: {} }]] },
    );
    await watch.check();
  });

  it('check-status: any scheduled event is one sweep, never an error', async () => {
    const w = makeWorld();
    const handler = checkStatusHandler(w.deps, silentLogger);
    const event = fc.oneof(fc.constant(makeScheduledEvent()), anyJson.map((j) => ({ detail: j })), uuid.map((id) => ({ ...makeScheduledEvent(), id })));
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        count('schedule.checkStatus');
        const result = await handler(asParsed(e) as never, ctx);
        expect(result).toMatchObject({ errors: 0 });
      }),
      { numRuns: runs(100) },
    );
    await watch.check();
  });
});
