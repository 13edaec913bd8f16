/**
 * Tags of a protectable instance, read liberally from its `detail` (the raw ECS server or EVS volume,
 * cbr-api.md §6.2). Recorded answers (../shared/cbr-recordings/c7n/56d90e13a2e8.json) carry a server's
 * as ECS does, `tags: ["key=value", ...]`, and a volume's as EVS does, `tags: {key: value}`; the
 * `[{key, value}]` form of other Huawei APIs is read too. Anything else is no tag.
 */
export function tagsOf(detail: unknown): Record<string, string> {
  if (typeof detail !== 'object' || detail === null) return {};
  const raw = (detail as { tags?: unknown }).tags;
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const t of raw) {
      if (typeof t === 'string') {
        const at = t.indexOf('=');
        if (at > 0) out[t.slice(0, at)] = t.slice(at + 1);
        else if (t.length > 0) out[t] = '';
      } else if (typeof t === 'object' && t !== null && typeof (t as { key?: unknown }).key === 'string') {
        const v = (t as { value?: unknown }).value;
        out[(t as { key: string }).key] = typeof v === 'string' ? v : '';
      }
    }
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}
