/**
 * The data-folder lock (local/runtime.ts dataDirHolder): a live holder keeps the folder; a killed holder
 * that its parent has not reaped yet (a zombie), a pid now used by another process, or a gone process
 * does not, so a restart right after `kill -9` is not refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirHolder } from '../../local/runtime';

const dir = mkdtempSync(join(tmpdir(), 'cbr-flow-lock-'));
const lock = join(dir, 'runtime.lock');
const pids: number[] = [];
afterAll(() => {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  rmSync(dir, { recursive: true, force: true });
});

const startTicks = (pid: number): string => {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
};
const state = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.charAt(0);

describe.skipIf(process.platform !== 'linux')('data-folder lock', () => {
  it('a live holder holds it; the same pid with another start time (a reused pid) does not', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    pids.push(child.pid!);
    await sleep(50);
    writeFileSync(lock, `${child.pid} ${startTicks(child.pid!)}`);
    expect(dataDirHolder(dir)).toBe(child.pid);
    writeFileSync(lock, `${child.pid} 1`);
    expect(dataDirHolder(dir)).toBeUndefined();
    writeFileSync(lock, String(child.pid)); // a lock of an older version: the pid alone
    expect(dataDirHolder(dir)).toBe(child.pid);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(dataDirHolder(dir)).toBeUndefined();
  });

  it('a killed holder its parent has not reaped (a zombie) does not hold it', async () => {
    // `sleep 60 &` then `exec sleep 120`: the background sleep's parent never waits for it.
    const parent = spawn('bash', ['-c', 'sleep 60 & echo $!; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
    pids.push(parent.pid!);
    const holder = await new Promise<number>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
    // Until bash has become `sleep 120` it would reap the killed child itself.
    for (let i = 0; i < 100 && readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await sleep(20);
    writeFileSync(lock, `${holder} ${startTicks(holder)}`);
    expect(dataDirHolder(dir)).toBe(holder);
    process.kill(holder, 'SIGKILL');
    for (let i = 0; i < 50 && state(holder) !== 'Z'; i++) await sleep(20);
    expect(state(holder)).toBe('Z');
    expect(() => process.kill(holder, 0)).not.toThrow(); // still "alive" to kill(0): what the old lock saw
    expect(dataDirHolder(dir)).toBeUndefined();
  });
});
