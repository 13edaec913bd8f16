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
  throw toValidationError(result.error, root);
}

export function toValidationError(error: z.ZodError, root = ''): ValidationError {
  // zod reports unknown keys once, on the parent object; name each key instead, so `{"vault":{"nmae":..}}`
  // (or a `__proto__` key) points at `vault.nmae`, not at `vault`.
  const issues = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldOf(root, [...issue.path, key]), message: 'is not a known field' }))
      : [{ field: fieldOf(root, issue.path), message: issue.message }],
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
