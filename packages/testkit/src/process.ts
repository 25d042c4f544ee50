import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A child process started by a test or the demo, with its output kept for failure messages. */
export interface ManagedProcess {
  child: ChildProcess;
  pid: number;
  /** Combined stdout and stderr so far (the last 64 KiB). */
  output(): string;
  /** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
  stop(graceMs?: number): Promise<void>;
}

/** Output destination and lifetime of a started process. */
export interface ProcessOptions extends SpawnOptions {
  /** Append stdout and stderr to this file instead of keeping them in memory. */
  logFile?: string;
  /** Start the process in its own session and let the parent exit without waiting for it. */
  daemon?: boolean;
}

const MAX_OUTPUT_BYTES = 64 * 1024;

/** Creates a fresh directory under the system temporary directory. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
}

/** Removes a directory made by `makeTempDir`, ignoring one that is already gone. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `command` and keeps its output; the caller owns the returned process and must stop it. */
export function startProcess(command: string, args: string[], options: ProcessOptions = {}): ManagedProcess {
  const { logFile, daemon, ...spawnOptions } = options;
  const logFd = logFile ? openSync(logFile, 'a') : undefined;
  const stdio: SpawnOptions['stdio'] = logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd];
  const child = spawn(command, args, { stdio, detached: daemon === true, ...spawnOptions });
  if (logFd !== undefined) closeSync(logFd);
  if (daemon) child.unref();
  if (child.pid === undefined) throw new Error(`${command} failed to start (is it installed?)`);

  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > MAX_OUTPUT_BYTES) output = output.slice(-MAX_OUTPUT_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });

  return {
    child,
    pid: child.pid,
    output: () => (logFile ? readTail(logFile, MAX_OUTPUT_BYTES) : output),
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Returns the last `maxBytes` of a file, or an empty string when it does not exist. */
export function readTail(path: string, maxBytes: number): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.length > maxBytes ? text.slice(-maxBytes) : text;
  } catch {
    return '';
  }
}

/** Polls `probe` every `intervalMs` until it returns true, or throws `describe()` after `timeoutMs`. */
export async function waitFor(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // A probe that throws counts as "not ready yet"; the timeout message reports the state.
    }
    if (Date.now() > deadline) throw new Error(options.describe());
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** Output and exit status of a command run to completion. */
export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface CommandOutcome extends CommandResult {
  /** Exit code, or null when a signal ended the command. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Kill the command with SIGKILL after this many milliseconds. */
  timeoutMs?: number;
}

/** Runs `command` to completion and returns its output and exit status, whatever the status. */
export async function execCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.once('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} failed to start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/**
 * Runs `command` to completion and returns its output. Throws an Error naming the command line,
 * the exit status and stderr when it fails, so a test failure shows what went wrong.
 */
export async function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const outcome = await execCommand(command, args, options);
  if (outcome.code !== 0) {
    const detail = outcome.stderr.trim() || outcome.stdout.trim();
    throw new Error(`${command} ${args.join(' ')} exited with ${outcome.code ?? outcome.signal}: ${detail}`);
  }
  return { stdout: outcome.stdout, stderr: outcome.stderr };
}
