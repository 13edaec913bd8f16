/**
 * The HTTP API (API Gateway v2) part of the local runtime: matches requests against the template's
 * routes the way API Gateway does, builds payload-format-2.0 events and turns the handler's result
 * back into an HTTP response (the documented v2 response rules). A route with a JWT authorizer is
 * served only with a valid bearer token (verified by `verifyJwt`, as API Gateway's JWT authorizer
 * would: else 401 `{"message":"Unauthorized"}` and a `www-authenticate` error), and the function gets
 * the token's claims in `requestContext.authorizer.jwt.claims`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LocalRuntimeError } from './errors';
import type { JwtAuthorizerDef, RouteDef } from './template';

/** API Gateway's own payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  route: RouteDef;
  segments: string[];
  greedy: boolean;
}

function compile(route: RouteDef): CompiledRoute {
  const segments = route.path === '$default' ? [] : route.path.split('/').filter(Boolean);
  const greedy = segments.at(-1)?.endsWith('+}') ?? false;
  return { route, segments, greedy };
}

function matchPath(c: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const fixed = c.greedy ? c.segments.length - 1 : c.segments.length;
  if (c.greedy ? parts.length < c.segments.length : parts.length !== fixed) return undefined;
  for (let i = 0; i < fixed; i++) {
    const seg = c.segments[i]!;
    const part = parts[i]!;
    if (seg.startsWith('{') && seg.endsWith('}')) params[seg.slice(1, -1)] = part;
    else if (seg !== part) return undefined;
  }
  if (c.greedy) params[c.segments.at(-1)!.slice(1, -2)] = parts.slice(fixed).join('/');
  return params;
}

/**
 * API Gateway's priority: a route with a matching method beats ANY; among those, the most specific
 * path wins (more literal segments, then fewer variables, then non-greedy); `$default` comes last.
 */
function specificity(c: CompiledRoute): number[] {
  const literal = c.segments.filter((s) => !s.startsWith('{')).length;
  return [c.route.path === '$default' ? 0 : 1, c.greedy ? 0 : 1, literal, -c.segments.length];
}

function compareSpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const x = specificity(a);
  const y = specificity(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return y[i]! - x[i]!;
  return 0;
}

