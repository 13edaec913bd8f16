/**
 * What coverage needs of the backup plans, and of the configuration, at run time. The coverage function
 * does not read plans/plans.yml (no YAML in a handler; cron-parser only for the dashboard's next firings): `npx tsx lib/plans/sync.ts`
 * writes the deployed plans' view (lib/plans/plans.ts `coveragePlansOf`) into its COVERAGE_PLANS env
 * var in serverless.yml; each entry names the stages it is deployed to and only this stage's count.
 */
import * as z from 'zod';
import { parseWith } from '../contracts/parse';
import { ValidationError } from '../errors';
import { Selection } from '../contracts/selection';
import type { CoverageTarget } from './coverage';

const ProjectId = z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be a 32-character lowercase hex project id' });
const Region = z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)+-\d{1,3}$/, { error: 'must be a region name like ap-southeast-1' });

export const CoveragePlan = z.strictObject({
  name: z.string().min(1),
  projectId: ProjectId,
  /** Absent: the deployment's CBR_REGION. */
  region: Region.optional(),
  resourceIds: z.array(z.string().min(1)),
  /** The plan selects its resources (lib/contracts/selection.ts): it covers what the selection picks now. */
  select: Selection.optional(),
  /** The plan's `rpoHours`, or derived from its cron (lib/plans/plans.ts `rpoHoursOf`). */
  rpoHours: z.number().positive(),
  shareWith: z.array(ProjectId).default([]),
  stages: z.array(z.string()).default([]),
  /** The plan's schedule (standard 5-field cron in `timezone`), for the dashboard's next firings; older entries lack it. */
  cron: z.string().min(1).optional(),
  timezone: z.string().min(1).optional(),
  /** false: deployed paused. */
  enabled: z.boolean().optional(),
});
export type CoveragePlan = z.infer<typeof CoveragePlan> & { region: string };

/** COVERAGE_PLANS (JSON array; '' = none) as the plans of `stage`, regions resolved. */
export function parseCoveragePlans(text: string | undefined, stage: string, defaultRegion: string): CoveragePlan[] {
  if (text === undefined || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('COVERAGE_PLANS', 'is not JSON; regenerate it with `npx tsx lib/plans/sync.ts`', { cause: error });
  }
  return parseWith(z.array(CoveragePlan), value, 'COVERAGE_PLANS')
    .filter((p) => p.stages.includes(stage))
    .map((p) => ({ ...p, region: p.region ?? defaultRegion }));
}

/**
 * COVERAGE_PROJECTS: the projects coverage looks at besides the plans' own, comma-separated
 * `<projectId>` or `<projectId>@<region>` (region default: CBR_REGION).
 */
export function parseCoverageTargets(text: string | undefined, defaultRegion: string): CoverageTarget[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((part, i) => {
    const [projectId = '', region = defaultRegion, extra] = part.trim().split('@');
    if (extra !== undefined || !ProjectId.safeParse(projectId).success || !Region.safeParse(region).success) {
      throw new ValidationError(`COVERAGE_PROJECTS[${i}]`, `'${part.trim()}' is not <projectId> or <projectId>@<region> (32 lowercase hex characters, then e.g. @ap-southeast-1)`);
    }
    return { projectId, region };
  });
}

/** Every (project, region) to report: the configured ones, then the plans' own, without duplicates. */
export function coverageTargets(configured: readonly CoverageTarget[], plans: readonly CoveragePlan[]): CoverageTarget[] {
  const out = new Map<string, CoverageTarget>();
  for (const t of [...configured, ...plans.map((p) => ({ projectId: p.projectId, region: p.region }))]) out.set(`${t.projectId}@${t.region}`, t);
  return [...out.values()];
}
