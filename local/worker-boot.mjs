// Boot file of one local "execution environment": a worker thread that loads one function's handler
// from TypeScript source through tsx and runs the invocations the parent sends it. Each function gets
// its own worker, so it has its own process.env (exactly the variables its template declares) and
// its own module state, like a Lambda container. Plain ESM on purpose: it must load before tsx does.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();

function serializeError(err) {
  if (err instanceof Error) return { errorType: err.name || 'Error', errorMessage: err.message, stack: err.stack };
  return { errorType: 'Error', errorMessage: typeof err === 'string' ? err : JSON.stringify(err) };
}

let handler;
let initError;
try {
  const mod = await import(pathToFileURL(workerData.file).href);
  handler = workerData.exportPath.reduce((value, key) => (value == null ? undefined : value[key]), mod);
  if (typeof handler !== 'function') {
    const err = new Error(`${workerData.file} does not export a function at "${workerData.exportPath.join('.')}"`);
    err.name = 'Runtime.HandlerNotFound';
    throw err;
  }
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  const e = serializeError(err);
  if (!e.errorType.startsWith('Runtime.')) e.errorType = 'Runtime.ImportModuleError';
  initError = e;
  parentPort.postMessage({ type: 'init-error', error: e });
}

function createContext(ctx) {
  const deprecated = (name) => () => { throw new Error(`context.${name}() is not supported by the local runtime; return a value instead`); };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: ctx.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: ctx.invokedFunctionArn,
    memoryLimitInMB: String(ctx.memoryLimitInMB),
    awsRequestId: ctx.awsRequestId,
    logGroupName: `/aws/lambda/${ctx.functionName}`,
    logStreamName: ctx.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, ctx.deadlineMs - Date.now()),
    done: deprecated('done'),
    fail: deprecated('fail'),
    succeed: deprecated('succeed'),
  };
}

/** Calls the handler the way the Node.js Lambda runtime does: a returned promise, or the callback. */
function callHandler(event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err) reject(err); else resolve(result);
    };
    const returned = handler(event, context, callback);
    if (returned && typeof returned.then === 'function') {
      returned.then((value) => callback(null, value), (err) => callback(err ?? new Error('handler rejected without a reason')));
    } else if (handler.length < 3) {
      callback(null, returned);
    }
  });
}

parentPort.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  if (initError) {
    parentPort.postMessage({ type: 'result', id: msg.id, ok: false, error: initError });
    return;
  }
  try {
    const result = await callHandler(JSON.parse(msg.event), createContext(msg.context));
    // Lambda serialises the result as JSON; do the same so the caller sees exactly that.
    parentPort.postMessage({ type: 'result', id: msg.id, ok: true, payload: JSON.stringify(result ?? null) });
  } catch (err) {
    parentPort.postMessage({ type: 'result', id: msg.id, ok: false, error: serializeError(err) });
  }
});
