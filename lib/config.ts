/**
 * The handlers' environment, parsed once per container through one zod schema (fail fast, with the
 * variable named). lib/wiring/runtime.ts does `config = loadConfig(process.env)` at module load;
 * nothing else reads process.env. serverless.yml sets these (provider.environment).
 */
import * as z from 'zod';
import { parseWith } from './contracts/parse';
import { checkNotifyEnv, notifyEnvShape } from './notify/env';
import { checkWebhookEnv, webhookEnvShape } from './webhooks/env';
import { DEFAULT_PROJECT_KEY, parseCredentialsMap } from './wiring/credentials-map';
import type { PipelineSettings } from './wiring/deps';
import type { QueueName } from './ports';
import type { RestoreSettings } from './restore/restore';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const url = z.url({ protocol: /^https?$/ });

export const Config = z
  .object({
    STAGE: z.string().min(1).default('local'),
    TABLE_NAME: z.string().min(3).max(255),
    INTAKE_QUEUE_URL: url,
    VAULT_QUEUE_URL: url,
    RESOURCES_QUEUE_URL: url,
    CHECKPOINT_QUEUE_URL: url,
    SHARE_QUEUE_URL: url,
    EVENTS_QUEUE_URL: url,
    /** Region of the deployment's AWS services (Lambda sets it). */
    AWS_REGION: z.string().min(1).default('us-east-1'),
    /** Local stage only: the dynalite / local SQS endpoints. */
    AWS_ENDPOINT_URL_DYNAMODB: url.optional(),
    AWS_ENDPOINT_URL_SQS: url.optional(),
    /** CBR and IAM endpoint overrides (the emulator); default: the public endpoints of the region. */
    CBR_ENDPOINT: url.optional(),
    IAM_ENDPOINT: url.optional(),
    /** Region used when a run request omits one. */
    CBR_REGION: z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)+-\d{1,3}$/).optional(),
    /** Secrets Manager secret (name or ARN) holding the CBR credentials JSON (deployed stages). */
    CBR_CREDENTIALS_SECRET: z.string().min(1).optional(),
    /** Local stage only (set by the local runner): the credentials JSON itself. */
    CBR_CREDENTIALS_JSON: z.string().min(2).optional(),
    /**
     * Many accounts: `{"<projectId>": "<secret ref>", "*": "<default ref>"}` (lib/wiring/credentials.ts);
     * CBR_CREDENTIALS_SECRET / _JSON, when set, are the "*" entry.
     */
    CBR_CREDENTIALS_MAP: z.string().min(2).optional(),
    /** Base URL for statusUrl in 202 answers; default: derived from the request's Host header. */
    PUBLIC_BASE_URL: url.optional(),
    /** Lowest level written: info (default), warn, error or silent. */
    LOG_LEVEL: z.enum(['info', 'warn', 'error', 'silent']).default('info'),
    CBR_TIMEOUT_MS: int(100, 60_000, 10_000),
    /**
     * Client-side token bucket per CBR project and container (lib/cbr/rate-limit.ts): sustained
     * requests/s (0 = no limit) and burst. CBR documents no rate limit, only the gateway's 429; 10/s
     * with a burst of 20 is ~6x what a checker sweep of 100 vaults a minute needs, lets a 10-record
     * SQS batch make two calls per record without waiting, and stays far from any plausible gateway
     * threshold. Each concurrent Lambda container has its own bucket.
     */
    CBR_RATE_LIMIT_RPS: z.coerce.number().min(0).max(10_000).default(10),
    CBR_RATE_LIMIT_BURST: int(1, 10_000, 20),
    DUE_SHARDS: int(1, 64, 4),
    CHECK_CONCURRENCY: int(1, 256, 8),
    CHECK_MAX_RUNS: int(1, 100_000, 20_000),
    CHECK_PAGE_SIZE: int(1, 1000, 500),
    /** The checker's sweep lease (one sweep at a time, instead of reserved concurrency); > its function timeout. */
    CHECK_LEASE_SECONDS: int(10, 900, 60),
    CHECK_FIRST_DELAY_SECONDS: int(0, 3600, 30),
    CHECK_BASE_DELAY_SECONDS: int(1, 3600, 30),
    CHECK_MAX_DELAY_SECONDS: int(1, 86_400, 300),
    /**
     * How the next look at a protecting checkpoint is timed (lib/pipeline/check-schedule.ts): `progress`
     * (from CBR's progress field, falling back to the backoff) or `backoff` (base · 2^n, the pre-issue-17
     * schedule). CHECK_ESTIMATE_MAX_DELAY_SECONDS caps a progress estimate's gap between two looks.
     */
    CHECK_SCHEDULE: z.enum(['progress', 'backoff']).default('progress'),
    CHECK_ESTIMATE_MAX_DELAY_SECONDS: int(10, 86_400, 900),
    /**
     * One checker invocation keeps sweeping every CHECK_SWEEP_INTERVAL_SECONDS for the runs due within
     * CHECK_SWEEP_WINDOW_SECONDS of its start (0: one sweep per invocation). Must stay below the
     * function's timeout; serverless.yml sets 50 for the minute schedule (bench P8).
     */
    CHECK_SWEEP_WINDOW_SECONDS: int(0, 840, 0),
    CHECK_SWEEP_INTERVAL_SECONDS: int(1, 300, 10),
    VAULT_LEASE_SECONDS: int(10, 3600, 120),
    CHECKPOINT_CLAIM_SECONDS: int(10, 3600, 120),
    BUSY_RETRY_DELAY_SECONDS: int(0, 900, 30),
    BUSY_RETRY_MAX: int(1, 1000, 20),
    SKIP_RETRY_DELAY_SECONDS: int(0, 900, 120),
    SKIP_RETRY_MAX: int(0, 19, 5),
    STEP_TIMEOUT_SECONDS: int(60, 86_400, 900),
    RUN_TTL_DAYS: int(1, 3650, 30),
    /** Retention sweep (lib/retention/sweep.ts): ledger TTL; refusals in a row before a backup counts as persisting (alarm); its lease (> the function's timeout). */
    RETENTION_LEDGER_TTL_DAYS: int(1, 3650, 400),
    RETENTION_REFUSED_ALERT_SWEEPS: int(1, 1000, 3),
    RETENTION_LEASE_SECONDS: int(60, 3600, 960),
    MAX_RECEIVE_COUNT: int(1, 1000, 5),
    /**
     * Restores (lib/restore): servers a restore may overwrite without `confirm` (comma-separated server
     * ids, e.g. the recovery-drill servers); anything else needs `"confirm": "<server id>"`.
     */
    DRILL_TARGETS: z
      .string()
      .transform((v) => v.split(',').map((x) => x.trim()).filter((x) => x !== ''))
      .pipe(z.array(z.guid({ error: 'each DRILL_TARGETS entry must be a server id (UUID), comma-separated' })))
      .default([]),
    /** A restore not finished this long after it was asked for is EXPIRED. */
    RESTORE_WINDOW_MINUTES: int(5, 7 * 24 * 60, 360),
    /** How long the checker looks for the operation log of a RestoreBackup whose answer was lost before failing it. */
    RESTORE_CONFIRM_GRACE_SECONDS: int(30, 3600, 120),
    /** Shares (lib/pipeline/share-sweep.ts): alert on a member still pending this long; accepted members at a share's end; revocations per sweep. */
    SHARE_PENDING_ALERT_HOURS: int(1, 8760, 24),
    SHARE_EXPIRY_ACCEPTED: z.enum(['revoke', 'keep']).default('revoke'),
    SHARE_REVOKES_PER_SWEEP: int(1, 1000, 50),
    /** A cross-region copy not available this long after the run's backups were is EXPIRED (README "Cross-region replication"). */
    REPLICATION_WINDOW_MINUTES: int(5, 7 * 24 * 60, 360),
    /** Inbound webhook authentication (WEBHOOK_AUTH, WEBHOOK_KEYS_SECRET, WEBHOOK_KEYS_JSON, SECRETS_TTL_SECONDS). */
    ...webhookEnvShape,
    /** Outbound run-finished notifications (NOTIFY_KEYS_SECRET, NOTIFY_ALLOW_LOOPBACK, NOTIFY_MAX_ATTEMPTS, NOTIFY_TIMEOUT_MS). */
    ...notifyEnvShape,
  })
  .superRefine((c, ctx) => {
    checkWebhookEnv(c, ctx);
    checkNotifyEnv(c, ctx);
    if (c.CBR_CREDENTIALS_JSON !== undefined && c.STAGE !== 'local') {
      ctx.addIssue({ code: 'custom', path: ['CBR_CREDENTIALS_JSON'], message: 'is only allowed when STAGE=local; deployed stages read CBR_CREDENTIALS_SECRET' });
    }
    if (c.CBR_CREDENTIALS_MAP !== undefined) {
      const { entries, issues } = parseCredentialsMap(c.CBR_CREDENTIALS_MAP, c.STAGE);
      for (const issue of issues) ctx.addIssue({ code: 'custom', path: issue.key ? ['CBR_CREDENTIALS_MAP', issue.key] : ['CBR_CREDENTIALS_MAP'], message: issue.message });
      if (entries.has(DEFAULT_PROJECT_KEY) && (c.CBR_CREDENTIALS_SECRET !== undefined || c.CBR_CREDENTIALS_JSON !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['CBR_CREDENTIALS_MAP', DEFAULT_PROJECT_KEY], message: 'and CBR_CREDENTIALS_SECRET (or _JSON) both give the default credentials; keep one' });
      }
    } else if (c.CBR_CREDENTIALS_JSON === undefined && c.CBR_CREDENTIALS_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['CBR_CREDENTIALS_SECRET'], message: 'is required (or CBR_CREDENTIALS_MAP, or CBR_CREDENTIALS_JSON on the local stage)' });
    }
  });
