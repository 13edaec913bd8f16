// Coverage's view of plans and configuration: the RPO derived from a cron, the configured projects, tags.
import { describe, expect, it } from 'vitest';
import { coverageTargets, parseCoveragePlans, parseCoverageTargets } from '../../../lib/coverage/plans';
import { tagsOf } from '../../../lib/coverage/tags';
import { parsePlanFile, rpoHoursOf } from '../../../lib/plans/plans';

const P = '0605767b5780d5762fc5c0118072a564';
const plan = (over: Record<string, unknown> = {}) => parsePlanFile({
  plans: [{
    name: 'p', cron: '0 2 * * *', timezone: 'Asia/Shanghai',
    request: { projectId: P, vault: { mode: 'reuse', name: 'v' }, resources: [{ id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' }] },
    ...over,
  }],
}).plans[0]!;

describe('RPO target of a plan', () => {
  it('is the longest gap between firings plus the completion window, unless the plan sets rpoHours', () => {
    expect(rpoHoursOf(plan())).toBe(24 + 4);
    // Weekly in Berlin: the week the clocks go back lasts 169 h.
    expect(rpoHoursOf(plan({ cron: '30 3 * * 0', timezone: 'Europe/Berlin' }))).toBe(7 * 24 + 1 + 4);
    // Weekdays only: Friday 02:00 -> Monday 02:00 is the longest gap.
    expect(rpoHoursOf(plan({ cron: '0 2 * * 1-5' }))).toBe(72 + 4);
    expect(rpoHoursOf(plan({ cron: '0 */6 * * *', request: { ...plan().request, completionWindowMinutes: 60 } }))).toBe(7);
    expect(rpoHoursOf(plan({ rpoHours: 12 }))).toBe(12);
  });
});

describe('configured projects and plans', () => {
  it('reads COVERAGE_PROJECTS as id or id@region, naming the bad entry', () => {
    expect(parseCoverageTargets(`${P}, ${P}@eu-west-101`, 'ap-southeast-1')).toEqual([{ projectId: P, region: 'ap-southeast-1' }, { projectId: P, region: 'eu-west-101' }]);
    expect(parseCoverageTargets('', 'ap-southeast-1')).toEqual([]);
    expect(() => parseCoverageTargets(`${P},nope`, 'ap-southeast-1')).toThrow(expect.objectContaining({ field: 'COVERAGE_PROJECTS[1]', message: expect.stringContaining("'nope' is not <projectId> or <projectId>@<region>") }));
  });

  it('keeps the plans of this stage, resolves their region, and adds their projects to the configured ones', () => {
    const text = JSON.stringify([
      { name: 'a', projectId: P, resourceIds: ['x'], rpoHours: 28, stages: ['prod'] },
      { name: 'b', projectId: P, region: 'eu-west-101', resourceIds: ['y'], rpoHours: 180, stages: ['dev'] },
    ]);
    const plans = parseCoveragePlans(text, 'prod', 'ap-southeast-1');
    expect(plans).toEqual([{ name: 'a', projectId: P, region: 'ap-southeast-1', resourceIds: ['x'], rpoHours: 28, shareWith: [], stages: ['prod'] }]);
    expect(coverageTargets([{ projectId: P, region: 'ap-southeast-1' }], plans)).toEqual([{ projectId: P, region: 'ap-southeast-1' }]);
    expect(() => parseCoveragePlans('{', 'prod', 'ap-southeast-1')).toThrow(expect.objectContaining({ field: 'COVERAGE_PLANS' }));
    expect(() => parseCoveragePlans('[{"name":"a"}]', 'prod', 'ap-southeast-1')).toThrow(expect.objectContaining({ name: 'ValidationError' }));
  });
});

describe('tags of a protectable instance', () => {
  it('reads ECS ["k=v"], EVS {k: v} and [{key, value}]; anything else is no tag', () => {
    // ../shared/cbr-recordings/c7n/56d90e13a2e8.json: "tags": ["backup_policy=45Dd"]
    expect(tagsOf({ tags: ['backup_policy=45Dd', 'a=b=c', 'flag'] })).toEqual({ backup_policy: '45Dd', a: 'b=c', flag: '' });
    expect(tagsOf({ tags: { env: 'prod', n: 3 } })).toEqual({ env: 'prod' });
    expect(tagsOf({ tags: [{ key: 'env', value: 'dev' }, { key: 'k' }] })).toEqual({ env: 'dev', k: '' });
    expect(tagsOf({ tags: null })).toEqual({});
    expect(tagsOf(undefined)).toEqual({});
    expect(tagsOf({ tags: [] })).toEqual({});
  });
});
