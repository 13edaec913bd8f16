/**
 * Issue 6 §5: poison messages. Malformed JSON, an unknown type, a wrong version and an oversized
 * (> 256 KiB) message share a batch with four healthy runs' messages on the vault queue. Each poison
 * message is refused on every receive with its reason logged, recorded on its run where a run id is
 * known, and moved to the DLQ by local-aws-sqs's own redrive after maxReceiveCount (5) receives; the
 * healthy runs in the same batches complete — a stray bad message never decides a run's fate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { MAX_MESSAGE_BYTES } from '../../lib/contracts';
import { newUuid } from '../../lib/contracts/ids';
import { runRequestedMessage } from '../../lib/pipeline/start-run';
import { makeServers, runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const MAX_RECEIVE = 5;
let h: Harness;
const servers = makeServers(8, 'poison');

beforeAll(async () => {
  // One poller: the first batch holds all nine messages, good and bad together.
  h = await startHarness({ maxReceiveCount: MAX_RECEIVE, pollers: 1, emulator: { seed: 6005, resources: [...DEMO.resources, ...servers] } });
});
afterAll(async () => h?.stop());

describe('poison messages', () => {
  it('malformed, unknown-type, wrong-version and oversized messages go to the DLQ after 5 receives; their batch-mates complete', async () => {
    const started = await Promise.all([0, 1, 2, 3].map((i) => h.startRun(runBody(`poison_${i}`, [servers[2 * i]!.id, servers[2 * i + 1]!.id]))));
    const [a, b, c, d] = started.map((s) => s.runId!) as [string, string, string, string];
    const now = new Date(h.clock.now()).toISOString();
    const dMessage = runRequestedMessage(await h.run(d), h.clock.now());
    const padded = JSON.stringify(dMessage).replace('{', `{${' '.repeat(MAX_MESSAGE_BYTES)}`); // valid JSON, too big

    const bodies = {
      malformed: `{"id":"${newUuid()}","type":"run.requested","version":1,"runId":"${a}",`,
      unknownType: JSON.stringify({ id: newUuid(), type: 'run.exploded', version: 1, runId: b, occurredAt: now, attempt: 1, data: {} }),
      wrongVersion: JSON.stringify({ ...runRequestedMessage(await h.run(c), h.clock.now()), version: 2 }),
      oversized: padded,
      anonymous: 'not json, and no run id anywhere',
    };
    const poison = {
      malformed: await h.sendRaw('vault', bodies.malformed, { type: 'run.requested', runId: a }), // run id only in the attribute
      unknownType: await h.sendRaw('vault', bodies.unknownType), // run id only in the body
      wrongVersion: await h.sendRaw('vault', bodies.wrongVersion, { type: 'run.requested', runId: c }),
      oversized: await h.sendRaw('vault', bodies.oversized, { type: 'run.requested', runId: d }),
      anonymous: await h.sendRaw('vault', bodies.anonymous),
    };
    expect(Buffer.byteLength(padded)).toBeGreaterThan(256 * 1024);

    const drive = await h.drive();
    expect(drive.done).toBe(true);

    // The healthy runs, batch-mates of the poison, all completed.
    const runs = await Promise.all([a, b, c, d].map((id) => h.run(id)));
    expect(runs.map((r) => r.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);

    // Every poison message is in the DLQ (local-aws-sqs redrive), and only those.
    const dlq = await h.drainDlq('vault');
    expect(dlq.map((m) => m.Body).sort()).toEqual(Object.values(bodies).sort());

    // Each was received exactly MAX_RECEIVE times, refused every time, with a reason naming what is wrong.
    const refusals = (id: string) => h.logs.filter((l) => l.msg === 'step failed' && l.fields.messageId === id);
    const expectRefused = (id: string, field: string, message: RegExp) => {
      const seen = refusals(id);
      expect(seen.map((l) => l.fields.receiveCount), id).toEqual([1, 2, 3, 4, 5]);
      for (const l of seen) expect(l.fields, id).toMatchObject({ error: 'ValidationError', field, message: expect.stringMatching(message) });
    };
    expectRefused(poison.malformed, 'body', /not valid JSON/);
    expectRefused(poison.unknownType, 'type', /unknown message type 'run.exploded'/);
    expectRefused(poison.wrongVersion, 'version', /unsupported version 2/);
    expectRefused(poison.oversized, 'body', /over the 262144-byte limit/);
    expectRefused(poison.anonymous, 'body', /not valid JSON/);

    // Recorded on the run where the run id is known (attribute or body), without failing it.
    const refusedEvents = (runId: string) => runs.find((r) => r.runId === runId)!.timeline.filter((e) => e.event === 'message-refused' || e.event === 'message-dead-lettered');
    for (const [runId, why] of [
      [a, /not valid JSON/],
      [b, /unknown message type/],
      [c, /unsupported version 2/],
      [d, /262144-byte limit/],
    ] as const) {
      const events = refusedEvents(runId);
      expect(events.map((e) => e.event), runId).toEqual([...Array(MAX_RECEIVE - 1).fill('message-refused'), 'message-dead-lettered']);
      for (const e of events) expect(e.detail).toMatch(why);
    }

    const byReason = Object.fromEntries(Object.entries(poison).map(([k, id]) => [k, refusals(id).length]));
    console.log(
      `[reliability] poison: messages=5 dlq=${dlq.length} receivesEach=${JSON.stringify(byReason)} healthyBatchMates=${runs.filter((r) => r.state === 'COMPLETED').length}/4 ` +
        `recordedOnRuns=4 wall=${Math.round(drive.realMs)}ms`,
    );
  }, 60_000);
});
