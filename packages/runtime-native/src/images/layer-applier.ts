import {
  chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync,
  BigIntStats, openSync, promises as fsp, symlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Header } from 'tar-stream';
import { HostileLayerError, InternalImageError, NotSupportedError } from './errors';
import { LayerHelperOp, runLayerHelper } from './layer-helper';
import { PaxRecords } from './pax-records';
import { ancestorsOf, baseName, isWithin, joinEntry, normalizeEntryPath, parentOf } from './layer-paths';

/** Default cap on entries in one layer; a layer past it is rejected as a likely bomb. */
export const DEFAULT_MAX_LAYER_ENTRIES = 2_000_000;
/** Files up to this size are read whole and written with one call; larger ones are streamed. */
const SMALL_FILE_BYTES = 1024 * 1024;
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Options for applying one layer into an empty snapshot directory. */
export interface LayerApplyOptions {
  /** The snapshot's root directory: empty, private, written only by this applier. */
  root: string;
  /** Create character and block devices; otherwise a layer carrying one is rejected. */
  allowDevices?: boolean;
  maxEntries?: number;
  /** Names the layer in error messages, e.g. `layer sha256:… of 127.0.0.1:5000/app:1`. */
  where: string;
  helperPath?: string;
}

/** The data of one tar entry; tar-stream's entry streams are async iterables of buffers. */
export type EntryData = AsyncIterable<Buffer>;

type EntryKind = 'dir' | 'file' | 'symlink' | 'node' | 'whiteout';

interface Times {
  seconds: number;
  nanoseconds: number;
}

/**
 * Applies the entries of one layer tar into a fresh snapshot directory in the form overlayfs reads:
 * whiteouts become character devices 0:0, opaque markers the `trusted.overlay.opaque` xattr.
 *
 * Safety: every entry's parents are checked against `kinds`, the record of what this applier has
 * created. The snapshot starts empty and only this applier writes it, so that record is the tree,
 * and a parent recorded as anything but a directory (a symlink in particular) rejects the entry.
 * Files are opened with O_CREAT|O_EXCL|O_NOFOLLOW and metadata goes through the file descriptor or
 * lchown/lutimes; operations Node lacks run in the berth-layer helper, which walks parents with
 * O_NOFOLLOW. NOTE: Node has no openat, so the paths passed to fs calls are full paths. They are
 * safe because of the record above, not because the kernel resolves them beneath the root.
 */
export class LayerApplier {
  private readonly kinds = new Map<string, EntryKind>([['', 'dir']]);
  private readonly implicitDirs = new Set<string>(['']);
  private readonly dirTimes = new Map<string, Times>();
  private ops: LayerHelperOp[] = [];
  private entryCount = 0;

  constructor(private readonly options: LayerApplyOptions) {}

  /**
   * Applies one tar entry, consuming its data stream. `paxRecords` are the entry's PAX records as
   * raw bytes (see PaxCapture); xattr values come from them. Throws HostileLayerError for a refused
   * entry.
   */
  async apply(header: Header, stream: EntryData, paxRecords?: PaxRecords): Promise<void> {
    const where = this.options.where;
    if (++this.entryCount > (this.options.maxEntries ?? DEFAULT_MAX_LAYER_ENTRIES)) {
      throw new HostileLayerError(`${where}: more than ${this.options.maxEntries ?? DEFAULT_MAX_LAYER_ENTRIES} entries`);
    }
    const path = normalizeEntryPath(header.name, where);
    if (baseName(path).startsWith(WHITEOUT_PREFIX)) {
      await drain(stream);
      await this.applyWhiteout(path);
      return;
    }
    if (path === '') {
      await drain(stream);
      await this.applyRootEntry(header);
      return;
    }

    const pax = header.pax as Record<string, string> | null | undefined;
    if (pax && Object.keys(pax).some((key) => key.startsWith('GNU.sparse.'))) {
      // The data of a PAX sparse entry is a sparse map plus fragments; written as is it would be garbage.
      throw new NotSupportedError(`${where}: entry "${path}" is a sparse file, which this extractor does not support`);
    }
    await this.ensureParents(path);
    const replacedWhiteout = await this.clearForEntry(path, header);
    await this.createEntry(path, header, stream);
    if (replacedWhiteout && header.type === 'directory') this.queueOpaque(path);
    this.queueXattrs(path, header, paxRecords);
  }

