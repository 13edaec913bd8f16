/**
 * Who may read which runs. GET /runs and GET /runs/{id} sit behind the HTTP API's JWT authorizer
 * (serverless.yml; the local stack's HTTP API verifies tokens the same way): API Gateway has checked
 * the token's signature, issuer, audience and expiry, and hands its claims over in
 * `requestContext.authorizer.jwt.claims`. The projects a caller may read are in the `cbr_projects`
 * claim: a JSON array of project ids, or — as API Gateway renders array claims — the text `[a b]`, or a
 * space/comma-separated list; `*` grants every project (an operator's token). A run of any other
 * project is answered 404, exactly like a run that does not exist.
 * No claims at all means the route is not behind the authorizer (a misconfiguration or a direct
 * invoke): refused 401 rather than served.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError } from './http';

export const PROJECTS_CLAIM = 'cbr_projects';

/** The projects a reader may see: every project, or these. */
export type ReadScope = { all: true } | { all: false; projects: ReadonlySet<string> };

const PROJECT = /^[0-9a-f]{32}$/;

function claimsOf(event: APIGatewayProxyEventV2): Record<string, unknown> | undefined {
  const authorizer = (event.requestContext as { authorizer?: { jwt?: { claims?: unknown } } } | undefined)?.authorizer;
  const claims = authorizer?.jwt?.claims;
  return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
}

function entriesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string').map((v) => v.trim());
  if (typeof value !== 'string') return [];
  const text = value.trim();
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return entriesOf(parsed);
    } catch { /* API Gateway's "[a b]" rendering: split below */ }
  }
  return text.replace(/^\[|\]$/g, '').split(/[\s,"]+/).filter(Boolean);
}

/** The caller's read scope from the authorizer's claims; 401 without claims, 403 without usable `cbr_projects`. */
export function readScopeOf(event: APIGatewayProxyEventV2): ReadScope {
  const claims = claimsOf(event);
  if (!claims) {
    throw new HttpError(401, 'unauthenticated: send a bearer token (Authorization: Bearer <JWT>) from the configured issuer', { field: 'headers.authorization' });
  }
  const entries = entriesOf(claims[PROJECTS_CLAIM]);
  if (entries.includes('*')) return { all: true };
  const projects = new Set(entries.filter((e) => PROJECT.test(e)));
  if (projects.size === 0) {
    throw new HttpError(403, `the token's ${PROJECTS_CLAIM} claim names no project id (32 lowercase hex characters, or * for all); ask the issuer to add the projects this caller may read`, { field: `claims.${PROJECTS_CLAIM}` });
  }
  return { all: false, projects };
}

export function inScope(scope: ReadScope, projectId: string): boolean {
  return scope.all || scope.projects.has(projectId);
}

/** Who the token names (`sub`, else `client_id`), for records such as "cancelled by <who>". */
export function callerOf(event: APIGatewayProxyEventV2): string {
  const claims = claimsOf(event) ?? {};
  const who = [claims.sub, claims.client_id, claims.username].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  return who ? who.trim().slice(0, 128) : 'an unnamed caller';
}
