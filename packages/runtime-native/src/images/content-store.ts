import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Digest, digestParts, isDigest } from './digest';
import { InternalImageError } from './errors';
import { withFileLock } from './file-lock';

/** One layer of a stored image. */
export interface StoredLayer {
  /** Digest of the blob as the registry serves it (usually compressed). */
  digest: Digest;
  mediaType: string;
  size: number;
  /** Digest of the uncompressed tar, from the image config's `rootfs.diff_ids`. */
  diffId: Digest;
  /** Chain ID of the stack up to this layer; names the layer's snapshot. */
  chainId: Digest;
}

/** An image the store holds, keyed by its manifest digest. */
export interface ImageRecord {
  /** Digest of the platform manifest: the image's identity in the store. */
  digest: Digest;
  /** Full references (`registry/repo:tag`) that point at it; empty for an image kept only by prune's in-use list. */
  names: string[];
  /** Digest of the index the manifest was selected from, when the reference named an index. */
  indexDigest?: Digest;
  configDigest: Digest;
  platform?: string;
  layers: StoredLayer[];
  pulledAt: string;
}

interface RecordsFile {
  version: 1;
  images: Record<string, ImageRecord>;
}

/**
 * Files of the image store under `STATE/images`: blobs by digest, one snapshot directory per
 * chain ID, the image records, and a scratch directory. The scratch directory is on the same file
 * system, so every finished blob or snapshot reaches its final name by one rename.
 *
 *   blobs/sha256/<hex>              manifests, configs and layer blobs
 *   snapshots/sha256/<hex>/fs       an unpacked layer in overlayfs form (lowerdir material)
 *   snapshots/sha256/<hex>/layer.json
 *   images.json                     image records
 *   images.json.lock                flock(2) taken by every process that changes images.json
 *   tmp/<pid>.<label>-<random>     work in progress of process <pid>; removed once that process is gone
 */
/** Lock file next to images.json that every process takes while it changes the records. */
const RECORDS_LOCK_FILE = 'images.json.lock';

export class ContentStore {
  private recordsLock: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string) {}

  /** Creates the directories and clears work left by a crash. */
  async open(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const dir of ['tmp', 'blobs/sha256', 'blobs/sha512', 'snapshots/sha256']) {
      await fsp.mkdir(join(this.root, dir), { recursive: true, mode: 0o700 });
    }
    await this.removeAbandonedWork();
  }

  /**
   * Removes tmp/ entries of processes that no longer run: the leftovers of a crash. Entries of a
   * live process (an agent while the CLI opens the same store) stay.
   */
  private async removeAbandonedWork(): Promise<void> {
    for (const name of await fsp.readdir(join(this.root, 'tmp'))) {
      const pid = Number(name.split('.')[0]);
      if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) continue;
      await fsp.rm(join(this.root, 'tmp', name), { recursive: true, force: true });
    }
  }

  blobPath(digest: Digest): string {
    const { algorithm, hex } = digestParts(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  snapshotDir(chainId: Digest): string {
    return join(this.root, 'snapshots', 'sha256', digestParts(chainId).hex);
  }

  /** Returns the directory an overlay mount uses as one lowerdir. */
  snapshotFs(chainId: Digest): string {
    return join(this.snapshotDir(chainId), 'fs');
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async hasSnapshot(chainId: Digest): Promise<boolean> {
    return exists(join(this.snapshotDir(chainId), 'layer.json'));
  }

  /** Returns a fresh path under tmp/ for a file or directory in progress. */
  tempPath(label: string): string {
    return join(this.root, 'tmp', `${process.pid}.${label}-${randomBytes(8).toString('hex')}`);
  }

  /** Stores a small verified blob: written to tmp/, flushed, renamed into place. */
  async writeBlob(digest: Digest, bytes: Buffer): Promise<void> {
    if (await this.hasBlob(digest)) return;
    const temp = this.tempPath('blob');
    const handle = await fsp.open(temp, 'wx', 0o600);
    try {
      await handle.write(bytes, 0, bytes.length, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, this.blobPath(digest));
  }

  /** Moves a verified, flushed blob file from tmp/ to its final name. */
  async commitBlob(tempFile: string, digest: Digest): Promise<void> {
    await fsp.rename(tempFile, this.blobPath(digest));
  }

  /** Moves a finished snapshot (a tmp/ directory holding `fs`) to its chain ID, with its metadata. */
  async commitSnapshot(tempDir: string, chainId: Digest, layer: StoredLayer): Promise<void> {
    await fsp.writeFile(join(tempDir, 'layer.json'), `${JSON.stringify(layer, null, 2)}\n`, { mode: 0o600 });
    try {
      await fsp.rename(tempDir, this.snapshotDir(chainId));
    } catch (error) {
      // Another process committed the same chain first; its snapshot has identical content.
      if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await fsp.rm(tempDir, { recursive: true, force: true });
    }
  }

  /** Reads a stored blob whole; for manifests and configs. */
  async readBlob(digest: Digest): Promise<Buffer> {
    return fsp.readFile(this.blobPath(digest));
  }

  /**
   * Runs `change` on the image records and saves the result atomically. An in-process chain and a
   * lock on `images.json.lock` serialize updates, so no process overwrites another's records.
   */
  async updateRecords<T>(change: (images: Record<string, ImageRecord>) => T): Promise<T> {
    const run = this.recordsLock.then(() => withFileLock(join(this.root, RECORDS_LOCK_FILE), async () => {
      const file = await this.readRecordsFile();
      const result = change(file.images);
      const temp = this.tempPath('images');
      await fsp.writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      await fsp.rename(temp, join(this.root, 'images.json'));
      return result;
    }));
    this.recordsLock = run.catch(() => undefined);
    return run;
  }

  /** Returns the image records. */
  async readRecords(): Promise<Record<string, ImageRecord>> {
    await this.recordsLock;
    return (await this.readRecordsFile()).images;
  }

  private async readRecordsFile(): Promise<RecordsFile> {
    let text: string;
    try {
      text = await fsp.readFile(join(this.root, 'images.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw error;
    }
    const file = JSON.parse(text) as RecordsFile;
    if (file.version !== 1 || typeof file.images !== 'object') {
      throw new InternalImageError(`${join(this.root, 'images.json')}: unknown format version ${String(file.version)}`);
    }
    return file;
  }

  /** Lists the digests of every stored blob. */
  async listBlobs(): Promise<Digest[]> {
    const digests: Digest[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      for (const hex of await fsp.readdir(join(this.root, 'blobs', algorithm))) {
        const digest = `${algorithm}:${hex}`;
        if (isDigest(digest)) digests.push(digest);
      }
    }
    return digests;
  }

  /** Lists the chain IDs of every stored snapshot. */
  async listSnapshots(): Promise<Digest[]> {
    return (await fsp.readdir(join(this.root, 'snapshots', 'sha256')))
      .map((hex) => `sha256:${hex}`)
      .filter(isDigest);
  }

  async removeBlob(digest: Digest): Promise<void> {
    await fsp.rm(this.blobPath(digest), { force: true });
  }

  /** Removes a snapshot: renamed into tmp/ first so a crash never leaves half a snapshot under its name. */
  async removeSnapshot(chainId: Digest): Promise<void> {
    const doomed = this.tempPath('removed');
    try {
      await fsp.rename(this.snapshotDir(chainId), doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await fsp.rm(doomed, { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}
