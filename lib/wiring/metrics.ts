/**
 * Run metrics in CloudWatch embedded metric format (EMF): one JSON line on stdout per event, which
 * CloudWatch Logs turns into metrics of namespace `cbr-flow` with the dimension `Stage` (no PutMetricData
 * call, no extra latency). The alarms in serverless.yml (RunsFailedOrExpiredAlarm) read these metrics;
 * test/contract/alarms.test.ts checks that the lines a real run emits match them.
 *
 *   RunsStarted                                   a run was created (Count)
 *   RunsCompleted / RunsPartial / RunsFailed / RunsExpired   a run ended in that state (Count)
 *   BackupDuration        checkpoint start -> the last backup available in CBR (Milliseconds)
 *   AvailableToDetected   CBR's available time -> the checker noticed, worst backup of the run (Milliseconds)
 *   PlanFiringFailed / CheckerFiringFailed   a schedule firing that never became a run, from the
 *                         schedules DLQ (plan-firing-failed; PlanFiringFailedAlarm) (Count)
 *   SharePendingTooLong   a share member still pending SHARE_PENDING_ALERT_HOURS after it was added
 *                         (the check-status share sweep; SharePendingAlarm) (Count)
 *   SharesRevoked         members revoked at the end of their lifetime (the share sweep) (Count)
 */
import type { RunRecord, RunState } from '../store/run';

export const METRICS_NAMESPACE = 'cbr-flow';
export const METRIC_DIMENSIONS = ['Stage'] as const;

/** What the use-cases report; `deps.metrics` (unset = nothing emitted). */
export interface RunMetrics {
  started(run: RunRecord): void;
  /** Called once when a finished run is first announced (run.finished published). */
  ended(run: RunRecord): void;
  /** A plan's or the checker's firing reached the schedules DLQ (lib/pipeline/plan-firing-failed.ts). */
  firingFailed(kind: 'plan' | 'checker', properties: Record<string, string>): void;
  /** The share sweep (lib/pipeline/share-sweep.ts): members still pending past the alert time, members revoked. */
  shares?(run: RunRecord, counts: { pendingTooLong: number; revoked: number }): void;
}

export const ENDED_METRIC: Record<Exclude<RunState, 'PENDING' | 'RUNNING'>, string> = {
  COMPLETED: 'RunsCompleted',
  PARTIAL: 'RunsPartial',
  FAILED: 'RunsFailed',
  EXPIRED: 'RunsExpired',
};

type Unit = 'Count' | 'Milliseconds';

/** One EMF document: the values at the top level, described under `_aws`. */
export function emfDocument(stage: string, at: number, values: Array<[name: string, value: number, unit: Unit]>, properties: Record<string, string> = {}): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[...METRIC_DIMENSIONS]], Metrics: values.map(([Name, , Unit]) => ({ Name, Unit })) }],
    },
    Stage: stage,
    ...properties,
    ...Object.fromEntries(values.map(([name, value]) => [name, value])),
  };
}

/** Backup duration and detection delay of a finished run, when its checkpoints got that far. */
export function backupTimings(run: RunRecord): { backupDurationMs?: number; availableToDetectedMs?: number } {
  const out: { backupDurationMs?: number; availableToDetectedMs?: number } = {};
  const started = run.checkpoints.map((c) => c.createdAt).filter((t): t is number => t !== undefined);
  const available = run.checkpoints.flatMap((c) => c.backups.map((b) => b.availableAt)).filter((t): t is number => t !== undefined);
  if (started.length > 0 && available.length > 0) out.backupDurationMs = Math.max(0, Math.max(...available) - Math.min(...started));
  const delays = run.checkpoints.flatMap((c) => (c.finishedAt === undefined ? [] : c.backups.flatMap((b) => (b.availableAt === undefined ? [] : [c.finishedAt! - b.availableAt]))));
  if (delays.length > 0) out.availableToDetectedMs = Math.max(0, Math.max(...delays));
  return out;
}

/** RunMetrics written as EMF lines (`write` defaults to stdout, which Lambda sends to CloudWatch Logs). */
export function emfMetrics(stage: string, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), now: () => number = Date.now): RunMetrics {
  const emit = (values: Array<[string, number, Unit]>, run: RunRecord) => write(JSON.stringify(emfDocument(stage, now(), values, { runId: run.runId, projectId: run.request.projectId })));
  return {
    started: (run) => emit([['RunsStarted', 1, 'Count']], run),
    ended: (run) => {
      if (run.state === 'PENDING' || run.state === 'RUNNING') return;
      const values: Array<[string, number, Unit]> = [[ENDED_METRIC[run.state], 1, 'Count']];
      const t = backupTimings(run);
      if (t.backupDurationMs !== undefined) values.push(['BackupDuration', t.backupDurationMs, 'Milliseconds']);
      if (t.availableToDetectedMs !== undefined) values.push(['AvailableToDetected', t.availableToDetectedMs, 'Milliseconds']);
      emit(values, run);
    },
    shares: (run, counts) => {
      const values: Array<[string, number, Unit]> = [];
      if (counts.pendingTooLong > 0) values.push(['SharePendingTooLong', counts.pendingTooLong, 'Count']);
      if (counts.revoked > 0) values.push(['SharesRevoked', counts.revoked, 'Count']);
      if (values.length > 0) emit(values, run);
    },
    firingFailed: (kind, properties) => write(JSON.stringify(emfDocument(stage, now(), [[kind === 'plan' ? 'PlanFiringFailed' : 'CheckerFiringFailed', 1, 'Count']], properties))),
  };
}

/** A finished recovery drill (lib/restore/drill.ts): DrillsCompleted or DrillsFailed, with its RPO and RTO (seconds). */
export function drillMetric(stage: string, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), now: () => number = Date.now) {
  return (d: { plan: string; name: string; ok: boolean; rpoSeconds?: number | undefined; rtoSeconds?: number | undefined }): void => {
    const values: Array<[string, number, 'Count']> = [[d.ok ? 'DrillsCompleted' : 'DrillsFailed', 1, 'Count']];
    const doc = emfDocument(stage, now(), values, { plan: d.plan, drill: d.name, ...(d.rpoSeconds !== undefined ? { rpoSeconds: String(d.rpoSeconds) } : {}), ...(d.rtoSeconds !== undefined ? { rtoSeconds: String(d.rtoSeconds) } : {}) });
    write(JSON.stringify(doc));
  };
}
