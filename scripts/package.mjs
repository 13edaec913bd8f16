// `npm run package [-- --stage <stage>]`: `osls package` fully offline (AWS credentials stripped from
// its environment, see local/package.ts) into .serverless/, then the size of every artifact.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../local/package-cli.ts');
process.exitCode = await main(process.argv.slice(2));
