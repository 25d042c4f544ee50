import { closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, openSync, write, writeSync } from 'node:fs';
import { CreationDefaults } from './creation-defaults';
import { HostileLayerError } from './errors';

/**
 * Data of at least this many bytes is written on libuv's thread pool. Copying file data into the
 * page cache was the largest cost of the thread that parses a big layer, and on the pool it runs in
 * parallel with parsing. For smaller writes the hop to the pool costs more than the copy.
 */
const POOL_WRITE_MIN_BYTES = 32 * 1024;
/** Bytes handed to the thread pool and not yet written; past this, the next write waits. */
const MAX_POOL_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Owner, permission bits (with setuid, setgid and sticky) and modification time of one entry. */
export interface EntryMetadata {
  uid: number;
  gid: number;
  mode: number;
  mtimeSeconds: number;
}

/**
 * Creates the regular files of one layer. Large data is written on the thread pool, so a file can
 * still be in writing when `create` returns: its mtime is set and its descriptor closed once its
 * last write is done. `flush` waits for every file and must run before the snapshot is used or
 * removed. A failed write fails the next `create` and `flush`.
 */
export class LayerFileWriter {
  private readonly pending = new Set<Promise<void>>();
  private readonly poolWaiters: (() => void)[] = [];
  private poolBytes = 0;
  private failure: Error | undefined;

  constructor(private readonly defaults: CreationDefaults, private readonly where: string) {}

  /**
   * Creates `absolute` (entry `path`) with O_EXCL|O_NOFOLLOW and writes `data` into it, then its
   * owner, mode and mtime. Throws HostileLayerError when the data length differs from `declared`,
   * and the error of an earlier file's failed write.
   */
  async create(absolute: string, path: string, declared: number, metadata: EntryMetadata, data: Buffer | AsyncIterable<Buffer>): Promise<void> {
    if (this.failure) throw this.failure;
    const fd = openSync(absolute, CREATE_FLAGS, this.defaults.createMode(metadata.mode, 0o600));
    const writes: Promise<void>[] = [];
    try {
      this.setOwnerAndMode(fd, metadata);
      let written = 0;
      if (Buffer.isBuffer(data)) {
        written = await this.writeAt(fd, data, 0, writes);
      } else {
        for await (const chunk of data) written += await this.writeAt(fd, chunk, written, writes);
      }
      if (written !== declared) {
        throw new HostileLayerError(`${this.where}: entry "${path}" declares ${declared} bytes but carries ${written}`);
      }
    } catch (error) {
      // The descriptor may be closed only after its writes, or its number could reach another file.
      await Promise.allSettled(writes);
      closeSync(fd);
      throw error;
    }
    if (writes.length === 0) {
      this.complete(fd, metadata.mtimeSeconds);
      return;
    }
    this.track(this.completeAfter(fd, path, writes, metadata.mtimeSeconds));
  }

  /** Waits until every file is written and closed. Throws the first failed write's error. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    if (this.failure) throw this.failure;
  }

  /** Waits until every file is written and closed, ignoring failures; for cleanup after an error. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private setOwnerAndMode(fd: number, metadata: EntryMetadata): void {
    const needed = this.defaults.callsNeeded(metadata.uid, metadata.gid, metadata.mode, () => fstatSync(fd));
    // chown clears setuid and setgid bits, so the mode is applied after the owner.
    if (needed.chown) fchownSync(fd, metadata.uid, metadata.gid);
    if (needed.chmod) fchmodSync(fd, metadata.mode);
  }

  /** Writes `data` at `position`, on the pool when it is large; returns its length. */
  private async writeAt(fd: number, data: Buffer, position: number, writes: Promise<void>[]): Promise<number> {
    if (data.length < POOL_WRITE_MIN_BYTES) {
      writeAllSync(fd, data, position);
      return data.length;
    }
    while (this.poolBytes >= MAX_POOL_BYTES_IN_FLIGHT) await new Promise<void>((resolve) => this.poolWaiters.push(resolve));
    this.poolBytes += data.length;
    const writing = writeAllOnPool(fd, data, position).finally(() => {
      this.poolBytes -= data.length;
      for (const wake of this.poolWaiters.splice(0)) wake();
    });
    // Observed at once so a failure before completeAfter runs is not reported as unhandled.
    writing.catch(() => undefined);
    writes.push(writing);
    return data.length;
  }

  private complete(fd: number, mtimeSeconds: number): void {
    try {
      futimesSync(fd, mtimeSeconds, mtimeSeconds);
    } finally {
      closeSync(fd);
    }
  }

  private async completeAfter(fd: number, path: string, writes: Promise<void>[], mtimeSeconds: number): Promise<void> {
    const results = await Promise.allSettled(writes);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      closeSync(fd);
      const reason = failed.reason as NodeJS.ErrnoException;
      // Keeps code and syscall, so callers still see a system error rather than a bad layer.
      throw Object.assign(new Error(`${this.where}: writing entry "${path}" failed: ${reason.message}`, { cause: reason }), { code: reason.code, syscall: reason.syscall });
    }
    this.complete(fd, mtimeSeconds);
  }

  private track(completing: Promise<void>): void {
    this.pending.add(completing);
    completing.then(
      () => this.pending.delete(completing),
      (error: Error) => {
        this.pending.delete(completing);
        this.failure ??= error;
      },
    );
  }
}

function writeAllSync(fd: number, data: Buffer, position: number): void {
  let offset = 0;
  while (offset < data.length) {
    const bytes = writeSync(fd, data, offset, data.length - offset, position + offset);
    if (bytes === 0) throw new Error(`write to descriptor ${fd} made no progress at byte ${position + offset}`);
    offset += bytes;
  }
}

/** Writes all of `data` at `position` with pwrite on libuv's thread pool, however many calls it takes. */
export function writeAllOnPool(fd: number, data: Buffer, position: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const step = (offset: number) => {
      write(fd, data, offset, data.length - offset, position + offset, (error, bytes) => {
        if (error) return reject(error);
        if (offset + bytes >= data.length) return resolve();
        // pwrite to a regular file returns 0 only when nothing more can be written.
        if (bytes === 0) return reject(new Error(`write to descriptor ${fd} made no progress at byte ${position + offset}`));
        step(offset + bytes);
      });
    };
    step(0);
  });
}
