import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '@berth/testkit';

/** The attributes a tree comparison checks for one path: type, mode, owner, link target, content digest. */
export interface TreeEntry {
  type: string;
  mode: string;
  owner: string;
  detail: string;
}

/** Describes every path under `root` (the root itself as `.`), without following symlinks. */
export function describeTree(root: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  const visit = (relative: string) => {
    const path = relative === '.' ? root : join(root, relative);
    const stat = lstatSync(path);
    const entry: TreeEntry = {
      type: typeName(stat.mode),
      mode: (stat.mode & 0o7777).toString(8),
      owner: `${stat.uid}:${stat.gid}`,
      detail: '',
    };
    if (stat.isSymbolicLink()) {
      entry.mode = '';
      entry.detail = readlinkSync(path);
    } else if (stat.isFile()) {
      entry.detail = createHash('sha256').update(readFileSync(path)).digest('hex');
    } else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
      entry.detail = `rdev ${stat.rdev}`;
    }
    entries.set(relative, entry);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(relative === '.' ? name : `${relative}/${name}`);
    }
  };
  visit('.');
  return entries;
}

/**
 * Maps every path under `root` that carries `security.capability` to the value in hex, read with
 * getfattr (Debian package attr) without following symlinks. Node's fs cannot read xattrs.
 */
export async function describeCapabilities(root: string): Promise<Map<string, string>> {
  const { stdout } = await runCommand('getfattr', ['--recursive', '--physical', '--no-dereference', '--dump', '--match=^security\\.capability$', '--encoding=hex', '.'], { cwd: root });
  const values = new Map<string, string>();
  let path: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) path = line.slice('# file: '.length).replace(/^\.\//, '');
    else if (line.startsWith('security.capability=') && path !== undefined) values.set(path, line.slice('security.capability='.length));
  }
  return new Map([...values].sort(([a], [b]) => a.localeCompare(b)));
}

/** Lists the differences between two described trees, one line per path; empty when equal. */
export function diffTrees(expected: Map<string, TreeEntry>, actual: Map<string, TreeEntry>): string[] {
  const lines: string[] = [];
  for (const [path, entry] of expected) {
    const other = actual.get(path);
    if (!other) lines.push(`missing: ${path} (${entry.type})`);
    else if (JSON.stringify(entry) !== JSON.stringify(other)) lines.push(`differs: ${path} expected ${JSON.stringify(entry)} got ${JSON.stringify(other)}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) lines.push(`unexpected: ${path} (${actual.get(path)!.type})`);
  return lines;
}

function typeName(mode: number): string {
  switch (mode & 0o170000) {
    case 0o040000: return 'dir';
    case 0o100000: return 'file';
    case 0o120000: return 'symlink';
    case 0o020000: return 'char';
    case 0o060000: return 'block';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return 'unknown';
  }
}
