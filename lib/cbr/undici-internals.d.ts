// Types for the two undici internals the transport deep-imports (undici 7.30.2, pinned in package.json).
// Importing `undici`'s index costs ~535 KB / ~66 ms more at cold start than these two files
// (lib/cbr/transport.ts has the numbers). test/unit/cbr/undici-internals.test.ts fails if the layout changes.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentCtor: typeof Agent;
  export default AgentCtor;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';
  /** `Dispatcher.prototype.request` as a free function: call it with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
