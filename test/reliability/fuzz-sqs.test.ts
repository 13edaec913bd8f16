/**
 * Issue 6 item 6 — every queue consumer under fuzzing: the four step handlers (create-vault,
 * add-resources, start-checkpoint, share-backup) and start-run's intake queue, through the real
 * sqsStepHandler with in-memory ports. Each case is one SQS batch: the genuine message of a run that is
 * at that step, plus 1..4 bad records (random bodies, the genuine message with one field mutated,
 * valid-shaped envelopes with hostile values, other message types, arbitrary message attributes and
 * receive counts), in random order. Properties:
 * - the handler never throws; batchItemFailures name only bad records, never the good one;
 * - nothing is dropped silently: every record is either processed ('step done') or a batch item failure;
 * - a bad record whose mutation no contract accepts is a failure whose reason names the mutated field;
 * - a failed record whose run is known (message attribute or body) is recorded on that run (attempts,
 *   lastError), and on its last receive the run ends FAILED;
 * - no unhandled rejection, no prototype pollution.
 */
import type { SQSBatchResponse, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMessage, parseMessage, type Message, type MessageType } from '../../lib/contracts';
import { RunId } from '../../lib/contracts/ids';
import { addResources } from '../../lib/pipeline/add-resources';
import { checkStatus } from '../../lib/pipeline/check-status';
import { createVault } from '../../lib/pipeline/create-vault';
import type { PipelineDeps } from '../../lib/wiring/deps';
import { sqsStepHandler } from '../../lib/pipeline/edge/sqs';
import { startRunHandler } from '../../lib/pipeline/edge/start-run';
import type { Logger } from '../../lib/wiring/log';
import { shareBackups } from '../../lib/pipeline/share-backup';
import { startCheckpoint } from '../../lib/pipeline/start-checkpoint';
import { startRun } from '../../lib/pipeline/start-run';
import type { QueueName } from '../../lib/ports';
import { isTerminal, type Step } from '../../lib/store/run';
import {
  anyJson,
  assertNoPollution,
  envelopes,
  formatPath,
  hostileId,
  hostileText,
  mutate,
  mutation,
  pointsAt,
  runs,
  toJson,
  uuid,
  watchProcess,
  type Mutated,
} from '../helpers/arbitraries';
import { makeContext, makeSqsEvent, makeSqsRecord } from '../helpers/factories';
import { AUTH_OFF } from '../helpers/webhooks'; // these properties are about bodies/contracts; auth is fuzzed in fuzz-http
import { makeWorld, request } from '../unit/pipeline/world';

const ctx = makeContext('cbr-flow-fuzz-sqs');
const counts: Record<string, number> = {};
const count = (target: string, n = 1) => (counts[target] = (counts[target] ?? 0) + n);
const started = Date.now();

let watch: ReturnType<typeof watchProcess>;
beforeAll(() => {
  watch = watchProcess();
});
afterAll(() => {
  watch.stop();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const { records = 0, ...batches } = counts;
  console.log(`[fuzz-sqs] batches ${JSON.stringify(batches)} total=${total - records} (${records} records) in ${Date.now() - started} ms`);
});

interface Target {
  name: string;
  type: MessageType;
  step: Step;
  queue: QueueName;
}

const TARGETS: Target[] = [
  { name: 'intake (start-run)', type: 'run.requested', step: 'create-vault', queue: 'intake' },
  { name: 'create-vault', type: 'run.requested', step: 'create-vault', queue: 'vault' },
  { name: 'add-resources', type: 'vault.ready', step: 'add-resources', queue: 'resources' },
  { name: 'start-checkpoint', type: 'resources.bound', step: 'start-checkpoint', queue: 'checkpoint' },
  { name: 'share-backup', type: 'checkpoint.finished', step: 'share-backup', queue: 'share' },
];

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A world with one run waiting at `target`'s step (its genuine message in hand) and a bystander run. */
async function worldAt(target: Target) {
  const w = makeWorld();
  const lines: Line[] = [];
  const log: Logger = (level, msg, fields = {}) => void lines.push({ level, msg, fields });
  const bystander = (await startRun(w.deps, { request: request({ vault: { mode: 'create', name: 'bystander', billing: { chargingMode: 'post_paid', size: 100 } } }), source: { kind: 'http' } })).runId;
  w.bus.drain('vault');

  let good: Message;
  let runId: string;
  if (target.queue === 'intake') {
    runId = '6b2c1f0e-3d4a-4b5c-8d6e-7f8091a2b3c4';
    good = buildMessage('run.requested', { runId, occurredAt: w.clock.now(), data: { request: request() as never } });
  } else {
    runId = (await startRun(w.deps, { request: request(), source: { kind: 'http' } })).runId;
    const order: QueueName[] = ['vault', 'resources', 'checkpoint', 'share'];
    let next = w.bus.drain('vault')[0]!.message;
    for (const queue of order) {
      if (queue === target.queue) break;
      await w.deliver(queue, next);
      if (queue === 'checkpoint') {
        w.cbr.finishAll('available');
        w.clock.advance(w.deps.settings.checkMaxDelayMs);
        await checkStatus(w.deps);
      }
      const following = order[order.indexOf(queue) + 1]!;
      next = w.bus.drain(following)[0]!.message;
    }
    good = next;
    w.bus.sent.length = 0;
  }
  expect(good.type).toBe(target.type);
  const handler =
    target.queue === 'intake'
      ? (event: ReturnType<typeof makeSqsEvent>) => startRunHandler(w.deps, { webhookAuth: AUTH_OFF, log })(event, ctx) as Promise<SQSBatchResponse>
      : (() => {
          const run = { vault: createVault, resources: addResources, checkpoint: startCheckpoint, share: shareBackups }[target.queue as 'vault'] as (d: PipelineDeps, m: never) => Promise<unknown>;
          const h = sqsStepHandler({ type: target.type, step: target.step, run: run as never }, w.deps, log);
          return (event: ReturnType<typeof makeSqsEvent>) => h(event, ctx);
        })();
  return { w, lines, runId, bystander, good, handler };
}

