// The emulator's state file (emulator/persist.ts): a second emulator started on the file of a first one
// that was never stopped (a kill) answers the same vault, checkpoint and backups, keeps the resource
// bindings, and hands out ids the first one never did.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index';
import { server, SERVER_A, SERVER_B, vaultBody } from './helpers';
import { officialClient, sdkFailure } from './sdk';

const emulators: Emulator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function emulator(stateFile: string): Promise<Emulator> {
  const emu = await startEmulator({ stateFile, timing: { checkpointMs: [100, 200] } });
  emulators.push(emu);
  return emu;
}

describe('emulator state file', () => {
  it('survives a kill: same records, same bindings, no id handed out twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbr-emulator-state-'));
    dirs.push(dir);
    const file = join(dir, 'state.json');
    const first = await emulator(file);
    const sdk1 = officialClient(first.url);
    const vault = (await sdk1.createVault(vaultBody('persisted', { resources: [server(SERVER_A)] }))).body.vault as { id: string };
    const cp = (await sdk1.createCheckpoint({ checkpoint: { vault_id: vault.id } })).body.checkpoint as { id: string };
    let status = '';
    for (let i = 0; i < 50 && status !== 'available'; i++) {
      await sleep(50);
      status = ((await sdk1.showCheckpoint(cp.id)).body.checkpoint as { status: string }).status;
    }
    expect(status).toBe('available');
    const backups1 = (await sdk1.listBackups({ checkpoint_id: cp.id })).body;

    // The first emulator is not stopped: what is on disk is what its answers left there.
    const second = await emulator(file);
    const sdk2 = officialClient(second.url);
    expect((await sdk2.showVault(vault.id)).body).toEqual((await sdk1.showVault(vault.id)).body);
    expect((await sdk2.showCheckpoint(cp.id)).body).toEqual((await sdk1.showCheckpoint(cp.id)).body);
    expect((await sdk2.listBackups({ checkpoint_id: cp.id })).body).toEqual(backups1);
    expect((await sdkFailure(sdk2.createVault(vaultBody('again', { resources: [server(SERVER_A)] })))).errorCode).toBe('BackupService.6103');

    const known = new Set([vault.id, cp.id, ...((backups1.backups as Array<{ id: string }>).map((b) => b.id))]);
    const other = (await sdk2.createVault(vaultBody('other', { resources: [server(SERVER_B)] }))).body.vault as { id: string };
    expect(known.has(other.id)).toBe(false);
  });

  it('refuses a file it cannot read, saying what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbr-emulator-state-'));
    dirs.push(dir);
    const file = join(dir, 'state.json');
    writeFileSync(file, '{"format":"something-else"}');
    await expect(startEmulator({ stateFile: file })).rejects.toThrow(/not an emulator state .*--reset/);
    expect(readFileSync(file, 'utf8')).toBe('{"format":"something-else"}');
  });
});
