/**
 * Selection instead of lists (issue 16 item 2), through the whole pipeline on the emulator over HTTP:
 * a run that selects servers by tag is resolved when it starts (create-vault, before the pre-flight),
 * records which ids it chose, and completes; a server added later that matches is protected by the
 * next run without any change to the request; a selection that matches nothing fails before CreateVault.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { applySelection, Selection } from '../../lib/contracts/selection';
import { runBody, startHarness, type Harness } from '../helpers/pipeline-harness';

const [web1, web2, db, app] = DEMO.servers;
let h: Harness;

const selectBody = (vault: string, select: Record<string, unknown>) => {
  const { resources: _r, ...body } = runBody(vault, []);
  return { ...body, select };
};

beforeAll(async () => {
  h = await startHarness({
    emulator: {
      resources: [
        ...DEMO.resources,
        // A canary web server, to exclude by name.
        { id: 'c0ffee00-0000-4000-8000-000000000001', projectId: DEMO.projectId, type: 'OS::Nova::Server', name: 'ecs-web-canary', tags: { env: 'prod', tier: 'web' } },
      ],
    },
  });
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

describe('select resources instead of listing them', () => {
  it('tags env=prod and tier=web, except *-canary: resolved when the run starts, recorded on the run, COMPLETED', async () => {
    const started = await h.startRun(selectBody('sel_web', { tags: ['env=prod', 'tier=web'], exclude: { names: ['*-canary'] } }));
    expect(started.statusCode).toBe(202);
    await h.drive({ runIds: [started.runId!] });
    const run = await h.run(started.runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.selection).toMatchObject({ ids: [web1.id, web2.id], listed: 5, select: { type: 'server', tags: ['env=prod', 'tier=web'] } });
    expect(run.request.resources.map((r) => r.id)).toEqual([web1.id, web2.id]);
    expect(run.request.select).toBeUndefined();
    expect(run.timeline.find((e) => e.event === 'selection-resolved')?.detail).toBe('servers tagged env=prod and tier=web, except name *-canary: 2 of 5 server(s): ecs-9f93-0002, ecs-web-01');
    expect(run.checkpoints[0]!.backups.map((b) => b.resourceId).sort()).toEqual([web1.id, web2.id].sort());
  });

  it('a selection that matches nothing fails the run before any vault exists, naming it', async () => {
    const before = h.emulator.state.snapshot().vaults.length;
    const started = await h.startRun(selectBody('sel_none', { tags: ['env=qa'] }));
    await h.drive({ runIds: [started.runId!] });
    const run = await h.run(started.runId!);
    expect(run).toMatchObject({ state: 'FAILED', lastError: { code: 'SELECTION_EMPTY', step: 'create-vault' } });
    expect(run.reason).toBe(`select (servers tagged env=qa) matched none of the 5 protectable server(s) of project ${DEMO.projectId} (ap-southeast-1)`);
    expect(h.emulator.state.snapshot().vaults.length).toBe(before);
  });

  it('a staging server deleted before the next run is not selected; names by glob', async () => {
    h.emulator.state.deleteResource(app.id);
    const started = await h.startRun(selectBody('sel_names', { names: ['ecs-db-*', 'ecs-app-*'] }));
    await h.drive({ runIds: [started.runId!] });
    const run = await h.run(started.runId!);
    expect(run.state).toBe('COMPLETED');
    expect(run.selection?.ids).toEqual([db.id]);
  });
});

describe('applySelection', () => {
  const list: Array<{ id: string; name: string; tags: Record<string, string> }> = [
    { id: '1', name: 'web-1', tags: { env: 'prod', tier: 'web' } },
    { id: '2', name: 'web-2', tags: { env: 'dev', tier: 'web' } },
    { id: '3', name: 'db.1', tags: { env: 'prod' } },
  ];
  const pick = (s: unknown) => applySelection(Selection.parse(s), list).map((i) => i.id);
  it('all, tags (all must match; `key` alone: any value), names (any glob matches, whole name), both, exclusions', () => {
    expect(pick({ all: true })).toEqual(['1', '2', '3']);
    expect(pick({ all: true, exclude: { ids: ['00000000-0000-4000-8000-000000000000'], tags: ['env=dev'] } })).toEqual(['1', '3']);
    expect(pick({ tags: ['tier'] })).toEqual(['1', '2']);
    expect(pick({ tags: ['env=prod', 'tier=web'] })).toEqual(['1']);
    expect(pick({ names: ['web-?'] })).toEqual(['1', '2']);
    expect(pick({ names: ['db.*'] })).toEqual(['3']);
    expect(pick({ names: ['db'] })).toEqual([]);
    expect(pick({ names: ['*'], tags: ['env=prod'], exclude: { names: ['db*'] } })).toEqual(['1']);
  });
});
