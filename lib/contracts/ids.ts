import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';

/** Run ids are UUIDs: safe in URLs, DynamoDB keys and (hex, dashes removed) in CBR names. */
export const RunId = z.uuid({ error: 'must be a UUID' });
export type RunId = z.infer<typeof RunId>;

/** Huawei Cloud project ids are 32 lowercase hex characters. */
export const ProjectId = z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be a 32-character lowercase hex project id' });

/** CBR resource, vault, checkpoint and backup ids (UUID-shaped; variant bits not enforced). */
export const CbrId = z.guid({ error: 'must be a UUID' });

/** Region names such as ap-southeast-1, cn-north-4, my-kualalumpur-1, eu-west-101. */
export const Region = z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)+-\d{1,3}$/, { error: 'must be a Huawei Cloud region such as ap-southeast-1' });

const NAMESPACE = Buffer.from('6f1b0c9e5d3a4f2b8c7e1a2b3c4d5e6f', 'hex');

/**
 * RFC 4122 version-5 UUID (SHA-1, fixed cbr-flow namespace) of the joined parts. Used so that the
 * same logical thing (a plan firing at a scheduled time, a message of a step of a run) always gets the
 * same id: a duplicate delivery then collides with the first instead of creating a second run/event.
 */
export function stableUuid(...parts: ReadonlyArray<string | number>): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u001f')).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newUuid(): string {
  return randomUUID();
}
