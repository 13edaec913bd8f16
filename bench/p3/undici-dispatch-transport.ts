/**
 * A second transport P3 measures (not shipped): the same undici keep-alive Agent as lib/cbr, but
 * driven through `dispatch()` with a handler that collects the body into one string, instead of
 * `request()`. `request()` wraps every response in an AsyncResource + a Readable stream (BodyReadable)
 * and a promise chain for `.text()`; the client always wants the whole body as text anyway. Swapped
 * for lib/cbr/transport.ts at bundle time like the node:http one, so the rest of the client is
 * the shipped code.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { HttpRequest, HttpResponse, Transport } from '../../lib/cbr/transport';

export type { HttpRequest, HttpResponse, Transport };

let shared: Dispatcher | undefined;
export function sharedDispatcher(): Dispatcher {
  shared ??= new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: 16 });
  return shared;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

export const dispatchTransport: Transport = (req: HttpRequest) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const signal = req.signal;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let status = 0;
    let headers: Record<string, string | undefined> = {};
    const chunks: Buffer[] = [];
    let abort: ((reason: unknown) => void) | undefined;
    const onAbort = (): void => abort?.(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal.removeEventListener('abort', onAbort);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        abort = (reason) => controller.abort(reason as Error);
      },
      onResponseStart(_controller, statusCode, h) {
        status = statusCode;
        headers = {};
        for (const k in h) headers[k.toLowerCase()] = headerValue(h[k]);
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        done();
        resolve({ status, headers, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_controller, err) {
        done();
        reject(err);
      },
    };
    sharedDispatcher().dispatch(
      { origin: req.origin, path: req.path, method: req.method as Dispatcher.HttpMethod, headers: req.headers, body: req.body ?? null },
      handler,
    );
  });

// Same export names as lib/cbr/transport.ts.
export const undiciTransport = dispatchTransport;
