/**
 * What retention keeps in the store (issue 14 items 2-3), beside the runs (the runs table holds these
 * items too; lib/store/dynamodb/retention.ts gives their keys):
 *
 *   Hold       a backup, or every backup of a run, that no sweep deletes until it is released; who put
 *              it and why, who released it and when (kept after release, for the record).
 *   Scope      one vault cbr-flow's runs used, with the rules of the newest of those runs (the plan's
 *              or the run request's `retention`), the checkpoint names its backups carry and the plan;
 *              learnt by the sweep from the run records, so it outlives the runs' TTL.
 *   Ledger     one entry per backup the sweep decided to delete: resource, created at, the rules that
 *              expired it, when it was requested, the result and CBR's request id (or its refusal).
 */
import * as z from 'zod';
import { RetentionRules } from './rules';

export const HoldTarget = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('backup'), backupId: z.string().min(1), projectId: z.string().min(1) }),
  z.strictObject({ kind: z.literal('run'), runId: z.string().min(1), projectId: z.string().min(1) }),
]);
export type HoldTarget = z.infer<typeof HoldTarget>;

export const Hold = z.object({
  holdId: z.string().min(1),
  target: HoldTarget,
  /**
   * The backups held: the backup itself, or the run's backups known when the hold was placed (the
   * sweep also holds every backup named after the run, `<checkpoint name>_<run id hex>[-sN]`).
   */
  backupIds: z.array(z.string()).default([]),
  reason: z.string().min(1).max(500),
  by: z.string().min(1).max(128),
  at: z.number(),
  released: z.object({ by: z.string().max(128), at: z.number(), reason: z.string().max(500).optional() }).optional(),
});
export type Hold = z.infer<typeof Hold>;

export const RetentionScope = z.object({
  /** `<projectId>#<region>#<vaultId>` */
  key: z.string(),
  projectId: z.string(),
  region: z.string(),
  vaultId: z.string(),
  vaultName: z.string(),
  /** The plan of the newest run that used the vault (none: a run request without a plan). */
  plan: z.string().optional(),
  /** That run's retention; none = every backup of the vault is kept. `adopt` is RetentionRules' own. */
  rules: RetentionRules.optional(),
  /** The checkpoint names (`request.checkpoint.name`) of the vault's runs: cbr-flow's backups are `<name>_<run id hex>[-sN]`. */
  prefixes: z.array(z.string()).default([]),
  /** The run the rules come from, and its creation time (a newer run replaces them). */
  runId: z.string(),
  runCreatedAt: z.number(),
  updatedAt: z.number(),
});
export type RetentionScope = z.infer<typeof RetentionScope>;

export const scopeKeyOf = (projectId: string, region: string, vaultId: string): string => `${projectId}#${region}#${vaultId}`;

export const LedgerResult = z.enum(['requested', 'deleted', 'refused']);
export type LedgerResult = z.infer<typeof LedgerResult>;

export const LedgerEntry = z.object({
  scopeKey: z.string(),
  backupId: z.string(),
  backupName: z.string().optional(),
  plan: z.string().optional(),
  projectId: z.string(),
  region: z.string(),
  vaultId: z.string(),
  resourceId: z.string(),
  /** CBR's created_at of the backup, as CBR wrote it (not `createdAt`: that is the runs table's recent-index key, a number). */
  backupCreatedAt: z.string().nullable(),
  sizeGb: z.number().optional(),
  /** The rules that let it go, e.g. `gfs, floor` (each with why in `reasons`). */
  rule: z.string(),
  reasons: z.array(z.object({ rule: z.string(), detail: z.string() })),
  /** Epoch ms of the first request (the intent, written before DeleteBackup). */
  requestedAt: z.number(),
  /** requested: intent written, DeleteBackup sent or about to be; deleted: CBR accepted it (or it is gone); refused: CBR said no. */
  result: LedgerResult,
  requestId: z.string().optional(),
  /** CBR's reason for a refusal (`<code>: <message>`). */
  reason: z.string().optional(),
  /** DeleteBackup attempts over all sweeps; consecutive sweeps that ended refused. */
  attempts: z.number().int().min(0),
  refusedSweeps: z.number().int().min(0).default(0),
  updatedAt: z.number(),
  /** DynamoDB TTL (epoch seconds). */
  expiresAt: z.number(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;
