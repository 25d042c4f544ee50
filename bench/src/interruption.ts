/**
 * SIGINT and SIGTERM handling for benchmarks that mount file systems or leave trees behind. The
 * first signal lets the current step end and then unwinds through the callers' `finally` blocks,
 * which clean up. A second signal runs the forced cleanup and exits at once.
 */

const HANDLED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
/** Exit status of a process ended by SIGINT, as shells report it (128 + 2). */
export const EXIT_INTERRUPTED = 130;

/** Thrown at the next step boundary after a SIGINT or SIGTERM. */
export class InterruptedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
  }
}

/** Records SIGINT and SIGTERM from `install()` until `dispose()`. Install only one instance at a time. */
export class Interruption {
  private received: NodeJS.Signals | undefined;
  private readonly forcedCleanups: (() => void)[] = [];
  private readonly sleepers = new Set<() => void>();
  private readonly listener = (signal: NodeJS.Signals) => this.receive(signal);

  /** The first signal received, if any. */
  get signal(): NodeJS.Signals | undefined {
    return this.received;
  }

  install(): void {
    for (const signal of HANDLED_SIGNALS) process.on(signal, this.listener);
  }

  dispose(): void {
    for (const signal of HANDLED_SIGNALS) process.off(signal, this.listener);
  }

  /**
   * Adds a synchronous step that a second signal runs before the process exits, such as killing a
   * child or unmounting. Steps run newest first. Returns a function that removes the step again.
   */
  addForcedCleanup(cleanup: () => void): () => void {
    this.forcedCleanups.push(cleanup);
    return () => {
      const index = this.forcedCleanups.lastIndexOf(cleanup);
      if (index >= 0) this.forcedCleanups.splice(index, 1);
    };
  }

  /** Throws InterruptedError when a signal has arrived. */
  check(): void {
    if (this.received) throw new InterruptedError(this.received);
  }

  /** Waits `ms` milliseconds, or less when a signal arrives; throws InterruptedError then. */
  async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
    this.check();
  }

  private receive(signal: NodeJS.Signals): void {
    if (this.received) {
      process.stderr.write(`received ${signal} again: stopping children, removing the benchmark's file system and exiting\n`);
      for (const cleanup of [...this.forcedCleanups].reverse()) cleanup();
      process.exit(EXIT_INTERRUPTED);
    }
    this.received = signal;
    process.stderr.write(`received ${signal}: stopping after the current step and cleaning up (send it again to stop at once)\n`);
    for (const wake of [...this.sleepers]) wake();
  }
}
