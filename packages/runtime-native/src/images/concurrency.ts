/** A counting semaphore: at most `limit` holders at once, others wait in FIFO order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Runs `work` once a slot is free and releases the slot when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Shares one in-flight promise per key, so concurrent callers asking for the same work wait on it. */
export class InFlight<T> {
  private readonly pending = new Map<string, Promise<T>>();

  /** Returns the running work for `key`, or starts `work` and drops it from the map once it settles. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.pending.get(key);
    if (running) return running;
    const started = work().finally(() => this.pending.delete(key));
    this.pending.set(key, started);
    return started;
  }
}
