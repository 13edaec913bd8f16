/**
 * Wiring of the retention functions (retention-sweep, retention): the shared runtime and CBR factory,
 * the retention items of the runs table (lib/store/dynamodb/retention.ts), the settings from the env.
 * The sweep uses the pipeline's CBR clients; the HTTP API (retention) the operator's (OPERATOR_CALL_LIMITS,
 * API Gateway's 30 s), like the vaults function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { newUuid } from '../contracts/ids';
import { systemClock } from '../ports';
import type { HoldDeps } from '../retention/holds';
import type { RetentionDeps } from '../retention/sweep';
import { DynamoRetentionStore } from '../store/dynamodb/retention';
import { callBudgetMs, OPERATOR_CALL_LIMITS } from '../pipeline/deadline';
import { cbrClients, operatorCbrClients } from './runtime-cbr';
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

/** The retention API's deps: the operator's CBR clients and call budget (each call deadline-checked). */
export const operatorRetentionDeps: RetentionDeps & HoldDeps & { cbrCallBudgetMs: number } = {
  ...retentionDeps,
  cbr: operatorCbrClients,
  cbrCallBudgetMs: callBudgetMs(OPERATOR_CALL_LIMITS),
};
