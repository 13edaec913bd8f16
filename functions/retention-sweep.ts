// retention-sweep: on its schedule (hourly) -> per vault with rules, ListBackups -> decide -> DeleteBackup at the rate limit, ledger per backup.
import { retentionSweepHandler } from '../lib/pipeline/edge/retention-sweep';
import { config } from '../lib/wiring/runtime';
import { retentionDeps } from '../lib/wiring/runtime-retention';

export const handler = retentionSweepHandler(retentionDeps, config.STAGE);
