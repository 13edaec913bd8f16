/**
 * retention-sweep's handler on a scheduled event, against the emulator over HTTP: the sweep's figures
 * as EMF metrics (RetentionDeleted, RetentionRefused, RetentionRefusedPersisting) in namespace cbr-flow,
 * and a second invocation while the lease is held does nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { retentionSweepHandler } from '../../../lib/pipeline/edge/retention-sweep';
import { makeContext, makeScheduledEvent } from '../../helpers/factories';
import { DAY_MS, startRetentionWorld, type RetentionWorld } from '../../helpers/retention-world';

let world: RetentionWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

describe('retention-sweep handler', () => {
  it('writes the sweep as metrics; a refusal that persists shows in RetentionRefusedPersisting', async () => {
    world = await startRetentionWorld({ rules: { keepLast: 1 }, settings: { refusedAlertSweeps: 2 } });
    const w = world;
    for (let d = 0; d < 3; d++) {
      await w.backup();
      w.advance(DAY_MS);
    }
    const lines: Array<Record<string, any>> = [];
    const handler = retentionSweepHandler(w.deps, 'test', (line) => lines.push(JSON.parse(line)));
    w.emu.faults.add({ id: 'locked', operations: ['DeleteBackup'], error: { rate: 1, statuses: [400], errorCode: 'BackupService.6220', errorMsg: 'locked vault' }, times: 8 });
    await handler(makeScheduledEvent(), makeContext());
    await handler(makeScheduledEvent(), makeContext());
    await handler(makeScheduledEvent(), makeContext());
    expect(lines.map((l) => [l.RetentionDeleted, l.RetentionRefused, l.RetentionRefusedPersisting])).toEqual([[0, 4, 0], [0, 4, 4], [4, 0, 0]]);
    expect(lines[0]!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'cbr-flow', Dimensions: [['Stage']] });
    expect(lines[0]!.Stage).toBe('test');

    await w.deps.runs.acquireLease('retention-sweep', 'someone-else', w.deps.clock.now(), 60_000);
    expect(await handler(makeScheduledEvent(), makeContext())).toEqual({ busy: true });
    expect(lines).toHaveLength(3);
  });
});
