import { percentEncode } from './signer';

export type QueryValue = string | number | boolean | null | undefined | ReadonlyArray<string | number | boolean>;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Serializes query parameters for the wire: `undefined`/`null` dropped, arrays as repeated keys
 * (`status=available&status=error`), keys and repeated values sorted like the Node SDK's signer does,
 * every byte outside `A-Z a-z 0-9 - _ . ~` percent-encoded. The result is therefore also exactly the
 * canonical query string the signer computes, so what is signed is what is sent.
 */
export function serializeQuery(params: Record<string, QueryValue>): string {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? (value as ReadonlyArray<string | number | boolean>) : [value as string | number | boolean];
    for (const v of values) pairs.push([key, String(v)]);
  }
  pairs.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
}