  /**
   * Completes the snapshot once every entry is applied: directories this layer created only as
   * parents take their metadata from the layers below (`lowerRoots`, topmost first), the helper
   * creates whiteouts, nodes and xattrs, and directory times are set last, deepest first.
   */
  async finish(lowerRoots: string[]): Promise<void> {
    for (const dir of this.implicitDirs) await this.inheritDirectory(dir, lowerRoots);
    await runLayerHelper(this.options.root, this.ops, this.options.helperPath);

    const dirs = [...this.dirTimes.keys()].sort((a, b) => depth(b) - depth(a));
    for (const dir of dirs) {
      const times = this.dirTimes.get(dir)!;
      const seconds = times.seconds + times.nanoseconds / 1e9;
      await fsp.lutimes(this.abs(dir), seconds, seconds);
    }
  }

  private abs(path: string): string {
    return path === '' ? this.options.root : join(this.options.root, path);
  }

  private async applyWhiteout(path: string): Promise<void> {
    const where = this.options.where;
    const name = baseName(path);
    const parent = parentOf(path);
    if (name === OPAQUE_MARKER) {
      if (parent === '') throw new NotSupportedError(`${where}: an opaque marker at the layer root is not supported`);
      await this.ensureParents(path);
      this.queueOpaque(parent);
      return;
    }
    // Other `.wh..wh.` names are aufs bookkeeping (hard link directories), not deletions.
    if (name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;

    const target = name.slice(WHITEOUT_PREFIX.length);
    if (target === '' || target === '.' || target === '..') {
      throw new HostileLayerError(`${where}: whiteout "${path}" names "${target}", which is not a deletable entry`);
    }
    const targetPath = joinEntry(parent, target);
    await this.ensureParents(targetPath);
    // A whiteout deletes only what lower layers hold; this layer's own entry under that name stays.
    if (this.kinds.has(targetPath)) return;
    this.kinds.set(targetPath, 'whiteout');
    this.ops.push({ op: 'whiteout', path: targetPath });
  }

  private async applyRootEntry(header: Header): Promise<void> {
    if (header.type !== 'directory') {
      throw new HostileLayerError(`${this.options.where}: a ${header.type} entry names the layer root itself; only a directory may`);
    }
    this.implicitDirs.delete('');
    await this.setOwnerAndMode('', header);
    this.dirTimes.set('', entryTimes(header));
  }

  /** Makes sure every ancestor of `path` is a directory, creating missing ones as implicit parents. */
  private async ensureParents(path: string): Promise<void> {
    for (const ancestor of ancestorsOf(path)) {
      const kind = this.kinds.get(ancestor);
      if (kind === 'dir') continue;
      if (kind === 'symlink') {
        throw new HostileLayerError(`${this.options.where}: entry "${path}" passes through "${ancestor}", a symlink created by this layer`);
      }
      if (kind === 'whiteout') {
        // A path below a deleted one: the directory is recreated and hides the lower one entirely.
        this.dropOps(ancestor);
        this.queueOpaque(ancestor);
      } else if (kind !== undefined) {
        throw new HostileLayerError(`${this.options.where}: entry "${path}" needs "${ancestor}" to be a directory, but this layer made it a ${kind}`);
      }
      mkdirSync(this.abs(ancestor), { mode: 0o755 });
      this.kinds.set(ancestor, 'dir');
      this.implicitDirs.add(ancestor);
    }
  }

  /** Removes whatever this layer put at `path` unless a directory meets a directory. */
  private async clearForEntry(path: string, header: Header): Promise<boolean> {
    const existing = this.kinds.get(path);
    if (existing === undefined) return false;
    if (existing === 'dir' && header.type === 'directory') return false;
    this.dropOps(path);
    for (const key of [...this.kinds.keys()]) if (isWithin(key, path)) this.kinds.delete(key);
    for (const key of [...this.dirTimes.keys()]) if (isWithin(key, path)) this.dirTimes.delete(key);
    for (const key of [...this.implicitDirs]) if (isWithin(key, path)) this.implicitDirs.delete(key);
    if (existing !== 'whiteout') await fsp.rm(this.abs(path), { recursive: true, force: true });
    return existing === 'whiteout';
  }

  private dropOps(path: string): void {
    this.ops = this.ops.filter((op) => !isWithin(op.path, path));
  }

  private async createEntry(path: string, header: Header, stream: EntryData): Promise<void> {
    const where = this.options.where;
    switch (header.type) {
      case 'directory':
        await drain(stream);
        return this.createDirectory(path, header);
      case 'file':
      case 'contiguous-file':
        this.kinds.set(path, 'file');
        return this.createFile(path, header, stream);
      case 'symlink':
        await drain(stream);
        return this.createSymlink(path, header);
      case 'link':
        await drain(stream);
        return this.createHardLink(path, header);
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await drain(stream);
        return this.queueNode(path, header);
      default:
        // tar-stream reports GNU sparse ('S'), volume and other rare types as null.
        throw new HostileLayerError(`${where}: entry "${path}" has an unsupported tar type (${header.type ?? 'sparse, volume label or unknown'})`);
    }
  }

  private async createDirectory(path: string, header: Header): Promise<void> {
    if (this.kinds.get(path) !== 'dir') {
      mkdirSync(this.abs(path), { mode: 0o700 });
      this.kinds.set(path, 'dir');
    }
    this.implicitDirs.delete(path);
    await this.setOwnerAndMode(path, header);
    this.dirTimes.set(path, entryTimes(header));
  }

  private async createFile(path: string, header: Header, stream: EntryData): Promise<void> {
    const declared = header.size ?? 0;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    // Small files are collected first so the file is opened, written and closed in one go.
    const data = declared <= SMALL_FILE_BYTES ? await readAll(stream) : undefined;
    const fd = openSync(this.abs(path), flags, 0o600);
    try {
      let written = 0;
      if (data) {
        if (data.length > 0) writeSync(fd, data, 0, data.length, 0);
        written = data.length;
      } else {
        for await (const chunk of stream) {
          writeSync(fd, chunk, 0, chunk.length, written);
          written += chunk.length;
        }
      }
      if (written !== declared) {
        throw new HostileLayerError(`${this.options.where}: entry "${path}" declares ${declared} bytes but carries ${written}`);
      }
      // chown clears setuid/setgid bits, so the mode is applied after the owner.
      fchownSync(fd, header.uid ?? 0, header.gid ?? 0);
      fchmodSync(fd, (header.mode ?? 0o644) & 0o7777);
      const seconds = entrySeconds(header);
      futimesSync(fd, seconds, seconds);
    } finally {
      closeSync(fd);
    }
  }

  private async createSymlink(path: string, header: Header): Promise<void> {
    const target = header.linkname ?? '';
    if (target === '' || target.includes('\0')) {
      throw new HostileLayerError(`${this.options.where}: symlink "${path}" has an empty or NUL-containing target`);
    }
    // The target is content, never resolved here: absolute and `..` targets are legal in images.
    symlinkSync(target, this.abs(path));
    this.kinds.set(path, 'symlink');
    lchownSync(this.abs(path), header.uid ?? 0, header.gid ?? 0);
    const seconds = entrySeconds(header);
    lutimesSync(this.abs(path), seconds, seconds);
  }

  private async createHardLink(path: string, header: Header): Promise<void> {
    const where = this.options.where;
    const target = normalizeEntryPath(header.linkname ?? '', `${where}: hard link "${path}"`);
    const kind = this.kinds.get(target);
    if (target === '' || (kind !== 'file' && kind !== 'symlink')) {
      const reason = kind === undefined ? 'is not an earlier entry of this layer' : `is a ${kind}`;
      throw new HostileLayerError(`${where}: hard link "${path}" points to "${header.linkname}", which ${reason}`);
    }
    linkSync(this.abs(target), this.abs(path));
    this.kinds.set(path, kind);
  }

  private queueNode(path: string, header: Header): void {
    const isFifo = header.type === 'fifo';
    if (!isFifo && !this.options.allowDevices) {
      throw new HostileLayerError(`${this.options.where}: entry "${path}" is a device node; device nodes are rejected unless the operator allows them (allowDevices)`);
    }
    let type: 'p' | 'b' | 'c' = 'c';
    if (isFifo) type = 'p';
    else if (header.type === 'block-device') type = 'b';
    const mode = (header.mode ?? 0o600) & 0o7777;
    this.ops.push({ op: 'mknod', path, type, mode, major: header.devmajor ?? 0, minor: header.devminor ?? 0 });
    const times = entryTimes(header);
    this.ops.push({ op: 'meta', path, uid: header.uid ?? 0, gid: header.gid ?? 0, mode, mtimeS: times.seconds, mtimeNs: times.nanoseconds });
    this.kinds.set(path, 'node');
  }

  private queueOpaque(dir: string): void {
    this.ops.push({ op: 'xattr', path: dir, name: OPAQUE_XATTR, value: Buffer.from('y') });
  }

  private queueXattrs(path: string, header: Header, paxRecords: PaxRecords | undefined): void {
    const pax = header.pax as Record<string, string> | null | undefined;
    if (!pax) return;
    for (const [key, value] of Object.entries(pax)) {
      let name: string;
      let bytes: Buffer;
      if (key.startsWith('SCHILY.xattr.')) {
        name = key.slice('SCHILY.xattr.'.length);
        bytes = this.rawPaxValue(path, key, value, paxRecords);
      } else if (key.startsWith('LIBARCHIVE.xattr.')) {
        name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
        bytes = Buffer.from(value, 'base64');
      } else {
        continue;
      }
      if (name.startsWith('trusted.overlay.')) {
        throw new HostileLayerError(`${this.options.where}: entry "${path}" sets ${name}, which only the extractor may set`);
      }
      if (bytes.length > 0) this.ops.push({ op: 'xattr', path, name, value: bytes });
    }
  }

  /**
   * Returns the bytes of a PAX value that tar-stream decoded as UTF-8 (binary xattrs such as
   * security.capability do not survive that). The raw record must decode to tar-stream's text, which
   * proves both describe the same entry.
   */
  private rawPaxValue(path: string, key: string, text: string, paxRecords: PaxRecords | undefined): Buffer {
    const raw = paxRecords?.get(key);
    if (raw === undefined || raw.toString('utf8') !== text) {
      throw new InternalImageError(`${this.options.where}: entry "${path}": the raw PAX record ${key} differs from the value tar-stream decoded, so the PAX capture no longer matches the installed tar-stream (expected 3.x)`);
    }
    return raw;
  }

  private async setOwnerAndMode(path: string, header: Header): Promise<void> {
    lchownSync(this.abs(path), header.uid ?? 0, header.gid ?? 0);
    chmodSync(this.abs(path), (header.mode ?? 0o755) & 0o7777);
  }

  /** Gives an implicit parent the owner, mode and time of the same directory in the layers below. */
  private async inheritDirectory(dir: string, lowerRoots: string[]): Promise<void> {
    const lower = await findInLowerLayers(dir, lowerRoots);
    if (lower.kind === 'other') {
      // NOTE: umoci and Docker would write through a lower layer's symlink (`lib -> usr/lib`); an
      // overlay directory here would hide it instead, so such layers are refused.
      throw new NotSupportedError(`${this.options.where}: entries below "${dir}" need a directory there, but a lower layer has "${lower.path}" as a symlink or file; writing through lower-layer symlinks is not supported`);
    }
    const abs = this.abs(dir);
    const stat = lower.kind === 'dir' ? lower.stat : undefined;
    await fsp.lchown(abs, stat ? Number(stat.uid) : 0, stat ? Number(stat.gid) : 0);
    await fsp.chmod(abs, stat ? Number(stat.mode) & 0o7777 : 0o755);
    if (stat) this.dirTimes.set(dir, { seconds: Number(stat.mtimeNs / 1_000_000_000n), nanoseconds: Number(stat.mtimeNs % 1_000_000_000n) });
  }
}

type LowerLookup = { kind: 'dir'; stat: BigIntStats } | { kind: 'absent' } | { kind: 'other'; path: string };

/**
 * Finds `dir` in the lower snapshots, topmost first, checking each component with lstat so no
 * symlink in a lower layer leads the lookup outside it. A whiteout (char 0:0) ends the search:
 * the path was deleted there, so deeper layers do not count.
 */
async function findInLowerLayers(dir: string, lowerRoots: string[]): Promise<LowerLookup> {
  const parts = dir === '' ? [] : dir.split('/');
  for (const root of lowerRoots) {
    let stat = await fsp.lstat(root, { bigint: true });
    let current = root;
    let relative = '';
    let missing = false;
    for (const part of parts) {
      current = join(current, part);
      relative = relative === '' ? part : `${relative}/${part}`;
      try {
        stat = await fsp.lstat(current, { bigint: true });
      } catch {
        missing = true;
        break;
      }
      if (stat.isCharacterDevice() && stat.rdev === 0n) return { kind: 'absent' };
      if (!stat.isDirectory()) return { kind: 'other', path: relative };
    }
    if (!missing) return { kind: 'dir', stat };
  }
  return { kind: 'absent' };
}

function entryTimes(header: Header): Times {
  const pax = header.pax as Record<string, string> | null | undefined;
  const paxTime = pax?.mtime;
  if (paxTime && /^-?\d+(\.\d+)?$/.test(paxTime)) {
    const [whole, fraction = ''] = paxTime.split('.');
    return { seconds: Number(whole), nanoseconds: Number(fraction.padEnd(9, '0').slice(0, 9)) };
  }
  const ms = header.mtime ? header.mtime.getTime() : 0;
  return { seconds: Math.floor(ms / 1000), nanoseconds: 0 };
}

function entrySeconds(header: Header): number {
  const times = entryTimes(header);
  return times.seconds + times.nanoseconds / 1e9;
}

function depth(path: string): number {
  return path === '' ? 0 : path.split('/').length;
}

async function drain(stream: EntryData): Promise<void> {
  for await (const _chunk of stream) {
    // Data of entries that carry none by type (directories, links) is discarded.
  }
}

async function readAll(stream: EntryData): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
