import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { LogStream, UnitLogWriter } from './unit-log';

/** Raw output files are emptied once this much has been copied, so they stay small. */
export const RAW_TRUNCATE_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 64 * 1024;

/** One raw output file of a container and how far the agent has copied it. */
interface RawSource {
  stream: LogStream;
  path: string;
  offset: number;
}

/**
 * Copies a container's raw stdout and stderr files (written by the runtime with O_APPEND) into the
 * unit's journal, adding timestamps. `pump()` is called periodically by the supervisor.
 * NOTE: timestamps are the time the agent copied a line, up to one pump interval after it was
 * written. Emptying a raw file (copy, then truncate) can lose output written in between.
 */
export class LogPump {
  private readonly sources: RawSource[];

  /**
   * `offsetsPath` keeps the copied offsets so an agent restarted after SIGKILL continues where it
   * stopped instead of copying lines twice.
   */
  constructor(
    private readonly writer: UnitLogWriter,
    paths: { stdoutPath: string; stderrPath: string; offsetsPath: string },
  ) {
    this.offsetsPath = paths.offsetsPath;
    const saved = readOffsets(paths.offsetsPath);
    this.sources = [
      { stream: 'stdout', path: paths.stdoutPath, offset: saved.stdout ?? 0 },
      { stream: 'stderr', path: paths.stderrPath, offset: saved.stderr ?? 0 },
    ];
  }

  private readonly offsetsPath: string;

  /** Copies everything new; returns true when something was copied. Missing files are skipped. */
  pump(): boolean {
    let copied = false;
    for (const source of this.sources) copied = this.copy(source) || copied;
    if (copied) writeFileSync(this.offsetsPath, JSON.stringify(Object.fromEntries(this.sources.map((source) => [source.stream, source.offset]))));
    return copied;
  }

  /** Copies what is left and writes held partial lines, when the container has exited. */
  finish(): void {
    this.pump();
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }

  private copy(source: RawSource): boolean {
    // Most pumps find nothing new; a stat is cheaper than open, fstat and close.
    const stat = statSync(source.path, { throwIfNoEntry: false });
    if (stat === undefined || stat.size === source.offset) return false;
    let fd: number;
    try {
      fd = openSync(source.path, 'r+');
    } catch {
      return false;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < source.offset) source.offset = 0;
      if (size === source.offset) return false;
      const buffer = Buffer.alloc(READ_CHUNK_BYTES);
      while (source.offset < size) {
        const read = readSync(fd, buffer, 0, Math.min(READ_CHUNK_BYTES, size - source.offset), source.offset);
        if (read === 0) break;
        source.offset += read;
        this.writer.append(source.stream, buffer.subarray(0, read).toString('utf8'));
      }
      if (source.offset >= RAW_TRUNCATE_BYTES) {
        ftruncateSync(fd, 0);
        source.offset = 0;
      }
      return true;
    } finally {
      closeSync(fd);
    }
  }
}

function readOffsets(path: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}
