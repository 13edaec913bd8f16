/** How the CLI prints runs, timeline events and API error bodies. */
import type { RunView, TimelineEntry } from './client';

/** An API error body in a line or a few; `label` renames each issue's field (to the CLI flag that set it). */
export function summarize(json: unknown, label: (field: string) => string = (f) => f): string {
  if (typeof json === 'object' && json !== null) {
    const j = json as { message?: unknown; error?: unknown; issues?: unknown; errors?: unknown };
    const issues = Array.isArray(j.issues) ? j.issues : Array.isArray(j.errors) ? j.errors : undefined;
    const head = typeof j.message === 'string' ? j.message : typeof j.error === 'string' ? j.error : '';
    if (issues) {
      const raw: string[] = [];
      const lines = issues.map((i) => {
        const issue = i as { field?: unknown; path?: unknown; message?: unknown };
        const field = typeof issue.field === 'string' ? issue.field : Array.isArray(issue.path) ? issue.path.join('.') : '';
        const message = String(issue.message ?? JSON.stringify(i));
        raw.push(`${field ? `${field}: ` : ''}${message}`);
        return `${field ? `${label(field)}: ` : ''}${message}`;
      });
      // The API's message repeats its first issue (with the field as the API names it): the list says it.
      return [raw.includes(head) ? '' : head, ...lines.map((l) => `  - ${l}`)].join('\n');
    }
    return head || JSON.stringify(json).slice(0, 500);
  }
  return String(json).slice(0, 500);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function formatEvent(e: TimelineEntry, startedAt: number): string {
  return `[+${seconds(e.at - startedAt).padStart(6)}] ${e.step.padEnd(16)} ${e.event}${e.detail ? `  ${e.detail}` : ''}`;
}

export function formatRun(run: RunView): string {
  const start = run.createdAt ?? run.timeline[0]?.at ?? Date.now();
  const lines = [
    `run      ${run.runId}`,
    `state    ${run.state}${run.step ? ` (step ${run.step})` : ''}`,
    ...(run.createdAt ? [`started  ${new Date(run.createdAt).toISOString()}`] : []),
    ...(run.finishedAt ? [`finished ${new Date(run.finishedAt).toISOString()} (${seconds(run.finishedAt - start)})`] : []),
    ...(run.reason ? [`reason   ${run.reason}`] : []),
    ...(run.lastError ? [`error    ${run.lastError.code}: ${run.lastError.message}${run.lastError.requestId ? ` (request ${run.lastError.requestId})` : ''}`] : []),
  ];
  if (run.shares.length > 0) {
    lines.push(
      'members',
      ...run.shares.map((m) => {
        const extra = [
          m.vaultId ? `into vault ${m.vaultId}` : '',
          m.expiresAt !== undefined && m.status !== 'revoked' ? `until ${new Date(m.expiresAt).toISOString()}` : '',
          m.revokedAt !== undefined ? `revoked ${new Date(m.revokedAt).toISOString()}` : '',
          m.code ? `${m.code}${m.message ? `: ${m.message}` : ''}` : '',
        ].filter(Boolean);
        return `  ${m.projectId}  ${m.status.padEnd(8)} backup ${m.backupId}${extra.length ? `  ${extra.join('; ')}` : ''}`;
      }),
    );
  }
  if (run.copies.length > 0) {
    lines.push(
      'copies',
      ...run.copies.map((c) => {
        const extra = [
          c.replicaId ? `replica ${c.replicaId}` : '',
          c.vaultName ? `in vault ${c.vaultName}` : '',
          c.code ? `${c.code}${c.message ? `: ${c.message}` : ''}` : c.message ?? '',
        ].filter(Boolean);
        return `  ${c.region.padEnd(16)} ${c.state.padEnd(9)} backup ${c.backupId}${extra.length ? `  ${extra.join('; ')}` : ''}`;
      }),
    );
  }
  if (run.timeline.length > 0) lines.push('timeline', ...run.timeline.map((e) => `  ${formatEvent(e, start)}`));
  return lines.join('\n');
}
