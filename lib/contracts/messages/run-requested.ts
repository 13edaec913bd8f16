import * as z from 'zod';
import { envelopeOf } from '../envelope';
import { RunRequest } from '../run-request';

/** Intake -> start-run (other functions chain in here), and start-run -> create-vault. */
export const RunRequestedV1 = envelopeOf('run.requested', 1, z.strictObject({ request: RunRequest }));
export type RunRequestedV1 = z.infer<typeof RunRequestedV1>;
