// `npm run emulator` (tsx emulator/cli.ts): prints its URL and the demo credentials, serves signed
// requests, stops cleanly on SIGTERM, and rejects bad options with a message naming the problem.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEMO } from '../../emulator/index';
import { raw } from './helpers';

function cli(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', 'emulator/cli.ts', ...args], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('emulator CLI', () => {
  it('prints URL and credentials, serves, exits 0 on SIGTERM', async () => {
    const child = cli(['--port', '0', '--admin', '--seed', '7', '--checkpoint-ms', '1000-2000', '--quirk', 'listVaultNameMatch=exact']);
    const lines: string[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line);
      if (line.includes('Ctrl-C')) break;
    }
    const text = lines.join('\n');
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    expect(url).toBeDefined();
    expect(text).toMatch(/admin API on http:\/\/127\.0\.0\.1:\d+/);
    for (const s of [DEMO.ak, DEMO.sk, DEMO.projectId, DEMO.peerProjectId, DEMO.user.name, DEMO.user.password, DEMO.servers[0].id]) expect(text).toContain(s);
    expect(text).toContain('seed 7, backups take [1000,2000] ms');
    const r = await raw(url!, { path: `/v3/${DEMO.projectId}/vaults`, sign: {} });
    expect(r.status).toBe(200);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('bad options exit 2 naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-cli-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ timing: { checkpointMs: -5 } }));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const [args, pattern] of [
      [['--config', file], /timing\.checkpointMs/],
      [['--checkpoint-ms', 'soon'], /--checkpoint-ms/],
      [['--quirk', 'concurrentBackup=maybe'], /quirks\.concurrentBackup/],
    ] as const) {
      const child = cli([...args]);
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = await once(child, 'exit');
      expect(code).toBe(2);
      expect(err).toMatch(pattern);
    }
  });
});
