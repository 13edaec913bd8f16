/**
 * `npm run package [-- --stage <stage>]` (default stage: dev, the deployable one): packages the
 * service offline into .serverless/ and prints each function's artifact and its size.
 */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalRuntimeError } from './errors';
import { packageService } from './package';
import { buildServiceModel, packagePaths, readTemplate } from './template';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function main(argv: string[]): Promise<number> {
  let stage: string;
  try {
    const { values } = parseArgs({ args: argv, options: { stage: { type: 'string', short: 's' } }, strict: true });
    stage = values.stage ?? 'dev';
  } catch (err) {
    process.stderr.write(`package: ${(err as Error).message}\nUsage: npm run package [-- --stage <stage>]\n`);
    return 2;
  }
  try {
    const { ms } = await packageService(PROJECT_ROOT, stage);
    const { template, state } = readTemplate(PROJECT_ROOT);
    const model = buildServiceModel(template, state, stage);
    const dir = packagePaths(PROJECT_ROOT).dir;
    console.log(`packaged ${model.serviceName} for stage ${stage} in ${(ms / 1000).toFixed(1)} s (offline, no AWS credentials) -> ${dir}`);
    for (const fn of model.functions) {
      const code = template.Resources[fn.logicalId]?.Properties?.Code as { S3Key?: string } | undefined;
      const artifact = code?.S3Key ? join(dir, basename(code.S3Key)) : undefined;
      const size = artifact ? statSync(artifact, { throwIfNoEntry: false })?.size : undefined;
      console.log(`  ${fn.key.padEnd(18)} ${artifact ? basename(artifact) : '?'}${size === undefined ? '' : `  ${(size / 1024).toFixed(1)} KiB`}`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`package: ${err instanceof LocalRuntimeError ? err.message : (err as Error).stack}\n`);
    return 1;
  }
}