export function matchRoute(routes: RouteDef[], method: string, path: string): { route: RouteDef; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter(Boolean);
  const compiled = routes.map(compile).sort(compareSpecificity);
  for (const wantAny of [false, true]) {
    for (const c of compiled) {
      if (wantAny ? c.route.method !== 'ANY' : c.route.method !== method) continue;
      if (c.route.path === '$default') return { route: c.route, params: {} };
      const params = matchPath(c, parts);
      if (params) return { route: c.route, params };
    }
  }
  return undefined;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))/i;

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function formatRequestTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Builds the payload-format-2.0 event API Gateway would send for this request. */
export function buildHttpEvent(
  req: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer; sourceIp: string },
  match: { route: RouteDef; params: Record<string, string> },
  api: { apiId: string; accountId: string; host: string },
): APIGatewayProxyEventV2 {
  const url = new URL(req.url, 'http://local');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/).filter(Boolean);
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // API Gateway adds these; locally the scheme really is http, so a handler building its own URL
  // from them (as behind API Gateway) gets a working one.
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${req.sourceIp}` : req.sourceIp;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = api.host.split(':')[1] ?? '80';
  const rawQueryString = url.search.replace(/^\?/, '');
  const query: Record<string, string> = {};
  for (const pair of rawQueryString.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    query[key] = key in query ? `${query[key]},${value}` : value;
  }
  const now = new Date();
  const contentType = headers['content-type'];
  const hasBody = req.body.length > 0;
  const isText = contentType ? TEXT_TYPES.test(contentType) : true;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: match.route.routeKey,
    rawPath: url.pathname,
    rawQueryString,
    headers,
    requestContext: {
      accountId: api.accountId,
      apiId: api.apiId,
      domainName: api.host,
      domainPrefix: api.host.split('.')[0] ?? api.host,
      http: {
        method: req.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: match.route.routeKey,
      stage: '$default',
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: hasBody && !isText,
  };
  if (cookies) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (Object.keys(match.params).length > 0) {
    event.pathParameters = Object.fromEntries(Object.entries(match.params).map(([k, v]) => [k, decode(v)]));
  }
  if (hasBody) event.body = isText ? req.body.toString('utf8') : req.body.toString('base64');
  return event;
}

export interface HttpResponse { statusCode: number; headers: Record<string, string>; cookies: string[]; body: Buffer }

/** Applies API Gateway's payload-2.0 response rules to whatever the handler returned. */
export function toHttpResponse(result: unknown): HttpResponse {
  const isStructured = typeof result === 'object' && result !== null && !Array.isArray(result) && 'statusCode' in result;
  if (!isStructured) {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body ?? '', 'utf8') };
  }
  const r = result as { statusCode: unknown; headers?: Record<string, unknown>; cookies?: unknown; body?: unknown; isBase64Encoded?: unknown };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const bodyText = r.body === undefined || r.body === null ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  return {
    statusCode: Number(r.statusCode) || 500,
    headers,
    cookies: Array.isArray(r.cookies) ? r.cookies.map(String) : [],
    body: r.isBase64Encoded === true ? Buffer.from(bodyText, 'base64') : Buffer.from(bodyText, 'utf8'),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, cookies: string[] = []): void {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body), 'utf8');
  res.statusCode = status;
  for (const [k, v] of Object.entries({ 'content-type': 'application/json', ...headers })) res.setHeader(k, v);
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.setHeader('content-length', String(buf.length));
  res.setHeader('apigw-requestid', randomUUID());
  res.end(buf);
}

/** Verifies a bearer token for an authorizer: the claims as API Gateway passes them, or throws why not. */
export type JwtVerifier = (authorizer: JwtAuthorizerDef, token: string) => Promise<Record<string, string>>;

/** The token from the authorizer's identity source (`$request.header.X`), without a `Bearer ` prefix. */
function bearerToken(authorizer: JwtAuthorizerDef, headers: IncomingMessage['headers']): string | undefined {
  for (const source of authorizer.identitySource) {
    const name = /^\$request\.header\.(.+)$/i.exec(source)?.[1]?.toLowerCase();
    const value = name ? headers[name] : undefined;
    const text = Array.isArray(value) ? value[0] : value;
    if (text) return text.replace(/^Bearer\s+/i, '').trim() || undefined;
  }
  return undefined;
}

export interface HttpApiServer { url: string; server: Server; close(): Promise<void> }

/**
 * Serves `routes` on 127.0.0.1:`port`. `invoke` runs the route's function with the event and returns
 * its result, or throws when the function fails (then the answer is API Gateway's 500).
 */
export async function startHttpApi(options: {
  port: number;
  apiId: string;
  accountId: string;
  routes: () => RouteDef[];
  invoke: (functionLogicalId: string, event: APIGatewayProxyEventV2) => Promise<unknown>;
  /** Required when a route has a JWT authorizer; without it such routes answer 401 (never unprotected). */
  verifyJwt?: JwtVerifier;
  log: (line: string) => void;
}): Promise<HttpApiServer> {
  let host = '127.0.0.1';
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) { send(res, 413, { message: 'Request Entity Too Large' }); req.destroy(); return; }
      chunks.push(chunk as Buffer);
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const match = matchRoute(options.routes(), method, path);
    if (!match) { send(res, 404, { message: 'Not Found' }); return; }
    let claims: Record<string, string> | undefined;
    const authorizer = match.route.jwtAuthorizer;
    if (authorizer) {
      const token = bearerToken(authorizer, req.headers);
      const refuse = (why: string) => {
        options.log(`[http] ${method} ${path} -> 401: ${why}`);
        send(res, 401, { message: 'Unauthorized' }, { 'www-authenticate': `Bearer error="invalid_token" error_description="${why.replace(/"/g, "'")}"` });
      };
      if (!token) { refuse('no bearer token in the Authorization header'); return; }
      if (!options.verifyJwt) { refuse('no token verifier configured for this authorizer'); return; }
      try {
        claims = await options.verifyJwt(authorizer, token);
      } catch (err) {
        refuse(`the token was not accepted: ${(err as Error).message}`);
        return;
      }
    }
    const event = buildHttpEvent(
      { method, url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks), sourceIp: req.socket.remoteAddress ?? '127.0.0.1' },
      match,
      { apiId: options.apiId, accountId: options.accountId, host },
    );
    if (claims) (event.requestContext as unknown as { authorizer: unknown }).authorizer = { jwt: { claims, scopes: null } };
    try {
      const response = toHttpResponse(await options.invoke(match.route.functionLogicalId, event));
      send(res, response.statusCode, response.body, response.headers, response.cookies);
    } catch (err) {
      options.log(`[http] ${method} ${path} -> 500: ${(err as Error).message}`);
      send(res, 500, { message: 'Internal Server Error' });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log(`[http] request failed: ${(err as Error).message}`);
      if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? new LocalRuntimeError(`port ${options.port} on 127.0.0.1 is already in use (another \`npm start -- --serve\`?); choose another port`, { cause: err })
        : err);
    });
    server.listen(options.port, '127.0.0.1', () => { server.removeAllListeners('error'); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
