import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RootfsPort } from './ports';

const run = promisify(execFile);

/**
 * The mount option string must fit in one page; longer `lowerdir` lists fail with EINVAL from the
 * kernel, so the agent reports it instead.
 */
const MAX_MOUNT_OPTIONS_BYTES = 4000;

/**
 * Overlay root filesystems under `DIR/<container id>/{upper,work,merged}`, mounted with util-linux
 * `mount -t overlay`. The image's snapshot directories are read-only lower layers shared by every
 * container of that image; each container writes only to its own upper directory.
 */
export class OverlayRootfs implements RootfsPort {
  constructor(private readonly dir: string) {}

  async mount(containerId: string, layerDirs: string[]): Promise<string> {
    const base = join(this.dir, containerId);
    const merged = join(base, 'merged');
    if (isMountPoint(merged)) return merged;

    for (const name of ['upper', 'work', 'merged']) mkdirSync(join(base, name), { recursive: true, mode: 0o755 });
    if (layerDirs.length === 0) throw new Error(`cannot mount the root filesystem of ${containerId}: the image has no layers`);
    // overlayfs lists lower directories from the top down, the reverse of the manifest order.
    const lower = [...layerDirs].reverse().join(':');
    const options = `lowerdir=${lower},upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`;
    if (options.length > MAX_MOUNT_OPTIONS_BYTES) {
      throw new Error(`cannot mount the root filesystem of ${containerId}: ${layerDirs.length} layers make the overlay options ${options.length} bytes, above the kernel's one-page limit`);
    }
    try {
      await run('mount', ['-t', 'overlay', 'overlay', '-o', options, merged]);
    } catch (error) {
      throw new Error(`mount -t overlay for ${containerId} failed: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
    }
    return merged;
  }

  async remove(containerId: string): Promise<void> {
    const base = join(this.dir, containerId);
    const merged = join(base, 'merged');
    if (isMountPoint(merged)) {
      try {
        await run('umount', [merged]);
      } catch (error) {
        throw new Error(`umount ${merged} failed: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
      }
    }
    rmSync(base, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    return existsSync(this.dir) ? readdirSync(this.dir) : [];
  }
}

/** True when `path` appears as a mount point in /proc/self/mountinfo. */
export function isMountPoint(path: string): boolean {
  const escaped = path.replace(/\\/g, '\\134').replace(/ /g, '\\040').replace(/\t/g, '\\011').replace(/\n/g, '\\012');
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === escaped);
}
