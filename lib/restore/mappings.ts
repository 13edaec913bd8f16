/**
 * Which disk backup goes onto which disk of the target (RestoreBackup's `mappings`). Pure.
 *
 * The backup's side is ShowBackup's `children` (one disk backup per disk, `resource_size` GB,
 * `extend_info.bootable` / `system_disk` marking the system disk). The target's side is read through CBR
 * itself, so cbr-flow needs no ECS/EVS permission: ListProtectable(disk, server_id=<target>) lists the
 * disks attached to the server with their `size`, and ShowProtectable(server)'s `detail` is the raw ECS
 * object whose `os-extended-volumes:volumes_attached` gives each disk's `bootIndex` ("0" = system disk),
 * as in the recorded ListProtectable answers (cbr-recordings c7n/56d90e13a2e8). A disk protectable's
 * `detail.bootable` ("true") is used when the server detail lacks it.
 *
 * Rule: the system-disk backup onto the target's system disk; the data-disk backups, largest first, onto
 * the target's data disks, largest first. Every disk backup needs a disk at least its size (CBR 2001),
 * a data-disk backup never lands on the system disk (CBR 2013), and the target needs at least as many
 * disks. Anything else is refused before RestoreBackup is called, naming the disks and sizes.
 */
import type { RestoreMapping } from './record';

export interface DiskBackup {
  id: string;
  name?: string | undefined;
  sizeGb: number;
  system: boolean;
}
export interface TargetDisk {
  id: string;
  name?: string | undefined;
  sizeGb: number;
  system: boolean;
}

export type MappingResult = { ok: true; mappings: RestoreMapping[] } | { ok: false; code: 'DISK_COUNT' | 'DISK_TOO_SMALL' | 'NO_SYSTEM_DISK'; message: string };

const bySizeDesc = <T extends { sizeGb: number; id: string }>(a: T, b: T) => b.sizeGb - a.sizeGb || a.id.localeCompare(b.id);

export function mapDisks(backups: ReadonlyArray<DiskBackup>, disks: ReadonlyArray<TargetDisk>, targetServerId: string): MappingResult {
  if (disks.length < backups.length) {
    return { ok: false, code: 'DISK_COUNT', message: `the backup has ${backups.length} disk(s) but server ${targetServerId} has ${disks.length}: each disk backup needs a disk of its own` };
  }
  const out: RestoreMapping[] = [];
  const free = [...disks];
  const take = (b: DiskBackup, d: TargetDisk): MappingResult | undefined => {
    if (d.sizeGb < b.sizeGb) {
      return { ok: false, code: 'DISK_TOO_SMALL', message: `disk backup ${b.id}${b.name ? ` (${b.name})` : ''} is ${b.sizeGb} GB but its target disk ${d.id}${d.name ? ` (${d.name})` : ''} on server ${targetServerId} is only ${d.sizeGb} GB` };
    }
    free.splice(free.indexOf(d), 1);
    out.push({ backupId: b.id, volumeId: d.id, sizeGb: b.sizeGb, targetSizeGb: d.sizeGb, systemDisk: b.system });
    return undefined;
  };
  const sys = backups.filter((b) => b.system);
  for (const b of sys) {
    const d = free.find((x) => x.system);
    if (!d) return { ok: false, code: 'NO_SYSTEM_DISK', message: `disk backup ${b.id} is a system disk but server ${targetServerId} has no free system disk to restore it onto` };
    const refused = take(b, d);
    if (refused) return refused;
  }
  const data = backups.filter((b) => !b.system).sort(bySizeDesc);
  const dataDisks = free.filter((d) => !d.system).sort(bySizeDesc);
  if (dataDisks.length < data.length) {
    return { ok: false, code: 'DISK_COUNT', message: `the backup has ${data.length} data disk(s) but server ${targetServerId} has ${dataDisks.length} (a data-disk backup cannot go onto a system disk)` };
  }
  for (const [i, b] of data.entries()) {
    const refused = take(b, dataDisks[i]!);
    if (refused) return refused;
  }
  return { ok: true, mappings: out };
}
