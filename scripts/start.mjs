// `npm start`: loads the TypeScript implementation (local/start.ts) through tsx, so it runs right after
// `npm ci` with no build step. See local/start.ts for the flags (--serve, --reset, ...).
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../local/start.ts');
process.exitCode = await main(process.argv.slice(2));
