/**
 * Per-caller scope of the HTTP API: reads need the JWT authorizer's claims and see only the projects
 * of `cbr_projects` (another project's run is 404, the list is filtered); POST /runs signed with a key
 * scoped to some projects cannot start a run of another one; a notifyUrl's credentials never show.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { getRunHandler } from '../../../lib/pipeline/edge/get-run';
import { startRunHandler } from '../../../lib/pipeline/edge/start-run';
import { WebhookKeys } from '../../../lib/webhooks/keys';
import { silentLogger } from '../../../lib/wiring/log';
import { makeContext, makeHttpEvent } from '../../helpers/factories';
import { signedPost, TEST_WEBHOOK_KEY, testWebhookAuth } from '../../helpers/webhooks';
import { makeWorld, PEER2, PROJECT, request } from './world';

const ctx = makeContext();
const json = (r: unknown) => JSON.parse((r as APIGatewayProxyStructuredResultV2).body!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const OTHER = 'ab'.repeat(16);
const SERVER = '0b1d9f3e-2c4a-4e6b-8d0f-1a3c5e7b9d2f';

async function twoProjects() {
  const w = makeWorld();
  const mine = await w.runToEnd(request({ notifyUrl: 'https://alice:hunter22@hooks.example.com/T0/B1/sEcReTpAtH?token=qu3rys3cret' }));
  w.clock.advance(1000);
  const theirs = await w.runToEnd(request({ projectId: OTHER, vault: { mode: 'create', name: 'other', billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: SERVER, type: 'OS::Nova::Server' }] }));
  return { w, mine, theirs, get: getRunHandler(w.memory, silentLogger) };
}
const getOne = (runId: string, claims?: Record<string, unknown>) =>
  makeHttpEvent({ method: 'GET', path: `/runs/${runId}`, routeKey: 'GET /runs/{id}', pathParameters: { id: runId }, ...(claims ? { claims } : {}) });
const list = (claims?: Record<string, unknown>) => makeHttpEvent({ method: 'GET', path: '/runs', routeKey: 'GET /runs', ...(claims ? { claims } : {}) });

describe('reads: caller scope from the JWT claims', () => {
  it('no authorizer claims → 401 naming the Authorization header, for both routes', async () => {
    const { mine, get } = await twoProjects();
    for (const e of [getOne(mine.runId), list()]) {
      const res = (await get(e, ctx)) as APIGatewayProxyStructuredResultV2;
      expect(res.statusCode).toBe(401);
      expect(json(res)).toMatchObject({ field: 'headers.authorization', message: expect.stringContaining('Bearer') });
    }
  });

  it("a run of another project is 404, exactly like an unknown run; the caller's own run is 200", async () => {
    const { mine, theirs, get } = await twoProjects();
    const claims = { sub: 'alice', cbr_projects: `[${PROJECT}]` }; // API Gateway's rendering of an array claim
    expect(((await get(getOne(mine.runId, claims), ctx)) as APIGatewayProxyStructuredResultV2).statusCode).toBe(200);
    const hidden = (await get(getOne(theirs.runId, claims), ctx)) as APIGatewayProxyStructuredResultV2;
    const unknown = (await get(getOne('7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b', claims), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(hidden.statusCode).toBe(404);
    expect(json(hidden).error).toBe(json(unknown).error);
  });

  it('the list holds only the projects of the claim (JSON array, space list, or *); a claim with no project id is 403', async () => {
    const { mine, theirs, get } = await twoProjects();
    const ids = async (claims: Record<string, unknown>) => json(await get(list(claims), ctx)).runs.map((r: { runId: string }) => r.runId);
    expect(await ids({ cbr_projects: [PROJECT] })).toEqual([mine.runId]);
    expect(await ids({ cbr_projects: `${OTHER} ${PEER2}` })).toEqual([theirs.runId]);
    expect(await ids({ cbr_projects: JSON.stringify([PROJECT, OTHER]) })).toEqual([theirs.runId, mine.runId]);
    expect(await ids({ cbr_projects: '*' })).toEqual([theirs.runId, mine.runId]);
    const none = (await get(list({ sub: 'bob' }), ctx)) as APIGatewayProxyStructuredResultV2;
    expect(none.statusCode).toBe(403);
    expect(json(none)).toMatchObject({ field: 'claims.cbr_projects' });
  });

  it("the notifyUrl's userinfo, path and query never appear in a read answer", async () => {
    const { mine, get } = await twoProjects();
    const text = ((await get(getOne(mine.runId, { cbr_projects: '*' }), ctx)) as APIGatewayProxyStructuredResultV2).body!;
    const listed = ((await get(list({ cbr_projects: '*' }), ctx)) as APIGatewayProxyStructuredResultV2).body!;
    for (const secret of ['alice', 'hunter22', 'sEcReTpAtH', 'qu3rys3cret']) {
      expect(text).not.toContain(secret);
      expect(listed).not.toContain(secret);
    }
    expect(JSON.parse(text).request.notifyUrl).toBe('https://hooks.example.com/[REDACTED]');
  });
});

describe('POST /runs: webhook keys scoped to projects', () => {
  const SCOPED = `whsec_${Buffer.from('a key of one project only, 32 by').toString('base64')}`;
  const keys = WebhookKeys.parse({ keys: [TEST_WEBHOOK_KEY, { key: SCOPED, projects: [OTHER] }] });

  it('a scoped key starts runs of its projects and is refused 403 for another, naming projectId; an unscoped key starts any', async () => {
    const w = makeWorld();
    const handler = startRunHandler(w.deps, { webhookAuth: { ...testWebhookAuth(), keys: async () => keys }, log: silentLogger });
    const call = async (body: unknown, key: string) => (await handler(signedPost(JSON.stringify(body), { keys: [key] }), ctx)) as APIGatewayProxyStructuredResultV2;
    const refused = await call(request(), SCOPED);
    expect(refused.statusCode).toBe(403);
    expect(json(refused)).toMatchObject({ field: 'body.projectId', message: expect.stringContaining(`projectId '${PROJECT}'`) });
    expect(w.memory.runs.size).toBe(0);
    expect((await call(request({ projectId: OTHER }), SCOPED)).statusCode).toBe(202);
    expect((await call(request(), TEST_WEBHOOK_KEY)).statusCode).toBe(202);
    expect(w.memory.runs.size).toBe(2);
  });

  it('the keys secret names a bad scope clearly', () => {
    const bad = WebhookKeys.safeParse({ keys: [{ key: SCOPED, projects: ['not-a-project'] }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.message).join(' ')).toMatch(/32-character lowercase hex project id/);
    expect(WebhookKeys.safeParse({ keys: [{ key: SCOPED, projects: [] }] }).success).toBe(false);
  });
});
