/**
 * How long the agent waits after its last unit state change before it returns free malloc memory
 * to the kernel. Long enough that a burst of container starts is over, short enough that the
 * memory goes back soon after.
 */
export const TRIM_QUIET_MS = 10_000;
/**
 * A second trim this long after the first catches the memory freed by the garbage collections
 * that V8's memory reducer runs once allocation has slowed down.
 */
export const TRIM_SECOND_PASS_MS = 30_000;
/** Activity postpones the first trim by at most this long, so that a unit in a restart loop cannot hold it off. */
export const TRIM_MAX_DELAY_MS = 60_000;

/** Outcome of one trim, for the agent's debug log. */
export interface TrimResult {
  released: boolean;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

/**
 * Calls `trim` (glibc's malloc_trim through the runtime addon) once the agent has been quiet for
 * `quietMs` after some activity, and once more `secondPassMs` later. glibc keeps the memory that
 * a burst of work freed in its arenas, and in the agent that was 11-20 MiB after starting 50
 * containers (bench/agent-memory).
 */
export class MallocTrimmer {
  private timer: NodeJS.Timeout | undefined;
  /** When the activity that the pending first trim follows began; undefined when none is pending. */
  private burstStartMs: number | undefined;

  constructor(
    private readonly trim: () => boolean,
    private readonly onTrim: (result: TrimResult) => void = () => undefined,
    private readonly quietMs = TRIM_QUIET_MS,
    private readonly secondPassMs = TRIM_SECOND_PASS_MS,
    private readonly maxDelayMs = TRIM_MAX_DELAY_MS,
  ) {}

  /** Records activity: the first trim runs `quietMs` after the last call, or `maxDelayMs` after the first. */
  noteActivity(): void {
    const nowMs = Date.now();
    this.burstStartMs ??= nowMs;
    this.schedule(Math.min(this.quietMs, this.burstStartMs + this.maxDelayMs - nowMs), true);
  }

  /** Cancels the pending trim. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.burstStartMs = undefined;
  }

  private schedule(delayMs: number, firstPass: boolean): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (firstPass) this.burstStartMs = undefined;
      this.run();
      if (firstPass) this.schedule(this.secondPassMs, false);
    }, delayMs);
    // A pending trim never keeps the agent alive.
    this.timer.unref();
  }

  private run(): void {
    const rssBeforeBytes = process.memoryUsage.rss();
    const released = this.trim();
    this.onTrim({ released, rssBeforeBytes, rssAfterBytes: process.memoryUsage.rss() });
  }
}
