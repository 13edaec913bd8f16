/**
 * The CBR + IAM listener: node:http, keep-alive, one synchronous dispatch per request after the body has
 * arrived. Order per request: route -> count -> fault decision -> read body -> latency -> 'before' fault
 * -> authenticate -> project access -> operation -> 'after' fault -> answer. X-Request-Id on every answer.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Authenticator } from './auth';
import type { EmulatorClock } from './clock';
import { EmulatorHttpError, gatewayError, paramError } from './errors';
import type { FaultAction, FaultDecision, FaultEngine } from './faults';
import { HANDLERS } from './operations';
import type { CbrService } from './operations';
import type { EmulatorConfig, RequestLogEntry } from './options';
import { matchRoute } from './router';
import type { Route } from './router';

export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const EMPTY = Buffer.alloc(0);


interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CbrListenerDeps {
  config: EmulatorConfig;
  clock: EmulatorClock;
  /** The home region's service: requests without a region prefix. */
  service: CbrService;
  /** Every served region's service by region id (the home one included): `/{region}/v3/...` selects one. */
  regions?: ReadonlyMap<string, CbrService> | undefined;
  auth: Authenticator;
  faults: FaultEngine;
  counts: RequestCounts;
  log?: ((e: RequestLogEntry) => void) | undefined;
  /**
   * Called once a request that may have changed the state (any method but GET/HEAD) is handled, before
   * its answer is written (or when it ends without one: an injected reset or hang). Persistence hooks here.
   */
  afterChange?: (() => void) | undefined;
}

export class CbrListener {
  private readonly idPrefix = randomBytes(8).toString('hex');
  private seq = 0;
  private readonly held = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(private readonly d: CbrListenerDeps) {}

