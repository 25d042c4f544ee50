import { execFile } from 'node:child_process';
import { NetworkCommandError, NetworkToolMissingError } from './errors';

/** Maximum duration of one host command; `ip` and `nft` normally return within milliseconds. */
const COMMAND_TIMEOUT_MS = 30_000;
const MAX_COMMAND_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Options of one host command. */
export interface CommandOptions {
  /** Text written to the command's standard input (an nft script). */
  input?: string;
}

/**
 * Runs `command` with `args` and returns its standard output. Throws NetworkToolMissingError when
 * the command is not installed and NetworkCommandError, carrying the command line and its stderr,
 * when it exits non-zero.
 */
export function runHostCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_COMMAND_OUTPUT_BYTES, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new NetworkToolMissingError(command));
          return;
        }
        const exitCode = typeof error.code === 'number' ? error.code : null;
        reject(new NetworkCommandError(command, args, exitCode, `${stderr}${stdout}` || error.message, { cause: error }));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs `ip` with JSON output and parses it. Throws like runHostCommand, or when the output is not JSON. */
export async function runIpJson<T>(args: readonly string[]): Promise<T[]> {
  const stdout = await runHostCommand('ip', ['-j', ...args]);
  if (stdout.trim() === '') return [];
  try {
    return JSON.parse(stdout) as T[];
  } catch (error) {
    throw new NetworkCommandError('ip', ['-j', ...args], 0, `output is not JSON: ${stdout.slice(0, 200)}`, { cause: error });
  }
}

/**
 * Runs `command` inside the network namespace bound at `netnsPath`. `ip -n` only accepts names
 * under /run/netns, so this goes through nsenter, which joins the namespace by path.
 */
export function runInNetns(netnsPath: string, command: string, args: readonly string[]): Promise<string> {
  return runHostCommand('nsenter', [`--net=${netnsPath}`, '--', command, ...args]);
}

/** Returns whether `error` is a command failure whose output contains one of `fragments`. */
export function commandFailedWith(error: unknown, ...fragments: string[]): boolean {
  return error instanceof NetworkCommandError && fragments.some((fragment) => error.output.includes(fragment));
}
