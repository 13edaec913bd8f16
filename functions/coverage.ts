// coverage: GET /coverage (JWT, cbr_projects scope) and hourly: ListProtectable x plans x run records -> report / metrics.
import { coverageHandler } from '../lib/coverage/edge';
import { coverageDeps, coverageTargetList } from '../lib/wiring/coverage';
import { config, log } from '../lib/wiring/runtime';
import { pipelineDeps } from '../lib/wiring/runtime-cbr';

export const handler = coverageHandler(coverageDeps(pipelineDeps.cbr), { targets: coverageTargetList, stage: config.STAGE, log });
