import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The compiled entry point, run with the current node binary as a user would run it. */
export const BERTHCTL_MAIN = join(__dirname, '..', 'main.js');
/** The repository root, the working directory of every run unless a test sets another one. */
export const REPO_ROOT = join(__dirname, '..', '..', '..', '..');

export interface BerthctlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `berthctl ARGS...` as a child process and collects its output and exit status. */
export function runBerthctl(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<BerthctlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BERTHCTL_MAIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      // A clean environment, so a developer's BERTHCTL_* settings cannot change the results.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Formats a result for assertion messages. */
export function describeResult(result: BerthctlResult): string {
  return `exit status ${result.status}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}
