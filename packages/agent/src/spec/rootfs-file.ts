import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { join, posix } from 'node:path';

/** Maximum size of an account file read from an image; real ones are a few KiB. */
export const MAX_ROOTFS_FILE_BYTES = 1024 * 1024;
/** Symlinks followed while resolving one path, as Linux's own limit (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * Resolves `path` inside `root` as if `root` were `/`: symlinks are followed with absolute targets
 * taken relative to `root`, and `..` never climbs above it, so a hostile image cannot make the
 * agent read host files. Returns the host path, or undefined when a component does not exist.
 * Throws when symlinks loop.
 */
export function resolveInRoot(root: string, path: string): string | undefined {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const resolved: string[] = [];
  let followed = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const hostPath = join(root, ...resolved, part);
    let stat;
    try {
      stat = lstatSync(hostPath);
    } catch {
      return undefined;
    }
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++followed > MAX_SYMLINKS) throw new Error(`too many symbolic links resolving ${path} inside ${root}`);
    const target = readlinkSync(hostPath);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...resolved);
}

/**
 * Reads a regular file inside `root` safely (see resolveInRoot). Returns undefined when the file
 * does not exist. Throws when it is not a regular file or is larger than MAX_ROOTFS_FILE_BYTES.
 */
export function readRootfsFile(root: string, path: string): string | undefined {
  const hostPath = resolveInRoot(root, path);
  if (hostPath === undefined) return undefined;
  // O_NOFOLLOW closes the gap between resolving and opening if the last component is swapped.
  const fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${path} in the image is not a regular file`);
    if (stat.size > MAX_ROOTFS_FILE_BYTES) throw new Error(`${path} in the image is ${stat.size} bytes, above the ${MAX_ROOTFS_FILE_BYTES}-byte limit`);
    const buffer = Buffer.alloc(stat.size);
    let offset = 0;
    while (offset < stat.size) {
      const read = readSync(fd, buffer, offset, stat.size - offset, offset);
      if (read === 0) break;
      offset += read;
    }
    return buffer.subarray(0, offset).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
