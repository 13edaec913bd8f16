/**
 * The whole local stack of the real service, shared by `npm start` and `npm run invoke`: the CBR
 * emulator (unless CBR_ENDPOINT points at another one) and the local runtime of the project's
 * serverless.yml, with the emulator's endpoint and credentials handed to the handlers through
 * variables that only the local stage accepts (lib/config.ts: CBR_CREDENTIALS_JSON and
 * WEBHOOK_KEYS_JSON need STAGE=local).
 *
 * Webhook authentication stays ON locally, as in every stage: the stack loads (or generates, once)
 * the local webhook keys in the data folder (local/webhook-keys.ts) and hands them to the functions as
 * WEBHOOK_KEYS_JSON; the CLI and the `npm start` demo sign POST /runs with them. `webhookAuth: 'off'`
 * (`npm start -- --no-auth`) is the explicit, local-only way to accept unsigned requests.
 */
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index';
import { loadConfig, settingsFrom } from '../lib/config';
import { systemClock, type RunStore } from '../lib/ports';
import type { PipelineSettings } from '../lib/wiring/deps';
import { DynamoRunStore } from '../lib/store/dynamodb/store';
import { mutateRun } from '../lib/store/mutate';
import { isTerminal } from '../lib/store/run';
import { LocalRuntimeError } from './errors';
import { dataDirHolder, startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from './runtime';
import { loadOrCreateLocalWebhookKeys, parseWebhookKeys, signedHeaders } from './webhook-keys';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Local-only defaults for the pipeline's timings, used unless serverless.yml sets them for the stage:
 * production waits 30 s before the first status check; the emulator finishes a checkpoint in 6-10 s.
 */
export const LOCAL_PIPELINE_DEFAULTS: Record<string, string> = {
  CHECK_FIRST_DELAY_SECONDS: '2',
  CHECK_BASE_DELAY_SECONDS: '2',
  CHECK_MAX_DELAY_SECONDS: '10',
};

/**
 * The pipeline's waits that are about wall time rather than CBR, scaled like the checker's interval
 * (rateScale; the production values are lib/config.ts's defaults and serverless.yml's check-status
 * CHECK_SWEEP_WINDOW_SECONDS), each kept within what lib/config.ts accepts. They win over the template:
 * at rateScale 0.05 the checker runs every 3 s, so a 50 s sweep window would hold the sweep lease across
 * the next 16 schedules, and a lost step message would wait 15 minutes for the watchdog.
 */
export function localTimings(rateScale: number): Record<string, string> {
  if (rateScale >= 1) return {};
  const scaled = (production: number, min: number): string => String(Math.max(min, Math.round(production * rateScale)));
  return {
    STEP_TIMEOUT_SECONDS: scaled(900, 60),
    CHECK_SWEEP_WINDOW_SECONDS: String(Math.floor(50 * rateScale)),
    CHECK_SWEEP_INTERVAL_SECONDS: scaled(10, 1),
    CHECK_LEASE_SECONDS: scaled(60, 10),
    VAULT_LEASE_SECONDS: scaled(120, 10),
    CHECKPOINT_CLAIM_SECONDS: scaled(120, 10),
    BUSY_RETRY_DELAY_SECONDS: scaled(30, 1),
    SKIP_RETRY_DELAY_SECONDS: scaled(120, 1),
  };
}

/** The embedded emulator's state file in the data folder (emulator/persist.ts). */
export const EMULATOR_STATE_FILE = 'emulator-state.json';

export interface LocalWebhooks {
  /** Whether POST /runs must be signed ('on' unless the caller turned it off). */
  auth: 'on' | 'off';
  /** The active keys (the functions verify with these and sign notifications with them). */
  keys: readonly string[];
  /** Where the keys are kept (undefined: in memory only, for a stack without a data folder). */
  file: string | undefined;
  /** Standard Webhooks headers for a POST /runs body, under a fresh webhook-id. */
  sign(body: string): Record<string, string>;
}

export interface LocalStack {
  runtime: LocalRuntime;
  /** Present when the stack started its own emulator. */
  emulator: Emulator | undefined;
  cbrEndpoint: string;
  webhooks: LocalWebhooks;
  /** Unfinished runs found in the run store at start (their step is re-driven by the checker's next sweep). */
  resumed: number;
  /** The functions' run store, read from this process (undefined when the service has no checker). */
  runStore: RunStore | undefined;
  stop(): Promise<void>;
}

export interface LocalStackOptions extends Omit<LocalRuntimeOptions, 'serviceDir' | 'stage' | 'env'> {
  /** Process environment to read CBR_ENDPOINT / IAM_ENDPOINT / CBR_CREDENTIALS_JSON / WEBHOOK_KEYS_JSON from. */
  processEnv?: Record<string, string | undefined>;
  log?: (line: string) => void;
  /** Options of the embedded emulator (default: its DEMO seed and default timings). */
  emulator?: EmulatorOptions;
  /** 'on' (default): POST /runs needs a signature; 'off': unsigned requests are accepted (local stage only). */
  webhookAuth?: 'on' | 'off';
  /** Extra environment for every function (wins over everything else; tests). */
  env?: Record<string, string>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { processEnv = process.env, emulator: emulatorOptions, webhookAuth = 'on', env: extraEnv, ...runtimeOptions } = options;
  const log = options.log ?? ((line: string) => { process.stdout.write(`${line}\n`); });
  // The keys live next to the local DynamoDB data (same folder rule as the runtime: null = memory only).
  const dataDir = runtimeOptions.dataDir === null ? undefined : resolve(runtimeOptions.dataDir ?? join(PROJECT_ROOT, '.data'));
  const stored = processEnv.WEBHOOK_KEYS_JSON
    ? { keys: parseWebhookKeys(processEnv.WEBHOOK_KEYS_JSON, 'WEBHOOK_KEYS_JSON'), file: undefined }
    : loadOrCreateLocalWebhookKeys(dataDir);
  const webhooks: LocalWebhooks = { auth: webhookAuth, keys: stored.keys, file: stored.file, sign: (body) => signedHeaders(stored.keys, body) };
  // Checked before the emulator reads its state file; the runtime takes the lock itself right after.
  const holder = dataDir === undefined ? undefined : dataDirHolder(dataDir);
  if (dataDir !== undefined && holder !== undefined) {
    throw new LocalRuntimeError(`the data folder ${dataDir} is in use by process ${holder} (another local stack, e.g. \`npm start -- --serve\`); stop it or use another data folder (--data)`);
  }
  let emulator: Emulator | undefined;
  let cbrEndpoint = processEnv.CBR_ENDPOINT;
  if (!cbrEndpoint) {
    runtimeOptions.onPhase?.(`CBR emulator${dataDir !== undefined ? ` (state in ${join(dataDir, EMULATOR_STATE_FILE)})` : ''}`);
    emulator = await startEmulator({ ...(dataDir !== undefined ? { stateFile: join(dataDir, EMULATOR_STATE_FILE) } : {}), ...emulatorOptions });
    // Several emulated regions (emulator option `regions`): each client reaches its own under `/{region}`.
    cbrEndpoint = emulator.state.regions().length > 1 ? `${emulator.url}/{region}` : emulator.url;
    log(`[stack] CBR emulator on ${emulator.url} (demo project ${DEMO.projectId}, region ${DEMO.region})`);
  } else {
    log(`[stack] using the CBR endpoint from CBR_ENDPOINT: ${cbrEndpoint}`);
  }
  const credentials = processEnv.CBR_CREDENTIALS_JSON ?? JSON.stringify({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk });
  try {
    const runtime = await startLocalRuntime({
      ...runtimeOptions,
      serviceDir: PROJECT_ROOT,
      stage: 'local',
      log,
      envDefaults: { ...LOCAL_PIPELINE_DEFAULTS, ...runtimeOptions.envDefaults },
      env: {
        STAGE: 'local',
        CBR_ENDPOINT: cbrEndpoint,
        IAM_ENDPOINT: processEnv.IAM_ENDPOINT ?? cbrEndpoint,
        CBR_REGION: processEnv.CBR_REGION ?? DEMO.region,
        CBR_CREDENTIALS_JSON: credentials,
        WEBHOOK_AUTH: webhookAuth,
        // Notifications are signed with these keys even when inbound auth is off.
        WEBHOOK_KEYS_JSON: JSON.stringify({ keys: stored.keys }),
        ...localTimings(runtimeOptions.rateScale ?? 1),
        ...extraEnv,
      },
    });
    log(`[stack] webhook authentication ${webhookAuth === 'on' ? `ON (keys: ${stored.file ?? 'in memory'})` : 'OFF (--no-auth, local stage only)'}`);
    const runs = openRunStore(runtime);
    let resumed = 0;
    try {
      resumed = dataDir === undefined || !runs ? 0 : await resumeUnfinishedRuns(runs.store, runs.settings);
    } catch (err) {
      runs?.close();
      await runtime.stop();
      throw err;
    }
    if (resumed > 0) log(`[stack] ${resumed} unfinished run(s) in the run store: due now, the checker re-drives their step in its next sweep`);
    return {
      runtime,
      emulator,
      cbrEndpoint,
      webhooks,
      resumed,
      runStore: runs?.store,
      async stop() {
        await runtime.stop();
        runs?.close();
        await emulator?.stop();
      },
    };
  } catch (err) {
    await emulator?.stop();
    throw err;
  }
}

/**
 * The run store of the stack's functions (the same table and settings as the checker's), opened from this
 * process: to resume unfinished runs at start and to print their events (local/run-console.ts).
 */
function openRunStore(runtime: LocalRuntime): { store: RunStore; settings: PipelineSettings; close(): void } | undefined {
  const checker = runtime.functions.find((f) => f.key === 'check-status');
  if (!checker) return undefined;
  const config = loadConfig(checker.env);
  const client = new DynamoDBClient({ region: runtime.region, endpoint: runtime.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { store: new DynamoRunStore(client, config.TABLE_NAME, systemClock), settings: settingsFrom(config), close: () => client.destroy() };
}

/**
 * After a restart the local queues are empty (local-aws-sqs keeps messages in memory only), so the
 * message of every unfinished run's current step is gone. Each such run is made due now, and the
 * checker's watchdog (lib/pipeline/check-status.ts) re-publishes its step's input in its next sweep, as
 * it does for any run whose message was lost; the steps are idempotent. Runs in check-status need no
 * message (the checker polls them). Returns how many unfinished runs were found.
 */
export async function resumeUnfinishedRuns(store: RunStore, settings: PipelineSettings): Promise<number> {
  const now = Date.now();
  let found = 0;
  for (let shard = 0; shard < settings.dueShards; shard++) {
    let cursor: string | undefined;
    do {
      const page = await store.listDue(shard, Number.MAX_SAFE_INTEGER, 1000, cursor);
      cursor = page.cursor;
      for (const run of page.runs) {
        if (isTerminal(run.state)) continue;
        found++;
        if (run.step === 'check-status' || !run.due || run.due.at <= now) continue;
        await mutateRun(store, run.runId, (draft) => {
          if (draft.step === 'check-status' || draft.step === 'done' || !draft.due || draft.due.at <= now) return undefined;
          draft.due = { ...draft.due, at: now };
          return draft;
        }, { now, initial: run });
      }
    } while (cursor);
  }
  return found;
}
