/**
 * Per-container wiring for the deployed/local handlers: config parsed once at module load, the
 * DynamoDB store and the SQS bus built once. No CBR client here
 * (start-run and get-run import only this). The logger redacts every known secret (./log.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig, queueUrls, settingsFrom } from '../config';
import { newUuid } from '../contracts/ids';
import { systemClock } from '../ports';
import { SqsBus } from '../queue/sqs';
import { DynamoRunStore } from '../store/dynamodb/store';
import type { IntakeDeps } from './deps';
import { leveledLogger } from './log';
import { emfMetrics } from './metrics';

export const config = loadConfig(process.env);
export const log = leveledLogger(config.LOG_LEVEL);

const region = config.AWS_REGION;
const dynamoClient = new DynamoDBClient({ region, ...(config.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: config.AWS_ENDPOINT_URL_DYNAMODB } : {}) });
export const store = new DynamoRunStore(dynamoClient, config.TABLE_NAME, systemClock);
export const bus = new SqsBus(new SQSClient({ region, ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}) }), queueUrls(config));

export const intakeDeps: IntakeDeps = { store, bus, clock: systemClock, settings: settingsFrom(config), newToken: newUuid, metrics: emfMetrics(config.STAGE) };
