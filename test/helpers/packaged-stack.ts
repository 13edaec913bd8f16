/**
 * The local runtime of the real serverless.yml, packaged from a private copy (test/helpers/service-copy.ts,
 * the first sample plan deployed to the local stage, so the project's .serverless/ is never touched),
 * against the CBR emulator over HTTP: the emulator's endpoint, region and demo credentials, one webhook
 * key, the pipeline defaults of `npm start` and its timings scaled by `rateScale` (default 0.02).
 * `cli()` runs the `cbr-flow` CLI (main() in-process) against it with a token of the runtime's issuer.
 */
import { DEMO, startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index';
import { main, type Io } from '../../local/cli';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { LOCAL_PIPELINE_DEFAULTS, localTimings } from '../../local/stack';
import { newWebhookKey } from '../../local/webhook-keys';
import { serviceCopy } from './service-copy';

export interface CliResult {
  code: number;
  out: string;
  err: string;
  lines: string[];
}

export interface PackagedStack {
  emulator: Emulator;
  runtime: LocalRuntime;
  /** The key the runtime accepts on signed webhooks (POST /runs). */
  webhookKey: string;
  /** `cbr-flow <args> --endpoint <runtime>` with a token for `projects` (default all), stdin empty unless `io` says. */
  cli(args: string[], io?: Partial<Io>, projects?: readonly string[] | '*'): Promise<CliResult>;
  /** Stops the runtime and the emulator, removes the copy. */
  stop(): Promise<void>;
}

export async function startPackagedStack(o: {
  /** Temp folder prefix of the service copy, e.g. 'cbr-flow-cli-restore-'. */
  prefix: string;
  /** The token's subject. */
  subject: string;
  emulator?: EmulatorOptions;
  rateScale?: number;
  /** The runtime's log lines; default stdout. */
  log?: (line: string) => void;
}): Promise<PackagedStack> {
  const rateScale = o.rateScale ?? 0.02;
  const webhookKey = newWebhookKey();
  const service = serviceCopy(o.prefix, 'local');
  let emulator: Emulator | undefined;
  try {
    emulator = await startEmulator(o.emulator);
    const runtime = await startLocalRuntime({
      serviceDir: service.dir,
      stage: 'local',
      dataDir: null,
      package: 'always',
      rateScale,
      ...(o.log ? { log: o.log } : {}),
      envDefaults: LOCAL_PIPELINE_DEFAULTS,
      env: {
        STAGE: 'local',
        CBR_ENDPOINT: emulator.url,
        IAM_ENDPOINT: emulator.url,
        CBR_REGION: DEMO.region,
        CBR_CREDENTIALS_JSON: JSON.stringify({ type: 'aksk', ak: DEMO.ak, sk: DEMO.sk }),
        WEBHOOK_KEYS_JSON: JSON.stringify([webhookKey]),
        ...localTimings(rateScale),
      },
    });
    const started = emulator;
    return {
      emulator: started,
      runtime,
      webhookKey,
      async cli(args, io = {}, projects = '*') {
        const out: string[] = [];
        const err: string[] = [];
        const token = await runtime.issuer!.mint({ sub: o.subject, projects });
        const code = await main([...args, '--endpoint', runtime.url], { CBR_FLOW_TOKEN: token }, { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: () => '', ...io });
        return { code, out: out.join('\n'), err: err.join('\n'), lines: out.join('\n').split('\n') };
      },
      async stop() {
        await runtime.stop();
        await started.stop();
        service.remove();
      },
    };
  } catch (e) {
    await emulator?.stop();
    service.remove();
    throw e;
  }
}
