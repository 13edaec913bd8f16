/**
 * The crash-point seam (PipelineDeps.crashPoint) is a test-only hook: the production wiring never sets
 * it. Checked on the wiring the deployed functions import (lib/wiring/runtime*.ts, loaded with a
 * handler environment) and on the source: nothing outside test/ assigns it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

describe('the crash-point seam is off in production', () => {
  it('the deployed wiring (runtime.ts / runtime-cbr.ts) leaves crashPoint unset', async () => {
    Object.assign(process.env, {
      // The local stage only changes where credentials come from (inline, so nothing is fetched
      // over the network here); the deps object is built by the same code for every stage.
      STAGE: 'local',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'unused',
      AWS_SECRET_ACCESS_KEY: 'unused',
      TABLE_NAME: 'cbr-flow-prod-runs',
      INTAKE_QUEUE_URL: 'http://127.0.0.1:9/000000000000/intake',
      VAULT_QUEUE_URL: 'http://127.0.0.1:9/000000000000/vault',
      RESOURCES_QUEUE_URL: 'http://127.0.0.1:9/000000000000/resources',
      CHECKPOINT_QUEUE_URL: 'http://127.0.0.1:9/000000000000/checkpoint',
      SHARE_QUEUE_URL: 'http://127.0.0.1:9/000000000000/share',
      EVENTS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/events',
      CBR_CREDENTIALS_JSON: JSON.stringify({ type: 'aksk', ak: 'unused-ak', sk: 'unused-sk' }),
      WEBHOOK_KEYS_JSON: JSON.stringify([`whsec_${Buffer.from('crash seam test key, 32 bytes!!').toString('base64')}`]),
      LOG_LEVEL: 'silent',
    });
    const { intakeDeps } = await import('../../lib/wiring/runtime');
    const { pipelineDeps } = await import('../../lib/wiring/runtime-cbr');
    expect(intakeDeps.crashPoint).toBeUndefined();
    expect(pipelineDeps.crashPoint).toBeUndefined();
    expect('crashPoint' in intakeDeps).toBe(false);
    expect('crashPoint' in pipelineDeps).toBe(false);
  });

  it('no production source assigns a crash hook (only calls it, optionally)', () => {
    const offenders: string[] = [];
    let calls = 0;
    for (const dir of ['lib', 'functions', 'local', 'scripts', 'bin']) {
      let files: string[] = [];
      try {
        files = sourceFiles(join(root, dir));
      } catch {
        continue; // folder not there (yet)
      }
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        calls += (text.match(/deps\.crashPoint\?\.\(/g) ?? []).length;
        const lines = text.split('\n');
        lines.forEach((line, i) => {
          if (/crashPoint\s*[:=](?!=)/.test(line) && !/crashPoint\?:\s*\(/.test(line)) offenders.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(13); // the seam is really wired into the steps
  });
});
