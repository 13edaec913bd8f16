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
  const issues = error.issues.map((issue) => ({
    field: fieldOf(root, issue.path),
    message: issue.message,
  }));
  const first = issues[0] ?? { field: root || '(root)', message: 'invalid input' };
  return new ValidationError(first.field, first.message, { cause: error, issues });
}

function fieldOf(root: string, path: ReadonlyArray<PropertyKey>): string {
  const parts = path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)));
  const joined = parts.reduce((acc, p) => (p.startsWith('[') ? acc + p : acc ? `${acc}.${p}` : p), '');
  if (!root) return joined || '(root)';
  return joined ? (joined.startsWith('[') ? root + joined : `${root}.${joined}`) : root;
}
