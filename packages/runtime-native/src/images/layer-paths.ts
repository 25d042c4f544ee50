import { HostileLayerError } from './errors';

/**
 * Normalizes a tar entry name (or hard link target) to a path relative to the layer root: `./` and
 * empty components are dropped, `''` is the root itself. Throws HostileLayerError for absolute
 * paths, `..` components and NUL bytes; such names are refused, never cleaned into something else.
 */
export function normalizeEntryPath(name: string, where: string): string {
  if (name.includes('\0')) throw new HostileLayerError(`${where}: entry name ${JSON.stringify(name)} contains a NUL byte`);
  if (name.startsWith('/')) throw new HostileLayerError(`${where}: entry "${name}" is an absolute path`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new HostileLayerError(`${where}: entry "${name}" contains a ".." component`);
  return parts.join('/');
}

/** Returns the parent of a normalized path (`''` for top-level names). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Returns the last component of a normalized path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a normalized parent and a single component. */
export function joinEntry(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** Lists every proper ancestor of a normalized path, shallowest first (`a`, `a/b` for `a/b/c`). */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  const ancestors: string[] = [];
  for (let index = 1; index < parts.length; index++) ancestors.push(parts.slice(0, index).join('/'));
  return ancestors;
}

/** Reports whether `path` is `prefix` or lies beneath it. */
export function isWithin(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}
