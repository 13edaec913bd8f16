/**
 * `npm run invoke -- <function> <event.json>`: runs one handler once against the local stack (the
 * emulator, dynalite on .data/, local SQS) and prints its result as JSON on stdout. Only that handler
 * runs: no HTTP routes, queue pollers or schedules are started, so messages it sends stay queued.
 * Exit 0 when the handler returned, 1 when it threw or timed out, 2 for bad arguments.
 *
 * An HTTP POST sample without a webhook signature (events/start-run.http.json) is signed with the local
 * webhook key first (fresh webhook-id and timestamp), as the CLI would: the local stage authenticates
 * POST /runs like every other stage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FunctionInvocationError } from './errors';
import { startLocalStack, type LocalWebhooks } from './stack';

/** A copy of an unsigned API Gateway v2 POST event, signed with the local keys (auth on only). */
function signIfWebhook(event: unknown, webhooks: LocalWebhooks, note: (line: string) => void): unknown {
  const e = event as { requestContext?: { http?: { method?: string } }; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
  if (webhooks.auth !== 'on' || e?.requestContext?.http?.method !== 'POST' || typeof e.body !== 'string') return event;
  if (Object.keys(e.headers ?? {}).some((h) => h.toLowerCase() === 'webhook-signature')) return event;
  const raw = e.isBase64Encoded ? Buffer.from(e.body, 'base64').toString('utf8') : e.body;
  note('invoke: signed the HTTP event with the local webhook key (Standard Webhooks headers added)');
  return { ...e, headers: { ...(e.headers ?? {}), ...webhooks.sign(raw) } };
}

const USAGE = 'Usage: npm run invoke -- <function> <event.json>   (e.g. npm run invoke -- get-run events/get-run.http.json)';

export async function main(argv: string[]): Promise<number> {
  const err = (line: string): void => { process.stderr.write(`${line}\n`); };
  if (argv.length !== 2 || argv.some((a) => a.startsWith('-'))) {
    err(argv.includes('--help') || argv.includes('-h') ? USAGE : `invoke: expected <function> <event.json>\n${USAGE}`);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  }
  const [name, file] = argv as [string, string];
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(`invoke: cannot use ${file} as the event: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 2;
  }
  // Logs go to stderr so stdout carries only the result.
  const stack = await startLocalStack({ sources: { http: false, sqs: false, schedules: false }, warm: false, log: err }).catch((e: unknown) => {
    err(`invoke: cannot start the local stack: ${(e as Error).message}`);
    return undefined;
  });
  if (!stack) return 1;
  try {
    const known = stack.runtime.functions.map((f) => f.key);
    if (!stack.runtime.functions.some((f) => f.key === name || f.logicalId === name || f.functionName === name)) {
      err(`invoke: no function "${name}"; functions: ${known.join(', ')}`);
      return 2;
    }
    const result = await stack.runtime.invoke(name, signIfWebhook(event, stack.webhooks, err));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (e) {
    err(e instanceof FunctionInvocationError ? `invoke: ${e.message}` : `invoke: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    await stack.stop();
  }
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exitCode = await main(process.argv.slice(2));
