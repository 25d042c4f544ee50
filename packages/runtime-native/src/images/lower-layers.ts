import { BigIntStats, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { HostileLayerError } from './errors';

/** Symlinks followed while resolving one path before it counts as a loop, as Linux's MAXSYMLINKS. */
export const MAX_SYMLINK_HOPS = 40;

/** One path as the stacked lower snapshots show it. */
export type LowerEntry =
  | { kind: 'dir'; stat: BigIntStats }
  | { kind: 'symlink'; target: string }
  | { kind: 'other' }
  | { kind: 'absent' };

/**
 * One path as the layer being applied shows it: a symlink of its own, an entry that hides
 * whatever the lower layers have there, or nothing of its own so the lower layers show through.
 */
export type UpperEntry = { kind: 'symlink'; target: string } | { kind: 'hides' } | { kind: 'transparent' };

/**
 * Looks up `path` in the lower snapshots (topmost first) the way overlayfs stacks them: the
 * topmost layer that has the path decides. A whiteout (char 0:0) or a non-directory on the way
 * hides the path in every layer below. Components are checked with lstat, so no symlink in a lower
 * snapshot leads the lookup outside it.
 * NOTE: opaque directories of lower layers (`trusted.overlay.opaque`) are not read, because Node
 * cannot read xattrs. A path that a lower opaque directory hides is still found in deeper layers.
 */
export async function lookupLower(path: string, lowerRoots: string[]): Promise<LowerEntry> {
  const parts = path === '' ? [] : path.split('/');
  for (const root of lowerRoots) {
    let stat = await fsp.lstat(root, { bigint: true });
    let current = root;
    let found = true;
    for (const [index, part] of parts.entries()) {
      current = join(current, part);
      const next = await lstatOrUndefined(current);
      if (next === undefined) {
        found = false;
        break;
      }
      stat = next;
      if (stat.isCharacterDevice() && stat.rdev === 0n) return { kind: 'absent' };
      const last = index === parts.length - 1;
      if (!last && !stat.isDirectory()) return { kind: 'absent' };
    }
    if (!found) continue;
    if (stat.isDirectory()) return { kind: 'dir', stat };
    if (stat.isSymbolicLink()) return { kind: 'symlink', target: await fsp.readlink(current) };
    return { kind: 'other' };
  }
  return { kind: 'absent' };
}

/**
 * Resolves `path` within the image, following symlinks of the layer being applied (`upper`) and of
 * the lower layers as the kernel would if the image root were `/`. An absolute target starts again
 * at the root, and `..` at the root stays there, so the result (a normalized path relative to the
 * root) never leaves it. Components that do not exist are kept as they are. Throws
 * HostileLayerError after MAX_SYMLINK_HOPS symlinks, which is how a symlink loop ends.
 */
export async function resolveInImage(
  path: string,
  upper: (candidate: string) => UpperEntry,
  lowerRoots: string[],
  where: string,
): Promise<string> {
  const pending = path.split('/').reverse();
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part].join('/');
    const target = await symlinkTarget(candidate, upper, lowerRoots);
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) {
      throw new HostileLayerError(`${where}: resolving "${path}" followed more than ${MAX_SYMLINK_HOPS} symlinks (a symlink loop)`);
    }
    if (target.startsWith('/')) resolved.length = 0;
    pending.push(...target.split('/').reverse());
  }
  return resolved.join('/');
}

async function symlinkTarget(candidate: string, upper: (candidate: string) => UpperEntry, lowerRoots: string[]): Promise<string | undefined> {
  const own = upper(candidate);
  if (own.kind === 'symlink') return own.target;
  if (own.kind === 'hides') return undefined;
  const lower = await lookupLower(candidate, lowerRoots);
  return lower.kind === 'symlink' ? lower.target : undefined;
}

async function lstatOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await fsp.lstat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}
