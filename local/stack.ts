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
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from './runtime';
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
  let emulator: Emulator | undefined;
  let cbrEndpoint = processEnv.CBR_ENDPOINT;
  if (!cbrEndpoint) {
    emulator = await startEmulator(emulatorOptions);
    cbrEndpoint = emulator.url;
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
        ...extraEnv,
      },
    });
    log(`[stack] webhook authentication ${webhookAuth === 'on' ? `ON (keys: ${stored.file ?? 'in memory'})` : 'OFF (--no-auth, local stage only)'}`);
    return {
      runtime,
      emulator,
      cbrEndpoint,
      webhooks,
      async stop() {
        await runtime.stop();
        await emulator?.stop();
      },
    };
  } catch (err) {
    await emulator?.stop();
    throw err;
  }
}
