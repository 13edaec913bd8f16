// Only test/helpers/pipeline-harness.ts imports through this file (everything else imports the client's
// modules directly). Delete it once the harness imports CallEvent from lib/cbr/http.ts.
export type { CallEvent } from './http';