/** What a bad record carries, and what the test may expect of it. */
type Bad =
  | { kind: 'random'; body: string }
  | { kind: 'mutated'; m: Mutated<Message> }
  | { kind: 'shaped'; body: string }
  | { kind: 'other-type'; body: string };

const badRecipe = (type: MessageType) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.oneof(anyJson.map(toJson), fc.string({ unit: 'binary', maxLength: 100 }), fc.constantFrom('', 'null', '{}', '[]', '{"type":"run.requested"}', '{"type":"__proto__","version":1}', '{"type":"constructor","version":1}')).map((body) => ({ kind: 'random' as const, body })) },
    { weight: 5, arbitrary: mutation.map((recipe) => ({ kind: 'mutated' as const, recipe })) },
    { weight: 2, arbitrary: envelopes[type].map((e) => ({ kind: 'shaped' as const, envelope: e as Message })) },
    { weight: 1, arbitrary: fc.constantFrom(...(Object.keys(envelopes) as MessageType[]).filter((t) => t !== type)).chain((t) => envelopes[t] as fc.Arbitrary<unknown>).map((e) => ({ kind: 'other-type' as const, body: toJson(e) })) },
  );

/** Message attributes: none, a runId naming a real run / an unknown run / something hostile, junk. */
const attributeRecipe: fc.Arbitrary<AttributeRecipe> = fc.oneof<fc.Arbitrary<AttributeRecipe>[]>(
  fc.constant({ runId: 'none' as const }),
  fc.constantFrom('good' as const, 'bystander' as const).map((runId) => ({ runId })),
  uuid.map((id) => ({ runId: 'value' as const, value: id })),
  fc.oneof(hostileId, hostileText).map((value) => ({ runId: 'value' as const, value })),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.record({ dataType: fc.constantFrom('String', 'Number', 'Binary', ''), stringValue: hostileText }), { maxKeys: 3, noNullPrototype: true }).map((junk) => ({ runId: 'junk' as const, junk })),
);

type AttributeRecipe = { runId: 'none' | 'good' | 'bystander' | 'value' | 'junk'; value?: string; junk?: Record<string, { dataType: string; stringValue: string }> };

function attributes(recipe: AttributeRecipe, ids: { good: string; bystander: string }): SQSMessageAttributes {
  const str = (stringValue: string) => ({ dataType: 'String', stringValue, stringListValues: [], binaryListValues: [] });
  switch (recipe.runId) {
    case 'good':
      return { runId: str(ids.good) };
    case 'bystander':
      return { runId: str(ids.bystander) };
    case 'value':
      return { runId: str(recipe.value!) };
    case 'junk':
      return Object.fromEntries(Object.entries(recipe.junk ?? {}).map(([k, v]) => [k, { ...v, stringListValues: [], binaryListValues: [] }]));
    default:
      return {};
  }
}

const receiveCount = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 8 }) });

/** The run a failed record is attributed to, as the SQS edge is specified to find it. */
function knownRunId(record: SQSRecord, type: MessageType): string | undefined {
  try {
    return parseMessage(record.body, type).runId;
  } catch {
    const attr = record.messageAttributes?.runId?.stringValue;
    if (attr !== undefined && RunId.safeParse(attr).success) return attr;
    try {
      const body = JSON.parse(record.body) as { runId?: unknown };
      if (body !== null && typeof body === 'object' && RunId.safeParse(body.runId).success) return body.runId as string;
    } catch {
      /* not JSON: no run id */
    }
    return undefined;
  }
}

