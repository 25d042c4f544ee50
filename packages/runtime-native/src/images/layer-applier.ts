import {
  chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, promises as fsp, readlinkSync, renameSync, rmdirSync, symlinkSync,
} from 'node:fs';
import type { Header } from 'tar-stream';
import { CreationDefaults } from './creation-defaults';
import { HostileLayerError, InternalImageError, NotSupportedError } from './errors';
import { EntryMetadata, LayerFileWriter } from './layer-file-writer';
import { LayerHelperOp, runLayerHelper } from './layer-helper';
import { lookupLower, MAX_SYMLINK_HOPS, resolveInImage, UpperEntry } from './lower-layers';
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
  /** Directories recreated where this layer has a whiteout: they hide the lower entry they replace. */
  private readonly replacedDirs = new Set<string>();
  private readonly dirTimes = new Map<string, Times>();
  private ops: LayerHelperOp[] = [];
  private entryCount = 0;
  private readonly defaults: CreationDefaults;
  private readonly files: LayerFileWriter;

  /** Throws when `options.root` cannot be stat'ed. */
  constructor(private readonly options: LayerApplyOptions) {
    this.defaults = new CreationDefaults(options.root);
    this.files = new LayerFileWriter(this.defaults, options.where);
  }

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
   * Completes the snapshot once every entry is applied. Entries written through a lower layer's
   * symlink move to where it leads, and directories this layer created only as parents take their
   * metadata from the layers below (`lowerRoots`, topmost first). Then the helper creates
   * whiteouts, nodes and xattrs, and directory times are set last, deepest first. Throws
   * HostileLayerError for a lower symlink loop and NotSupportedError for the cases the README lists.
   */
  async finish(lowerRoots: string[]): Promise<void> {
    await this.flush();
    await this.followLowerSymlinks(lowerRoots);
    for (const dir of this.implicitDirs) await this.inheritDirectory(dir, lowerRoots);
    await runLayerHelper(this.options.root, this.ops, this.options.helperPath);

    const dirs = [...this.dirTimes.keys()].sort((a, b) => depth(b) - depth(a));
    for (const dir of dirs) {
      const times = this.dirTimes.get(dir)!;
      const seconds = times.seconds + times.nanoseconds / 1e9;
      lutimesSync(this.abs(dir), seconds, seconds);
    }
  }

  /**
   * Waits until the data of every file applied so far is written. Throws the first failed write's
   * error. unpackLayer calls it; a caller that feeds `apply` itself calls it or `finish`.
   */
  async flush(): Promise<void> {
    await this.files.flush();
  }

  /** Waits for pending file writes without reporting their errors; for cleanup after a failure. */
  async settle(): Promise<void> {
    await this.files.settle();
  }

  private abs(path: string): string {
    // Entry paths are normalized (no empty, `.` or `..` parts), so a plain join is exact.
    return path === '' ? this.options.root : `${this.options.root}/${path}`;
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
    this.setOwnerAndMode('', entryMetadata(header, 0o755));
    this.dirTimes.set('', entryTimes(header));
  }

  /** Makes sure every ancestor of `path` is a directory, creating missing ones as implicit parents. */
  private async ensureParents(path: string): Promise<void> {
    // A path is recorded as a directory only after all its ancestors were, and replacing an entry
    // removes the records below it. So a parent recorded as a directory has only directories above.
    if (this.kinds.get(parentOf(path)) === 'dir') return;
    await this.ensureDirectories(ancestorsOf(path), path);
  }

  /** Makes sure each of `dirs` (shallowest first) is a directory; `path` names the entry in errors. */
  private async ensureDirectories(dirs: string[], path: string): Promise<void> {
    for (const ancestor of dirs) {
      const kind = this.kinds.get(ancestor);
      if (kind === 'dir') continue;
      if (kind === 'symlink') {
        throw new HostileLayerError(`${this.options.where}: entry "${path}" passes through "${ancestor}", a symlink created by this layer`);
      }
      if (kind === 'whiteout') {
        // A path below a deleted one: the directory is recreated and hides the lower one entirely.
        this.dropOps(ancestor);
        this.queueOpaque(ancestor);
        this.replacedDirs.add(ancestor);
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
    for (const key of [...this.replacedDirs]) if (isWithin(key, path)) this.replacedDirs.delete(key);
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
    const metadata = entryMetadata(header, 0o755);
    const absolute = this.abs(path);
    if (this.kinds.get(path) !== 'dir') {
      mkdirSync(absolute, { mode: this.defaults.createMode(metadata.mode, 0o700) });
      this.kinds.set(path, 'dir');
      this.setOwnerAndMode(path, metadata, this.defaults.callsNeeded(metadata.uid, metadata.gid, metadata.mode, () => lstatSync(absolute)));
    } else {
      this.setOwnerAndMode(path, metadata);
    }
    this.implicitDirs.delete(path);
    this.dirTimes.set(path, entryTimes(header));
  }

  private async createFile(path: string, header: Header, stream: EntryData): Promise<void> {
    const declared = header.size ?? 0;
    // Small files are collected first so the file is opened, written and closed in one go.
    const data = declared <= SMALL_FILE_BYTES ? await readAll(stream) : stream;
    await this.files.create(this.abs(path), path, declared, entryMetadata(header, 0o644), data);
  }

  private async createSymlink(path: string, header: Header): Promise<void> {
    const target = header.linkname ?? '';
    if (target === '' || target.includes('\0')) {
      throw new HostileLayerError(`${this.options.where}: symlink "${path}" has an empty or NUL-containing target`);
    }
    // The target is content, never resolved here: absolute and `..` targets are legal in images.
    symlinkSync(target, this.abs(path));
    this.kinds.set(path, 'symlink');
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;
    if (this.defaults.chownNeeded(uid, gid)) lchownSync(this.abs(path), uid, gid);
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

  /** Sets a directory's owner, then its mode, since chown clears the setgid bit. */
  private setOwnerAndMode(path: string, metadata: EntryMetadata, needed = { chown: true, chmod: true }): void {
    if (needed.chown) lchownSync(this.abs(path), metadata.uid, metadata.gid);
    if (needed.chmod) chmodSync(this.abs(path), metadata.mode);
    this.defaults.noteDirectoryMode(metadata.mode);
  }

  /** Gives an implicit parent the owner, mode and time of the same directory in the layers below. */
  private async inheritDirectory(dir: string, lowerRoots: string[]): Promise<void> {
    const lower = this.replacedDirs.has(dir) ? { kind: 'absent' as const } : await lookupLower(dir, lowerRoots);
    if (lower.kind === 'other' || lower.kind === 'symlink') {
      // NOTE: overlayfs would show this directory in place of the lower file, but umoci fails
      // such a layer ("not a directory"), so it is refused rather than given a meaning.
      throw new NotSupportedError(`${this.options.where}: entries below "${dir}" need a directory there, but a lower layer has a ${lower.kind === 'other' ? 'file' : 'symlink'} at "${dir}"; replacing a lower file with an implicit directory is not supported`);
    }
    const abs = this.abs(dir);
    const stat = lower.kind === 'dir' ? lower.stat : undefined;
    await fsp.lchown(abs, stat ? Number(stat.uid) : 0, stat ? Number(stat.gid) : 0);
    await fsp.chmod(abs, stat ? Number(stat.mode) & 0o7777 : 0o755);
    if (stat) this.dirTimes.set(dir, { seconds: Number(stat.mtimeNs / 1_000_000_000n), nanoseconds: Number(stat.mtimeNs % 1_000_000_000n) });
  }

  /**
   * Moves what this layer wrote below a lower layer's symlink to where that symlink leads, as umoci
   * and containerd do when a layer writes `lib/x` over `lib -> usr/lib`. In overlay form the
   * symlink must stay visible, so this layer's implicit `lib` directory goes and `lib/x` becomes
   * `usr/lib/x`. Directories are handled shallowest first, because a moved entry can meet another
   * lower symlink. Targets resolve inside the image root (see resolveInImage).
   */
  private async followLowerSymlinks(lowerRoots: string[]): Promise<void> {
    const notLinks = new Set<string>();
    const maxMoves = this.kinds.size + MAX_SYMLINK_HOPS;
    for (let moves = 0; ; moves++) {
      const dir = await this.nextDirOverLowerSymlink(lowerRoots, notLinks);
      if (dir === undefined) return;
      if (moves >= maxMoves) {
        throw new HostileLayerError(`${this.options.where}: entries moved through lower-layer symlinks more than ${maxMoves} times (a symlink cycle)`);
      }
      const opaque = this.opaqueDirs();
      const target = await resolveInImage(dir, (candidate) => this.upperEntry(candidate, opaque), lowerRoots, this.options.where);
      await this.moveDirectory(dir, target);
    }
  }

  /** Finds the shallowest implicit directory of this layer that sits where a lower layer has a symlink. */
  private async nextDirOverLowerSymlink(lowerRoots: string[], notLinks: Set<string>): Promise<string | undefined> {
    if (lowerRoots.length === 0) return undefined;
    const opaque = this.opaqueDirs();
    const dirs = [...this.implicitDirs].filter((dir) => dir !== '' && !notLinks.has(dir)).sort((a, b) => depth(a) - depth(b));
    for (const dir of dirs) {
      if (this.upperEntry(dir, opaque).kind === 'transparent' && (await lookupLower(dir, lowerRoots)).kind === 'symlink') return dir;
      notLinks.add(dir);
    }
    return undefined;
  }

  /**
   * Describes how this layer shows `path`. Its implicit directories (created only as parents) are
   * transparent, so a lower symlink at the same path still applies. A whiteout or an opaque
   * directory above `path` hides the lower layers.
   */
  private upperEntry(path: string, opaque: Set<string>): UpperEntry {
    for (const ancestor of ancestorsOf(path)) {
      if (this.kinds.get(ancestor) === 'whiteout' || opaque.has(ancestor)) return { kind: 'hides' };
    }
    const kind = this.kinds.get(path);
    if (kind === undefined) return { kind: 'transparent' };
    if (kind === 'symlink') return { kind: 'symlink', target: readlinkSync(this.abs(path)) };
    if (kind === 'dir' && this.implicitDirs.has(path) && !this.replacedDirs.has(path)) return { kind: 'transparent' };
    return { kind: 'hides' };
  }

  /** Lists the directories this layer marks opaque so far. */
  private opaqueDirs(): Set<string> {
    return new Set(this.ops.filter((op) => op.op === 'xattr' && op.name === OPAQUE_XATTR).map((op) => op.path));
  }

  /** Moves the contents of implicit directory `from` into `to`, then removes `from`. */
  private async moveDirectory(from: string, to: string): Promise<void> {
    if (isWithin(to, from)) {
      throw new InternalImageError(`${this.options.where}: "${from}" resolved to "${to}" below itself, which resolving a lower-layer symlink cannot produce`);
    }
    if (to !== '') await this.ensureDirectories([...ancestorsOf(to), to], from);
    await this.mergeInto(from, to);
  }

  /**
   * Moves every entry below directory `from` to the same name below directory `to` and removes
   * `from`. Throws NotSupportedError when both hold an entry of the same name that is not a
   * directory in both, because the tar order that would decide between them is not kept.
   */
  private async mergeInto(from: string, to: string): Promise<void> {
    const children = [...this.kinds.keys()].filter((key) => key !== '' && key !== from && parentOf(key) === from);
    for (const source of children) {
      const destination = joinEntry(to, baseName(source));
      const sourceKind = this.kinds.get(source)!;
      const destinationKind = this.kinds.get(destination);
      if (isWithin(from, destination)) {
        // A symlink to its own ancestor (`a/b -> ..`) with an entry named like the way back down.
        throw new NotSupportedError(`${this.options.where}: "${source}" would move onto "${destination}", which contains it, when a lower-layer symlink is followed; this is not supported`);
      }
      if (destinationKind === undefined) {
        // Whiteouts and device nodes exist only as helper operations so far.
        if (sourceKind !== 'whiteout' && sourceKind !== 'node') renameSync(this.abs(source), this.abs(destination));
        this.renamePaths(source, destination);
      } else if (sourceKind === 'dir' && destinationKind === 'dir') {
        this.adoptDirectory(source, destination);
        await this.mergeInto(source, destination);
      } else {
        throw new NotSupportedError(`${this.options.where}: this layer writes both "${source}" and "${destination}", the same path once a lower-layer symlink is followed; which one wins is not supported`);
      }
    }
    rmdirSync(this.abs(from));
    const opaque = this.ops.some((op) => op.path === from && op.op === 'xattr' && op.name === OPAQUE_XATTR);
    if (opaque && to === '') {
      throw new NotSupportedError(`${this.options.where}: an opaque marker in "${from}", a lower-layer symlink to the root, is not supported`);
    }
    // An opaque marker written through the symlink applies where the symlink leads.
    this.ops = this.ops.map((op) => (op.path === from ? { ...op, path: to } : op));
    this.kinds.delete(from);
    this.implicitDirs.delete(from);
    this.replacedDirs.delete(from);
    this.dirTimes.delete(from);
  }

  /** Gives `destination` the metadata of directory `source` when only `source` came from a tar entry. */
  private adoptDirectory(source: string, destination: string): void {
    const sourceExplicit = !this.implicitDirs.has(source);
    const destinationExplicit = !this.implicitDirs.has(destination);
    if (sourceExplicit && destinationExplicit) {
      throw new NotSupportedError(`${this.options.where}: this layer has directory entries "${source}" and "${destination}", the same path once a lower-layer symlink is followed; which one wins is not supported`);
    }
    if (!sourceExplicit) return;
    const stat = lstatSync(this.abs(source));
    lchownSync(this.abs(destination), stat.uid, stat.gid);
    chmodSync(this.abs(destination), stat.mode & 0o7777);
    this.implicitDirs.delete(destination);
    const times = this.dirTimes.get(source);
    if (times) this.dirTimes.set(destination, times);
  }

  /** Rewrites this layer's records for `from` and everything below it to live under `to`. */
  private renamePaths(from: string, to: string): void {
    const move = (key: string) => (isWithin(key, from) ? `${to}${key.slice(from.length)}` : key);
    const kinds = [...this.kinds];
    this.kinds.clear();
    for (const [key, kind] of kinds) this.kinds.set(move(key), kind);
    for (const set of [this.implicitDirs, this.replacedDirs]) {
      const keys = [...set];
      set.clear();
      for (const key of keys) set.add(move(key));
    }
    const times = [...this.dirTimes];
    this.dirTimes.clear();
    for (const [key, value] of times) this.dirTimes.set(move(key), value);
    this.ops = this.ops.map((op) => ({ ...op, path: move(op.path) }));
  }
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

function entryMetadata(header: Header, defaultMode: number): EntryMetadata {
  return { uid: header.uid ?? 0, gid: header.gid ?? 0, mode: (header.mode ?? defaultMode) & 0o7777, mtimeSeconds: entrySeconds(header) };
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
