/**
 * The file system that a benchmark keeps its trees on. By default it is a new ext4 file system,
 * made with mkfs.ext4's defaults in a sparse file and mounted from a loop device with direct I/O.
 * It can also be a directory that the user names. This module also reports the type of a file
 * system and whether it has a journal.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, statSync, statfsSync, truncateSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { execCommand, makeTempDir, runCommand } from '@berth/testkit';

/** Minimum size of the sparse file behind the benchmark's own file system. Only written blocks take space. */
export const MIN_LOOP_FILESYSTEM_BYTES = 8 * 1024 ** 3;
const GIB = 1024 ** 3;

/** Type, device and journal of the file system that contains a directory. */
export interface FilesystemInfo {
  type: string;
  /** Mount source, e.g. `/dev/vda` or `/dev/loop1`. */
  source: string;
  mountPoint: string;
  /** Whether an ext2/3/4 file system has a journal, or null when the type has no such flag or it could not be read. */
  journal: boolean | null;
  /** Reason that `journal` is null. */
  journalUnknownReason?: string;
  /** Size of the sparse file when the benchmark made this file system, else null. */
  loopFileBytes: number | null;
}

/** A directory on the file system that the benchmark runs on, and how to remove it again. */
export interface BenchFilesystem {
  /** An empty directory for all of the benchmark's trees. */
  root: string;
  info: FilesystemInfo;
  /** Directory of the sparse file behind the benchmark's own file system, whose space it takes as it fills, or null for --dir. */
  backingDir: string | null;
  /**
   * Removes `root`. For the benchmark's own file system it also unmounts it, detaches its loop
   * device and removes the sparse file. Throws naming the failed command and the manual cleanup.
   */
  remove(): Promise<void>;
  /**
   * Removes the same as `remove` at once, for a second interrupt while work still runs. The
   * unmount is lazy, so the kernel detaches the file system while files on it are still open.
   */
  removeNow(): void;
}

/**
 * Makes an ext4 file system with mkfs.ext4's defaults (a journal among them) in a sparse file of
 * `sizeBytes` under a new temporary directory and mounts it from a loop device with direct I/O. Throws when mkfs.ext4 or mount
 * fails, after removing what it made.
 */
export async function createLoopFilesystem(sizeBytes: number): Promise<BenchFilesystem> {
  const dir = makeTempDir('bench-fs');
  const image = join(dir, 'ext4.img');
  const mountPoint = join(dir, 'mnt');
  const removeNow = () => removeLoopFilesystemNow(dir, image, mountPoint);
  try {
    closeSync(openSync(image, 'wx'));
    truncateSync(image, sizeBytes);
    await runCommand('mkfs.ext4', ['-q', image]);
    mkdirSync(mountPoint);
    // Direct I/O keeps the loop device from caching every block a second time in the page cache of
    // its backing file. With that second copy, each run touched twice the memory it wrote, and on
    // this VM memory the guest has not written recently costs a trap to the hypervisor.
    const device = (await runCommand('losetup', ['--find', '--show', '--direct-io=on', image])).stdout.trim();
    await runCommand('mount', [device, mountPoint]);
    const root = join(mountPoint, 'bench');
    mkdirSync(root);
    const info = { ...(await describeFilesystem(root)), loopFileBytes: sizeBytes };
    return { root, info, backingDir: dir, remove: () => removeLoopFilesystem(dir, image, mountPoint), removeNow };
  } catch (error) {
    removeNow();
    throw error;
  }
}

/** Makes a new directory under `path`, an existing directory. Throws when `path` is not one. */
export async function useExistingDirectory(path: string): Promise<BenchFilesystem> {
  const parent = resolve(path);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw new Error(`--dir ${path} is not an existing directory; create it or name another one`);
  }
  const root = mkdtempSync(join(parent, 'berth-bench-'));
  const removeNow = () => rmSync(root, { recursive: true, force: true });
  return { root, info: await describeFilesystem(root), backingDir: null, remove: async () => removeNow(), removeNow };
}

/** Finds the file system that contains `dir` with findmnt and reads whether it has a journal. */
export async function describeFilesystem(dir: string): Promise<FilesystemInfo> {
  const found = await runCommand('findmnt', ['--noheadings', '--output', 'SOURCE,FSTYPE,TARGET', '--target', dir]);
  const [source = '', type = '', mountPoint = ''] = found.stdout.trim().split(/\s+/);
  const base = { type, source, mountPoint, loopFileBytes: null };
  if (!/^ext[234]$/.test(type)) {
    return { ...base, journal: null, journalUnknownReason: `not checked for ${type || 'an unknown type'}` };
  }
  return { ...base, ...(await readExtJournal(source)) };
}

