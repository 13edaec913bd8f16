/**
 * Strings that reach CBR or DynamoDB must be encodable as UTF-8 (no lone UTF-16 surrogates), and a
 * notifyUrl must not smuggle control characters past the URL parser (which silently drops CR/LF/tab).
 * Each refusal names the field.
 */
import { describe, expect, it } from 'vitest';
import { buildMessage, parseMessage } from '../../../lib/contracts';
import { stableUuid } from '../../../lib/contracts/ids';
import { parseWith } from '../../../lib/contracts/parse';
import { RunRequest } from '../../../lib/contracts/run-request';
import { ScheduleTrigger } from '../../../lib/contracts/schedule-trigger';
import { ValidationError } from '../../../lib/errors';

const SERVER = '9c2b1d4e-0d3a-4c9b-8f3e-2a1b3c4d5e6f';
const valid = {
  projectId: '0605767b5780d5762fc5c0118072a564',
  region: 'ap-southeast-1',
  vault: { mode: 'create', name: 'nightly', description: 'nightly vault', billing: { chargingMode: 'post_paid', size: 100 } },
  resources: [{ id: SERVER, type: 'OS::Nova::Server', name: 'web-01' }],
  checkpoint: { name: 'cbrflow', description: 'nightly' },
};

function refusal(input: unknown, schema: Parameters<typeof parseWith>[0] = RunRequest): { field: string; message: string } {
  try {
    parseWith(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const e = error as ValidationError & { field: string };
    return { field: e.field, message: e.message };
  }
  throw new Error('accepted');
}

describe('lone UTF-16 surrogates are refused, naming the field', () => {
  it.each([
    ['resources[0].name', { resources: [{ ...valid.resources[0], name: 'web\uD800' }] }],
    ['resources[0].name', { resources: [{ ...valid.resources[0], name: '\uDC00web' }] }],
    ['vault.description', { vault: { ...valid.vault, description: 'half an emoji \uD83D' } }],
    ['checkpoint.description', { checkpoint: { ...valid.checkpoint, description: '\uDE00' } }],
    ['notifyUrl', { notifyUrl: 'https://hooks.example.com/\uD800' }],
  ])('%s', (field, patch) => {
    expect(refusal({ ...valid, ...patch })).toEqual({ field, message: expect.stringContaining('lone UTF-16 surrogate') });
  });

  it('a well-formed pair (an emoji) is fine', () => {
    const parsed = parseWith(RunRequest, { ...valid, resources: [{ ...valid.resources[0], name: 'web 😀' }], vault: { ...valid.vault, description: '备份 😀' } });
    expect(parsed.resources[0]!.name).toBe('web 😀');
  });

  it('in queue messages and plan triggers too', () => {
    const runId = stableUuid('text-test');
    const ready = buildMessage('vault.ready', { runId, occurredAt: 0, key: 'vault', data: { vaultId: SERVER, vaultName: 'nightly', created: true } });
    expect(() => parseMessage({ ...ready, data: { ...ready.data, vaultName: 'night\uDBFF' } })).toThrow(/data\.vaultName.*lone UTF-16 surrogate/);
    expect(() => parseMessage(ready)).not.toThrow();
    expect(refusal({ source: 'cbr-flow.plan', plan: 'nightly\uD800', scheduledTime: '2026-11-22T10:00:00Z', request: valid }, ScheduleTrigger)).toMatchObject({ field: 'plan' });
  });
});

describe('notifyUrl with control characters', () => {
  it.each([
    ['CR LF (header injection)', 'https://hooks.example.com/done\r\nX-Evil: 1'],
    ['a tab inside the host', 'https://hooks.exa\tmple.com/done'],
    ['a bare LF', 'https://hooks.example.com/\ndone'],
    ['NUL', 'https://hooks.example.com/\u0000'],
    ['DEL', 'https://hooks.example.com/\u007F'],
  ])('%s is refused before URL parsing could strip it', (_, url) => {
    // The WHATWG parser would accept these (it removes tab/CR/LF): proof the check is ours.
    if (/[\t\r\n]/.test(url)) expect(() => new URL(url)).not.toThrow();
    expect(refusal({ ...valid, notifyUrl: url })).toEqual({ field: 'notifyUrl', message: expect.stringContaining('control characters') });
  });

  it('a plain http(s) URL is kept as sent; other schemes are still refused', () => {
    expect(parseWith(RunRequest, { ...valid, notifyUrl: 'https://hooks.example.com/done?x=1' }).notifyUrl).toBe('https://hooks.example.com/done?x=1');
    expect(refusal({ ...valid, notifyUrl: 'file:///etc/passwd' })).toEqual({ field: 'notifyUrl', message: expect.stringContaining('http(s) URL') });
  });
});
