import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A unit's journal on disk: `DIR/current.log` plus rotated `current.log.1` (newest) to
 * `current.log.N`. Each line is `2026-12-04T21:00:00.000Z stdout text`, the LogChunk format.
 */

export type LogStream = 'stdout' | 'stderr' | 'agent';

export const CURRENT_LOG = 'current.log';
/** Lines longer than this are split, so one runaway line cannot defeat the size cap. */
export const MAX_LINE_BYTES = 16 * 1024;

export interface UnitLogOptions {
  dir: string;
  /** Size at which `current.log` is rotated. */
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  maxFiles: number;
  now?: () => Date;
}

/**
 * Appends timestamped lines to one unit's journal and rotates it by size. Partial lines are held per
 * stream until their newline arrives (or `flush`). Throws the file system's error when it cannot write.
 */
export class UnitLogWriter {
  private fd: number | undefined;
  private size = 0;
  private readonly partial: Record<string, string> = {};

  constructor(private readonly options: UnitLogOptions) {
    mkdirSync(options.dir, { recursive: true, mode: 0o750 });
  }

  /** Appends raw output of `stream`; complete lines are written at once. */
  append(stream: LogStream, text: string): void {
    const pending = (this.partial[stream] ?? '') + text;
    const lines = pending.split('\n');
    this.partial[stream] = lines.pop()!;
    for (const line of lines) this.writeLine(stream, line);
    while (this.partial[stream].length > MAX_LINE_BYTES) {
      this.writeLine(stream, this.partial[stream].slice(0, MAX_LINE_BYTES));
      this.partial[stream] = this.partial[stream].slice(MAX_LINE_BYTES);
    }
  }

  /** Writes held partial lines, for example when the container exits without a final newline. */
  flush(): void {
    for (const [stream, text] of Object.entries(this.partial)) {
      if (text !== '') this.writeLine(stream as LogStream, text);
      this.partial[stream] = '';
    }
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private writeLine(stream: LogStream, text: string): void {
    const line = `${(this.options.now ?? (() => new Date()))().toISOString()} ${stream} ${text.replace(/\r$/, '')}\n`;
    const bytes = Buffer.from(line, 'utf8');
    if (this.size > 0 && this.size + bytes.length > this.options.maxBytes) this.rotate();
    const fd = this.open();
    writeSync(fd, bytes);
    this.size += bytes.length;
  }

  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(join(this.options.dir, CURRENT_LOG), 'a', 0o640);
      this.size = fstatSync(this.fd).size;
    }
    return this.fd;
  }

  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const path = (index: number) => join(this.options.dir, index === 0 ? CURRENT_LOG : `${CURRENT_LOG}.${index}`);
    rmSync(path(this.options.maxFiles), { force: true });
    for (let index = this.options.maxFiles - 1; index >= 0; index--) {
      if (existsSync(path(index))) renameSync(path(index), path(index + 1));
    }
    this.size = 0;
  }
}

/** Files of a journal from oldest to newest. */
export function journalFiles(dir: string): string[] {
  const files: string[] = [];
  for (let index = 1; existsSync(join(dir, `${CURRENT_LOG}.${index}`)); index++) files.unshift(join(dir, `${CURRENT_LOG}.${index}`));
  if (existsSync(join(dir, CURRENT_LOG))) files.push(join(dir, CURRENT_LOG));
  return files;
}

/** Returns the last `count` lines of the journal in `dir` (all rotated files count). */
export function readLastLines(dir: string, count: number): string[] {
  if (count <= 0) return [];
  const collected: string[] = [];
  for (const file of journalFiles(dir).reverse()) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    collected.unshift(...lines.slice(Math.max(0, lines.length - (count - collected.length))));
    if (collected.length >= count) break;
  }
  return collected;
}

/** True when the journal directory exists. */
export function journalExists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