  /** 32 hex characters, unique per emulator (the gateway's request id format). */
  private nextRequestId(): string {
    return this.idPrefix + (++this.seq).toString(16).padStart(16, '0');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Ends hung requests and pending delays (called by stop()). */
  shutdown(): void {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.held) s.destroy();
    this.held.clear();
  }

  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = this.nextRequestId();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    const { service, path: routedPath } = this.regionOf(rawPath);
    const route = service ? matchRoute(method, routedPath) : undefined;
    const operation = route?.operation ?? 'Unknown';
    const counts = this.d.counts;
    counts.total++;
    counts.byOperation[operation] = (counts.byOperation[operation] ?? 0) + 1;
    const decision = this.d.faults.decide(operation);
    const finish = (status: number | 'reset' | 'hang', fault?: string) => {
      if (typeof status !== 'number' && method !== 'GET' && method !== 'HEAD') this.d.afterChange?.();
      counts.byStatus[status] = (counts.byStatus[status] ?? 0) + 1;
      this.d.log?.({ requestId, method, path: rawPath, operation, status: typeof status === 'number' ? status : 0, durationMs: performance.now() - started, ...(fault ? { fault } : {}) });
    };
    const onBody = (body: Buffer | undefined): void => {
      if (body === undefined) {
        this.send(res, requestId, this.errorAnswer(gatewayError(413, 'APIGW.0201', 'Request entity too large'), requestId));
        finish(413);
        return;
      }
      if (decision.latencyMs === 0 && !decision.before && !decision.after) {
        // Fast path (no fault applies): answer synchronously in the body's 'end' callback.
        const answer = this.answer(route, service, method, rawPath, rawQuery, req, body, requestId);
        this.send(res, requestId, answer);
        finish(answer.status);
        return;
      }
      this.faulted(decision, route, service, method, rawPath, rawQuery, req, res, body, requestId, finish).catch((e: unknown) => this.lastResort(res, e));
    };
    try {
      this.readBody(req, (body) => {
        try {
          onBody(body);
        } catch (e) {
          this.lastResort(res, e);
        }
      });
    } catch (e) {
      this.lastResort(res, e);
    }
  };

  /** Never leave a socket without an answer because of an emulator bug. */
  private lastResort(res: ServerResponse, e: unknown): void {
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': JSON_TYPE });
      res.end(JSON.stringify({ error_code: 'BackupService.9910', error_msg: `Unknown error. (${e instanceof Error ? e.message : String(e)})` }));
    } else res.destroy();
  }

  private async faulted(
    decision: FaultDecision,
    route: Route | undefined,
    service: CbrService | undefined,
    method: string,
    rawPath: string,
    rawQuery: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    requestId: string,
    finish: (status: number | 'reset' | 'hang', fault?: string) => void,
  ): Promise<void> {
    if (decision.latencyMs > 0) await this.sleep(decision.latencyMs);
    if (this.stopping) return;
    if (decision.before && (await this.applyFault(decision.before, req, res, requestId, finish))) return;
    const answer = this.answer(route, service, method, rawPath, rawQuery, req, body, requestId);
    if (decision.after && (await this.applyFault(decision.after, req, res, requestId, finish))) return;
    this.send(res, requestId, answer);
    finish(answer.status);
  }

  /**
   * The region a path addresses: `/{region}/v3/...` for a served region (the prefix is dropped before
   * routing; signatures still cover the whole path), else the home region. An unserved region prefix
   * selects none (404 APIGW.0101, as an endpoint that does not exist).
   */
  private regionOf(rawPath: string): { service: CbrService | undefined; path: string } {
    if (rawPath.startsWith('/v3/') || rawPath === '/v3') return { service: this.d.service, path: rawPath };
    const slash = rawPath.indexOf('/', 1);
    if (slash < 0) return { service: this.d.service, path: rawPath };
    const region = rawPath.slice(1, slash);
    const service = this.d.regions?.get(region) ?? (region === this.d.service.region ? this.d.service : undefined);
    return service ? { service, path: rawPath.slice(slash) } : { service: undefined, path: rawPath };
  }

  private answer(route: Route | undefined, service: CbrService | undefined, method: string, rawPath: string, rawQuery: string, req: IncomingMessage, body: Buffer, requestId: string): Answer {
    const now = this.d.clock.now();
    try {
      if (!route) throw gatewayError(404, 'APIGW.0101', 'The API does not exist or has not been published in the environment.');
      if (route.operation === 'KeystoneCreateUserTokenByPassword') {
        const issued = this.d.auth.issueToken(this.parseJson(body, true), now, new URLSearchParams(rawQuery).has('nocatalog'));
        return { status: 201, body: issued.body, headers: { 'X-Subject-Token': issued.token } };
      }
      const caller = this.d.auth.authenticate({ method, rawPath, rawQuery, headers: req.headers, body }, now);
      if (route.operation === 'KeystoneListProjects') {
        return { status: 200, body: this.d.auth.listProjects(caller, new URLSearchParams(rawQuery).get('name')) };
      }
      const projectId = route.projectId!;
      if (!caller.canUse(projectId)) {
        throw gatewayError(403, 'APIGW.0302', `The IAM user is not authorized to access the API. (project ${projectId} is not accessible to this ${caller.kind === 'aksk' ? 'AK' : 'token'})`);
      }
      const headerProject = req.headers['x-project-id'];
      if (this.d.config.quirks.projectHeader === 'must-match' && typeof headerProject === 'string' && headerProject !== projectId) {
        throw gatewayError(403, 'APIGW.0302', 'The IAM user is not authorized to access the API. (X-Project-Id does not match the project in the URL)');
      }
      const handler = HANDLERS[route.operation]!;
      const result = handler(service ?? this.d.service, {
        projectId,
        now,
        requestId,
        params: route.params,
        query: new URLSearchParams(rawQuery),
        body: method === 'GET' || method === 'DELETE' ? undefined : this.parseJson(body, false),
        userId: caller.userId,
      });
      return result;
    } catch (e) {
      if (e instanceof EmulatorHttpError) return this.errorAnswer(e, requestId);
      throw e;
    }
  }

  private parseJson(body: Buffer, iam: boolean): unknown {
    if (body.length === 0) return undefined;
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      if (iam) throw new EmulatorHttpError(400, 'Bad Request', 'The request body is invalid', 'iam');
      throw paramError('(body)', 'the request body is not valid JSON');
    }
  }

  private errorAnswer(e: EmulatorHttpError, requestId: string): Answer {
    return { status: e.status, body: e.body(requestId), headers: e.headers };
  }

  /** Returns true when the fault answered (or swallowed) the request. */
  private async applyFault(
    action: FaultAction,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    finish: (status: number | 'reset' | 'hang', fault?: string) => void,
  ): Promise<boolean> {
    switch (action.kind) {
      case 'reset':
        finish('reset', 'reset');
        req.socket.destroy();
        return true;
      case 'hang':
        if (action.ms !== undefined) {
          await this.sleep(action.ms);
          return this.stopping;
        }
        finish('hang', 'hang');
        this.held.add(req.socket);
        req.socket.once('close', () => this.held.delete(req.socket));
        return true;
      case 'error': {
        const e = injectedError(action);
        this.send(res, requestId, this.errorAnswer(e, requestId));
        finish(action.status, `error ${action.status}`);
        return true;
      }
    }
  }

  /** Collects the exact body bytes; undefined when over limits.maxBodyBytes. */
  private readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
    const limit = this.d.config.limits.maxBodyBytes;
    let chunks: Buffer[] | undefined;
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) (chunks ??= []).push(chunk);
    });
    req.on('end', () => done(size > limit ? undefined : chunks === undefined ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  }

  private send(res: ServerResponse, requestId: string, a: Answer): void {
    if (res.headersSent || res.destroyed) return;
    const method = res.req?.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') this.d.afterChange?.();
    const headers: Record<string, string | number> = { 'X-Request-Id': requestId, ...a.headers };
    if (a.status === 204 || a.body === undefined) {
      res.writeHead(a.status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(a.body);
    headers['Content-Type'] = JSON_TYPE;
    headers['Content-Length'] = Buffer.byteLength(text);
    res.writeHead(a.status, headers);
    res.end(text);
  }
}

function injectedError(a: Extract<FaultAction, { kind: 'error' }>): EmulatorHttpError {
  const headers: Record<string, string> = a.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(a.retryAfterSeconds) };
  const [defaultCode, defaultMsg] =
    a.status === 429
      ? ['APIGW.0308', 'The throttling threshold has been reached.']
      : a.status === 502 || a.status === 503
        ? ['APIGW.0201', 'Backend unavailable']
        : a.status === 504
          ? ['APIGW.0201', 'Backend timeout']
          : a.status >= 500
            ? ['BackupService.9910', 'Unknown error.']
            : ['APIGW.0201', 'API request error'];
  const code = a.errorCode ?? defaultCode;
  return new EmulatorHttpError(a.status, code, a.errorMsg ?? defaultMsg, code.startsWith('BackupService.') ? 'cbr' : 'gateway', headers);
}
