import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { PullProcessError } from '../errors';
import type { LocalImage, PullProgress } from './ports';
import { deserializeError, PullerToAgentMessage, StartMessage } from './pull-messages';

/** The pull process entry that `npm run build` compiles beside this file. */
export const PULL_PROCESS_MAIN = join(__dirname, 'pull-process-main.js');
/**
 * Node flags of the pull process. Without the optimizing compiler (TurboFan), a first pull of the
 * benchmark image (bench/pull) took about 860 ms from fork to exit instead of about 960 ms. The
 * process lives for one burst of pulls, so compiling its hot functions costs more than it gains.
 * Later pulls in the same process were about 6 % slower. The per-byte work (inflate, digests,
 * file writes) is native code either way.
 */
export const PULL_PROCESS_EXEC_ARGV = ['--no-turbofan'];
/** How much of the pull process's stderr is kept for the error when it dies. */
const STDERR_TAIL_BYTES = 2048;

interface PendingPull {
  reference: string;
  onProgress: (progress: PullProgress) => void;
  resolve: (image: LocalImage) => void;
  reject: (error: Error) => void;
}

/**
 * One forked pull process and the pulls it is running. `end()` closes the IPC channel, on which
 * the process exits; `kill()` stops it at once. Every pull still pending when the process exits
 * (killed, crashed, failed to start) is rejected with a PullProcessError.
 */
export class PullProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, PendingPull>();
  private nextId = 1;
  private stderrTail = '';
  private exited = false;
  private ended = false;

  /** Forks the pull process and sends it `start`. The process runs until `end` or `kill`. */
  constructor(
    start: StartMessage,
    private readonly onExit: () => void,
    mainPath = PULL_PROCESS_MAIN,
  ) {
    // No inherited node flags: an --inspect port or the benchmark's --trace-gc belong to the agent.
    this.child = fork(mainPath, [], { execArgv: PULL_PROCESS_EXEC_ARGV, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    this.child.on('message', (message: PullerToAgentMessage) => this.receive(message));
    this.child.on('error', (error) => this.fail(`could not be started or sent a message (${error.message})`));
    // 'close' (not 'exit') reports the end, so that the stderr tail is complete by then. After
    // end() Node emits no 'close' (nodejs/node#19433), so then 'exit' reports it.
    const exited = (code: number | null, signal: NodeJS.Signals | null) => this.fail(signal ? `was killed by ${signal}` : `exited with code ${code}`);
    this.child.on('close', exited);
    this.child.on('exit', (code, signal) => {
      if (this.ended) exited(code, signal);
    });
    this.post(start);
  }

  /** Process id of the pull process; undefined when it could not be started. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Number of pulls sent whose result has not arrived yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends one pull; resolves with the image, or rejects with the pull's error or a PullProcessError. */
  pull(reference: string, onProgress: (progress: PullProgress) => void): Promise<LocalImage> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new PullProcessError(`cannot pull ${reference}: the image pull process has already exited`));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { reference, onProgress, resolve, reject });
      this.post({ type: 'pull', id, reference });
    });
  }

  /** Closes the IPC channel, on which the process exits. Pulls still pending are rejected then. */
  end(): void {
    this.ended = true;
    if (this.child.connected) this.child.disconnect();
  }

  /** Stops the process with SIGKILL, which rejects every pending pull. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private post(message: StartMessage | { type: 'pull'; id: number; reference: string }): void {
    this.child.send(message, (error) => {
      if (error) this.fail(`did not accept a message (${error.message})`);
    });
  }

  private receive(message: PullerToAgentMessage): void {
    const pull = this.pending.get(message.id);
    if (!pull) return;
    if (message.type === 'progress') {
      pull.onProgress(message.progress);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'pulled') pull.resolve(message.image);
    else pull.reject(deserializeError(message.error));
  }

  /** Rejects every pending pull once the process is gone or unusable, and kills it if it still runs. */
  private fail(failure: string): void {
    if (!this.exited && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    const stderr = this.stderrTail.trim();
    for (const [id, pull] of this.pending) {
      this.pending.delete(id);
      const detail = stderr ? `; its stderr ended with: ${stderr}` : '';
      pull.reject(new PullProcessError(`image pull process ${this.child.pid ?? '(not started)'} ${failure} while pulling ${pull.reference}${detail}`));
    }
    if (this.exited) return;
    this.exited = true;
    this.onExit();
  }
}
