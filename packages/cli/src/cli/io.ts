import { readFile } from 'node:fs/promises';

/**
 * The process surroundings a command runs in: output streams, environment and file access.
 * Commands take this instead of touching `process`, so tests can run them in memory.
 */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  cwd: string;
  readFile(path: string): Promise<string>;
}

/** A writable text stream and whether it is a terminal (colour is used only on terminals). */
export interface OutputStream {
  write(text: string): void;
  isTTY: boolean;
}

/** Returns the `CliIo` of the running process. */
export function processIo(): CliIo {
  return {
    stdout: { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    stderr: { write: (text) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true },
    env: process.env,
    cwd: process.cwd(),
    readFile: (path) => readFile(path, 'utf8'),
  };
}

/** Returns true when colour escapes should be written to `stream` (a terminal and no `NO_COLOR`). */
export function useColour(stream: OutputStream, env: CliIo['env']): boolean {
  return stream.isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}
