// coverage: GET /coverage (JWT, cbr_projects scope) and hourly: ListProtectable x plans x run records -> report / metrics;
// POST /gates/fresh-backup (JWT, the body's project in cbr_projects): ListBackups per resource -> fresh, or start a run;
// GET / (the dashboard page, static, public) and GET /dashboard/data (JWT): runs with timelines, plans with next firings.
import { coverageHandler } from '../lib/coverage/edge';
import { coverageDeps, coverageTargetList, dashboardDeps } from '../lib/wiring/coverage';
import { config, intakeDeps, log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';

export const handler = coverageHandler(coverageDeps(pipelineDeps.cbr), {
  targets: coverageTargetList,
  stage: config.STAGE,
  log,
  gate: { cbr: pipelineDeps.cbr, intake: intakeDeps },
  publicBaseUrl: config.PUBLIC_BASE_URL,
  dashboard: dashboardDeps,
});