/**
 * Reads the journal flag of an ext2/3/4 file system. sysfs comes first because reading the block
 * device with dumpe2fs needs a permission that containers and some VMs withhold.
 */
async function readExtJournal(source: string): Promise<Pick<FilesystemInfo, 'journal' | 'journalUnknownReason'>> {
  if (source.startsWith('/dev/') && existsSync(source)) {
    // The kernel shows `<none>` here for a file system without a journal, else the jbd2 thread's PID.
    const taskFile = `/sys/fs/ext4/${basename(realpathSync(source))}/journal_task`;
    if (existsSync(taskFile)) return { journal: readFileSync(taskFile, 'utf8').trim() !== '<none>' };
  }
  const dumped = await execCommand('dumpe2fs', ['-h', source]);
  const features = /^Filesystem features:\s*(.*)$/m.exec(dumped.stdout);
  if (dumped.code !== 0 || !features) {
    return { journal: null, journalUnknownReason: `dumpe2fs -h ${source} failed: ${dumped.stderr.trim() || `exit ${dumped.code}`}` };
  }
  return { journal: features[1]!.split(/\s+/).includes('has_journal') };
}

/** Formats the file system for the benchmark's header, e.g. `ext4 with a journal on /dev/loop1 (...)`. */
export function formatFilesystem(info: FilesystemInfo): string {
  let journal = `journal unknown: ${info.journalUnknownReason}`;
  if (info.journal !== null) journal = info.journal ? 'with a journal' : 'without a journal';
  const origin = info.loopFileBytes === null
    ? `mounted at ${info.mountPoint}`
    : `a sparse file of ${(info.loopFileBytes / GIB).toFixed(0)} GiB made by mkfs.ext4 with its defaults, on a loop device with direct I/O, mounted at ${info.mountPoint}`;
  return `${info.type} ${journal} on ${info.source} (${origin})`;
}

/**
 * Throws when the file system of `dir` has less than `neededBytes` available, naming both sizes,
 * the `purpose` of the space and the options that reduce it.
 */
export function checkFreeSpace(dir: string, neededBytes: number, purpose: string): void {
  const stats = statfsSync(dir);
  const availableBytes = stats.bavail * stats.bsize;
  if (availableBytes < neededBytes) {
    throw new Error(
      `${purpose} needs about ${(neededBytes / GIB).toFixed(1)} GiB on the file system of ${dir}, but ${(availableBytes / GIB).toFixed(1)} GiB ` +
      'is available; use fewer --runs, or --dir on a larger file system',
    );
  }
}

async function removeLoopFilesystem(dir: string, image: string, mountPoint: string): Promise<void> {
  const manual = `unmount it with "umount -l ${mountPoint}", detach its loop device ("losetup -j ${image}" lists it) and remove ${dir}`;
  try {
    if (await isMountPoint(mountPoint)) await runCommand('umount', [mountPoint]);
    for (const device of await loopDevicesOf(image)) await runCommand('losetup', ['--detach', device]);
  } catch (error) {
    throw new Error(`could not remove the benchmark's file system: ${(error as Error).message}; ${manual}`);
  }
  rmSync(dir, { recursive: true, force: true });
}

function removeLoopFilesystemNow(dir: string, image: string, mountPoint: string): void {
  if (spawnSync('mountpoint', ['-q', mountPoint]).status === 0) spawnSync('umount', ['--lazy', mountPoint]);
  // After a lazy unmount, detaching only marks a busy device for autoclear when its last user closes it.
  for (const device of listLoopDevices(spawnSync('losetup', ['--noheadings', '--output', 'NAME', '--associated', image], { encoding: 'utf8' }).stdout)) {
    spawnSync('losetup', ['--detach', device]);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function isMountPoint(path: string): Promise<boolean> {
  return (await execCommand('mountpoint', ['-q', path])).code === 0;
}

/** Lists the loop devices whose backing file is `image`, which stay attached after the unmount. */
async function loopDevicesOf(image: string): Promise<string[]> {
  if (!existsSync(image)) return [];
  const listed = await runCommand('losetup', ['--noheadings', '--output', 'NAME', '--associated', image]);
  return listLoopDevices(listed.stdout);
}

function listLoopDevices(output: string | null | undefined): string[] {
  return (output ?? '').split('\n').map((line) => line.trim()).filter((line) => line.startsWith('/dev/'));
}
