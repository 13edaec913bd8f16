/**
 * The whole local stack of the real service, shared by `npm start` and `npm run invoke`: the CBR
 * emulator (unless CBR_ENDPOINT points at another one) and the local runtime of the project's
 * serverless.yml, with the emulator's endpoint and credentials handed to the handlers through
 * variables that only the local stage accepts (lib/config.ts: CBR_CREDENTIALS_JSON needs STAGE=local).
 */
import { fileURLToPath } from 'node:url';
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from './runtime';

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

export interface LocalStack {
  runtime: LocalRuntime;
  /** Present when the stack started its own emulator. */
  emulator: Emulator | undefined;
  cbrEndpoint: string;
  stop(): Promise<void>;
}

export interface LocalStackOptions extends Omit<LocalRuntimeOptions, 'serviceDir' | 'stage' | 'env'> {
  /** Process environment to read CBR_ENDPOINT / IAM_ENDPOINT / CBR_CREDENTIALS_JSON from. */
  processEnv?: Record<string, string | undefined>;
  log?: (line: string) => void;
  /** Options of the embedded emulator (default: its DEMO seed and default timings). */
  emulator?: EmulatorOptions;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const { processEnv = process.env, emulator: emulatorOptions, ...runtimeOptions } = options;
  const log = options.log ?? ((line: string) => { process.stdout.write(`${line}\n`); });
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
      },
    });
    return {
      runtime,
      emulator,
      cbrEndpoint,
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
