import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { commandFailedWith, runHostCommand, runInNetns } from './command';

/**
 * Creates a persistent network namespace bound at `path`, the way `ip netns add` does under
 * /run/netns but at a path Berth chooses: `unshare --net=FILE` bind-mounts the new namespace
 * onto an empty file, so it outlives the unshare process. Loopback is brought up, because a new
 * namespace starts with `lo` down. Throws NetworkCommandError when unshare or ip fails.
 */
export async function createNetns(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  closeSync(openSync(path, 'a', 0o444));
  await runHostCommand('unshare', [`--net=${path}`, '--', 'true']);
  await runInNetns(path, 'ip', ['link', 'set', 'dev', 'lo', 'up']);
}

/**
 * Unbinds and deletes a namespace file. The kernel frees the namespace, with the veth ends inside
 * it, once no process runs in it. Unmounting repeats because a crash during a retried create can
 * stack two binds on one file. A missing file is fine.
 */
export async function removeNetns(path: string): Promise<void> {
  while (isMountPoint(path)) {
    try {
      await runHostCommand('umount', [path]);
    } catch (error) {
      if (!commandFailedWith(error, 'not mounted')) throw error;
    }
  }
  rmSync(path, { force: true });
}

/** Lists the file names in a namespace directory; a missing directory lists as empty. */
export function listNetnsFiles(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Returns whether `path` is a mount point in the caller's mount namespace. */
export function isMountPoint(path: string): boolean {
  const target = resolve(path);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint !== undefined && unescapeMountinfo(mountPoint) === target) return true;
  }
  return false;
}

/** mountinfo escapes space, tab, newline and backslash as three-digit octal (`\040`). */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
