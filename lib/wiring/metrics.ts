/**
 * CloudWatch metrics in embedded metric format (EMF): fields of a log line that CloudWatch Logs turns
 * into metrics, with no API call and no extra dependency. Namespace `cbr-flow`, dimension `Stage`;
 * other fields on the line (plan, runId, ...) are searchable properties, not dimensions.
 */
export const METRIC_NAMESPACE = 'cbr-flow';

export function metricFields(stage: string, metrics: Record<string, number>, now: number = Date.now()): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [['Stage']], Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })) }],
    },
    Stage: stage,
    ...metrics,
  };
}
