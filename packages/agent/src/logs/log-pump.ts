import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { LogStream, UnitLogWriter } from './unit-log';

/** Raw output files are emptied once this much has been copied, so they stay small. */
export const RAW_TRUNCATE_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 64 * 1024;
/** One read buffer shared by every pump, which is safe because pumps run synchronously on the main thread. */
const readBuffer = Buffer.alloc(READ_CHUNK_BYTES);

/** One raw output file of a container and how far the agent has copied it. */
interface RawSource {
  stream: LogStream;
  path: string;
  offset: number;
  /** Kept open between pumps, so a pump that finds nothing new costs one pread and no `fs.Stats` object. */
  fd?: number;
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

  /** Closes the raw output files and the journal. */
  close(): void {
    for (const source of this.sources) {
      if (source.fd !== undefined) closeSync(source.fd);
      source.fd = undefined;
    }
    this.writer.close();
  }

  private copy(source: RawSource): boolean {
    const fd = this.openSource(source);
    if (fd === undefined) return false;
    // Reading to the end also takes what the container appends meanwhile, before the truncation below.
    let copied = false;
    for (let read = this.readAt(fd, source); read > 0; read = this.readAt(fd, source)) {
      source.offset += read;
      this.writer.append(source.stream, readBuffer.toString('utf8', 0, read));
      copied = true;
    }
    if (source.offset >= RAW_TRUNCATE_BYTES) {
      ftruncateSync(fd, 0);
      source.offset = 0;
    }
    return copied;
  }

  private readAt(fd: number, source: RawSource): number {
    return readSync(fd, readBuffer, 0, READ_CHUNK_BYTES, source.offset);
  }

  /** Opens the raw file on first use, or returns undefined while it does not exist. */
  private openSource(source: RawSource): number | undefined {
    if (source.fd !== undefined) return source.fd;
    // A stat of a missing file allocates no error, unlike a failed open.
    if (statSync(source.path, { throwIfNoEntry: false }) === undefined) return undefined;
    let fd: number;
    try {
      fd = openSync(source.path, 'r+');
    } catch {
      return undefined;
    }
    // Offsets saved before a truncation that the agent did not live to record start over.
    if (fstatSync(fd).size < source.offset) source.offset = 0;
    source.fd = fd;
    return fd;
  }
}

function readOffsets(path: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}
