/**
 * A plan's `adopt: true` (the sweep decides every backup in the vault): refused without retention rules,
 * naming the field; carried into the run request's rules, where the sweep reads it.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/errors';
import { parsePlanFile, requestOf } from '../../../lib/plans/plans';

const plan = (extra: Record<string, unknown>) => ({
  name: 'nightly',
  cron: '0 2 * * *',
  timezone: 'Asia/Shanghai',
  request: {
    projectId: '0605767b5780d5762fc5c0118072a564',
    region: 'ap-southeast-1',
    vault: { mode: 'reuse', name: 'web_nightly' },
    resources: [{ id: 'e8cc6bfd-d324-4b88-9109-9fb0ba70676f', type: 'OS::Nova::Server' }],
  },
  ...extra,
});

describe('plan adopt', () => {
  it('without retention rules it is refused, naming plans[0].adopt', () => {
    let error: unknown;
    try {
      parsePlanFile({ plans: [plan({ adopt: true })] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.field)).toContain('plans.yml.plans[0].adopt');
    expect((error as ValidationError).message).toContain('needs retention rules');
  });

  it('with rules, every run request of the plan carries adopt and the plan\'s time zone; without adopt it carries neither flag', () => {
    const [adopting] = parsePlanFile({ plans: [plan({ adopt: true, retention: { keepLast: 3 } })] }).plans;
    expect(requestOf(adopting!).retention).toEqual({ keepLast: 3, timezone: 'Asia/Shanghai', adopt: true });
    const [plain] = parsePlanFile({ plans: [plan({ retention: { keepLast: 3 } })] }).plans;
    expect(requestOf(plain!).retention).toEqual({ keepLast: 3, timezone: 'Asia/Shanghai' });
    expect(() => parsePlanFile({ plans: [plan({ adopt: 'yes', retention: { keepLast: 3 } })] })).toThrow(/adopt/);
  });
});
