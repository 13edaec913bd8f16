// notify-run-finished: run.finished (events queue) -> signed POST to the run's notifyUrl, retried with
// backoff -> outcome recorded on the run. checkpoint.started on the same queue is acknowledged and ignored.
// Never imports the CBR client (cold start): see test/unit/pipeline/bundles.test.ts.
import { notifyHandler } from '../lib/pipeline/edge/notify-run-finished';
import { notifierSettingsFrom, notifyKeys } from '../lib/pipeline/notify-run-finished';
import { config, log, store } from '../lib/wiring/runtime';
import { systemClock } from '../lib/ports';

const keys = notifyKeys(config);
keys?.().catch(() => {}); // cold start: read the signing keys now; a failure surfaces (and is retried) on use

export const handler = notifyHandler(
  { store, clock: systemClock, keys, settings: notifierSettingsFrom(config), log },
  { maxReceiveCount: config.MAX_RECEIVE_COUNT, log },
);
