import * as z from 'zod';
import { ValidationError } from '../errors';

/**
 * Parse `input` with `schema`, turning a ZodError into a ValidationError that names every offending
 * field by its dotted path (prefixed with `root` when given), so an HTTP 400 or a DLQ reason always
 * says which field and why.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, root = ''): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw toValidationError(result.error, root, input);
}

/**
 * `input` (what the caller sent) lets a missing field read "is required" instead of zod's "expected
 * string, received undefined"; a rule's own message (a refinement, `custom`) is kept.
 */
export function toValidationError(error: z.ZodError, root = '', input?: unknown): ValidationError {
  // zod reports unknown keys once, on the parent object; name each key instead, so `{"vault":{"nmae":..}}`
  // (or a `__proto__` key) points at `vault.nmae`, not at `vault`.
  const issues = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldOf(root, [...issue.path, key]), message: 'is not a known field' }))
      : [{ field: fieldOf(root, issue.path), message: input !== undefined && issue.code !== 'custom' && isMissing(input, issue.path) ? requiredMessage(issue) : issue.message }],
  );
  const first = issues[0] ?? { field: root || '(root)', message: 'invalid input' };
  return new ValidationError(first.field, first.message, { cause: error, issues });
}

function fieldOf(root: string, path: ReadonlyArray<PropertyKey>): string {
  // Decided by the type of each step, not its text: a key such as "[0]" or "a.b" stays a key.
  let out = root;
  for (const p of path) out = typeof p === 'number' ? `${out}[${p}]` : out === '' ? String(p) : `${out}.${String(p)}`;
  return out || '(root)';
}

/** True when the value at `path` was not sent: its parent is an object (or array) without that key. */
function isMissing(input: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  if (path.length === 0) return false;
  let parent: unknown = input;
  for (const p of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[p];
  }
  if (typeof parent !== 'object' || parent === null) return false;
  const key = path[path.length - 1]!;
  return !Object.hasOwn(parent, key) || (parent as Record<PropertyKey, unknown>)[key] === undefined;
}

function requiredMessage(issue: z.core.$ZodIssue): string {
  // A missing discriminator (`vault.mode`): say which values it may take.
  const options = /^Invalid discriminator value\. Expected (.+)$/.exec(issue.message)?.[1];
  return options ? `is required: one of ${options}` : 'is required';
}
