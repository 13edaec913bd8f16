/**
 * Wiring of the retention functions (retention-sweep, retention): the shared runtime and CBR factory,
 * the retention items of the runs table (lib/store/dynamodb/retention.ts), the settings from the env.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { newUuid } from '../contracts/ids';
import { systemClock } from '../ports';
import type { HoldDeps } from '../retention/holds';
import type { RetentionDeps } from '../retention/sweep';
import { DynamoRetentionStore } from '../store/dynamodb/retention';
import { cbrClients } from './runtime-cbr';
import { config, log, store } from './runtime';

const dynamoClient = new DynamoDBClient({ region: config.AWS_REGION, ...(config.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: config.AWS_ENDPOINT_URL_DYNAMODB } : {}) });

export const retentionDeps: RetentionDeps & HoldDeps = {
  runs: store,
  retention: new DynamoRetentionStore(dynamoClient, config.TABLE_NAME, systemClock),
  cbr: cbrClients,
  clock: systemClock,
  log,
  newToken: newUuid,
  settings: {
    ledgerTtlDays: config.RETENTION_LEDGER_TTL_DAYS,
    refusedAlertSweeps: config.RETENTION_REFUSED_ALERT_SWEEPS,
    pageSize: config.CHECK_PAGE_SIZE,
    runTtlDays: config.RUN_TTL_DAYS,
    leaseMs: config.RETENTION_LEASE_SECONDS * 1000,
  },
};