describe.each(TARGETS)('SQS $name under fuzzing', (target) => {
  it('one bad record never fails its batch-mates, nothing is dropped silently, failures are recorded on their run', async () => {
    const bads = fc.array(fc.tuple(badRecipe(target.type), attributeRecipe, receiveCount), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(bads, fc.nat(), async (recipes, position) => {
        count(target.name);
        const { w, lines, runId, bystander, good, handler } = await worldAt(target);
        const ids = { good: runId, bystander };

        const goodRecord = makeSqsRecord(good, { receiveCount: 1 });
        const badRecords = recipes.map(([recipe, attrs, receives]) => {
          let bad: Bad;
          if (recipe.kind === 'mutated') bad = { kind: 'mutated', m: mutate(good, recipe.recipe.kind, recipe.recipe.ing) };
          else if (recipe.kind === 'shaped') bad = { kind: 'shaped', body: toJson(recipe.envelope) };
          else bad = recipe;
          const body = bad.kind === 'mutated' ? toJson(bad.m.value) : bad.body;
          return { bad, record: makeSqsRecord(body, { receiveCount: receives, messageAttributes: attributes(attrs, ids) }) };
        });
        const records = [...badRecords.map((b) => b.record)];
        records.splice(position % (records.length + 1), 0, goodRecord);
        const before = new Map([runId, bystander].map((id) => [id, w.memory.runs.get(id) && structuredClone(w.memory.runs.get(id)!)]));

        count('records', records.length);
        const result = await handler(makeSqsEvent(records));

        // 1. A partial-batch answer naming only records of this batch, never the good one.
        const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
        for (const id of failed) expect(records.map((r) => r.messageId)).toContain(id);
        expect(failed.has(goodRecord.messageId), `good record failed: ${JSON.stringify(lines.filter((l) => l.msg === 'step failed'))}`).toBe(false);

        // 2. Every record either processed or failed: never both, never neither.
        const done = new Set(lines.filter((l) => l.msg === 'step done').map((l) => l.fields.messageId));
        const failedLogged = new Map(lines.filter((l) => l.msg === 'step failed').map((l) => [l.fields.messageId, l.fields]));
        for (const r of records) {
          expect(done.has(r.messageId) !== failed.has(r.messageId), `record ${r.messageId} processed=${done.has(r.messageId)} failed=${failed.has(r.messageId)}`).toBe(true);
          expect(failedLogged.has(r.messageId)).toBe(failed.has(r.messageId));
        }

        // 3. Records no contract accepts fail, with a reason naming the mutated field.
        for (const { bad, record } of badRecords) {
          if (bad.kind === 'random' || bad.kind === 'other-type') {
            expect(failed.has(record.messageId), `${bad.kind} ${record.body.slice(0, 80)} was processed`).toBe(true);
          }
          if (bad.kind === 'other-type') expect(failedLogged.get(record.messageId)).toMatchObject({ error: 'ValidationError', field: 'type' });
          if (bad.kind !== 'mutated') continue;
          const why = failedLogged.get(record.messageId);
          if (bad.m.mustFail) expect(why, `${bad.m.note} was processed`).toBeDefined();
          if (why?.error === 'ValidationError') {
            expect(pointsAt(String(why.field), bad.m.expect), `${bad.m.note}: reason names '${String(why.field)}', not '${formatPath(bad.m.expect)}'`).toBe(true);
          }
        }

        // 4. Failures of records whose run is known are recorded on that run (unless it had ended).
        const expected = new Map<string, { failures: number; last: boolean }>();
        for (const r of records) {
          if (!failed.has(r.messageId)) continue;
          const known = knownRunId(r, target.type);
          if (known === undefined || !before.get(known)) continue;
          const e = expected.get(known) ?? { failures: 0, last: false };
          e.failures++;
          e.last ||= Number(r.attributes.ApproximateReceiveCount) >= w.deps.settings.maxReceiveCount;
          expected.set(known, e);
        }
        // A record that is not a valid message is "refused": noted on the run it names (attempts.refused
        // and a timeline event), never failing that run (lib/pipeline/record-failure.ts); a valid message
        // whose processing failed counts against the step and sets lastError.
        for (const [id, e] of expected) {
          const run = w.memory.runs.get(id)!;
          const was = before.get(id)!;
          if (isTerminal(run.state)) continue; // e.g. its good batch-mate finished it
          const stepFailures = (run.attempts[target.step] ?? 0) - (was.attempts[target.step] ?? 0);
          const refusals = (run.attempts.refused ?? 0) - (was.attempts.refused ?? 0);
          expect(stepFailures + refusals, `failures recorded on ${id === runId ? 'the good run' : 'the bystander'}`).toBe(e.failures);
          const newEvents = run.timeline.slice(was.timeline.length).map((t) => t.event);
          expect(newEvents.filter((ev) => ev === 'message-refused' || ev === 'message-dead-lettered').length).toBe(refusals);
          if (e.last && refusals > 0) expect(newEvents).toContain('message-dead-lettered');
          if (stepFailures > 0) expect(run.lastError).toBeDefined();
        }
        assertNoPollution();
      }),
      { numRuns: runs(200) },
    );
    await watch.check();
  });
});
