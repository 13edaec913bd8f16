// `npm start`: installs the dependencies first when node_modules is missing or stale (scripts/ensure-deps.mjs),
// then loads the TypeScript implementation (local/start.ts) through tsx, with no build step. See
// local/start.ts for the flags (--serve, --reset, ...).
import { ensureDeps } from './ensure-deps.mjs';

ensureDeps();
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../local/start.ts');
process.exitCode = await main(process.argv.slice(2));