export type Config = z.infer<typeof Config>;

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings (unset CloudFormation parameters) count as absent.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  return parseWith(Config, cleaned, 'env');
}

export function queueUrls(config: Config): Record<QueueName, string> {
  return {
    intake: config.INTAKE_QUEUE_URL,
    vault: config.VAULT_QUEUE_URL,
    resources: config.RESOURCES_QUEUE_URL,
    checkpoint: config.CHECKPOINT_QUEUE_URL,
    share: config.SHARE_QUEUE_URL,
    events: config.EVENTS_QUEUE_URL,
  };
}

export function restoreSettingsFrom(config: Config): RestoreSettings {
  return {
    drillTargets: new Set(config.DRILL_TARGETS.map((id) => id.toLowerCase())),
    windowMs: config.RESTORE_WINDOW_MINUTES * 60_000,
    graceMs: config.RESTORE_CONFIRM_GRACE_SECONDS * 1000,
    ttlDays: config.RUN_TTL_DAYS,
  };
}

export function settingsFrom(config: Config): PipelineSettings {
  return {
    defaultRegion: config.CBR_REGION,
    dueShards: config.DUE_SHARDS,
    vaultLeaseMs: config.VAULT_LEASE_SECONDS * 1000,
    checkpointClaimMs: config.CHECKPOINT_CLAIM_SECONDS * 1000,
    busyRetryDelaySeconds: config.BUSY_RETRY_DELAY_SECONDS,
    busyRetryMax: config.BUSY_RETRY_MAX,
    skipRetryDelaySeconds: config.SKIP_RETRY_DELAY_SECONDS,
    skipRetryMax: config.SKIP_RETRY_MAX,
    stepTimeoutMs: config.STEP_TIMEOUT_SECONDS * 1000,
    firstCheckDelayMs: config.CHECK_FIRST_DELAY_SECONDS * 1000,
    checkBaseDelayMs: config.CHECK_BASE_DELAY_SECONDS * 1000,
    checkMaxDelayMs: config.CHECK_MAX_DELAY_SECONDS * 1000,
    checkSchedule: config.CHECK_SCHEDULE,
    estimateMaxDelayMs: config.CHECK_ESTIMATE_MAX_DELAY_SECONDS * 1000,
    sweepWindowMs: config.CHECK_SWEEP_WINDOW_SECONDS * 1000,
    sweepIntervalMs: config.CHECK_SWEEP_INTERVAL_SECONDS * 1000,
    checkConcurrency: config.CHECK_CONCURRENCY,
    maxRunsPerSweep: config.CHECK_MAX_RUNS,
    backupPageSize: config.CHECK_PAGE_SIZE,
    sweepLeaseMs: config.CHECK_LEASE_SECONDS * 1000,
    runTtlDays: config.RUN_TTL_DAYS,
    maxReceiveCount: config.MAX_RECEIVE_COUNT,
    sharePendingAlertMs: config.SHARE_PENDING_ALERT_HOURS * 3600_000,
    shareExpiryAccepted: config.SHARE_EXPIRY_ACCEPTED,
    shareRevokesPerSweep: config.SHARE_REVOKES_PER_SWEEP,
    replicationWindowMs: config.REPLICATION_WINDOW_MINUTES * 60_000,
  };
}
