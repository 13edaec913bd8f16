#!/usr/bin/env node
// `npx cbr-flow ...`: a plain Node entry that loads the TypeScript CLI (local/cli.ts) through tsx, so
// it works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../local/cli.ts');
process.exitCode = await main(process.argv.slice(2));
