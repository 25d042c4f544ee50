import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CURRENT_LOG } from './unit-log';

/** How often a follower checks the journal for new lines. */
export const FOLLOW_POLL_INTERVAL_MS = 250;
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Follows `DIR/current.log` from its current end and calls `onLines` with each batch of new
 * complete lines. After a rotation (the inode changes) it first reads the rest of the old file,
 * now `current.log.1`, then the new file from its start. `stop()` ends the follow.
 */
export class LogFollower {
  private timer: NodeJS.Timeout | undefined;
  private inode = -1;
  private offset = 0;
  private partial = '';

  constructor(
    private readonly dir: string,
    private readonly onLines: (lines: string[]) => void,
  ) {}

  start(): void {
    const stat = this.statCurrent();
    if (stat) {
      this.inode = stat.ino;
      this.offset = stat.size;
    }
    this.timer = setInterval(() => this.poll(), FOLLOW_POLL_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private statCurrent(): { ino: number; size: number } | undefined {
    try {
      return statSync(join(this.dir, CURRENT_LOG));
    } catch {
      return undefined;
    }
  }

  private poll(): void {
    const stat = this.statCurrent();
    if (!stat) return;
    if (stat.ino !== this.inode || stat.size < this.offset) {
      this.drainRotated();
      this.inode = stat.ino;
      this.offset = 0;
      this.partial = '';
    }
    if (stat.size > this.offset) this.readNew(join(this.dir, CURRENT_LOG));
  }

  /** Reads what was appended to the followed file before it was renamed to `current.log.1`. */
  private drainRotated(): void {
    const rotated = join(this.dir, `${CURRENT_LOG}.1`);
    try {
      if (statSync(rotated).ino === this.inode) this.readNew(rotated);
    } catch {
      // No rotated file: the journal was removed and started again, nothing is left to read.
    }
  }

  private readNew(path: string): void {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.alloc(READ_CHUNK_BYTES);
      let text = '';
      while (this.offset < size) {
        const read = readSync(fd, buffer, 0, Math.min(READ_CHUNK_BYTES, size - this.offset), this.offset);
        if (read === 0) break;
        this.offset += read;
        text += buffer.subarray(0, read).toString('utf8');
      }
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!;
      if (lines.length > 0) this.onLines(lines);
    } finally {
      closeSync(fd);
    }
  }
}
