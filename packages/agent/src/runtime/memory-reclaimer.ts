import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How long the agent waits after its last unit state change before it reclaims memory. Long
 * enough that a burst of container starts is over, short enough that the memory goes back soon after.
 */
export const RECLAIM_QUIET_MS = 10_000;
/** A second pass this long after the first catches memory that timers and streams freed since. */
export const RECLAIM_SECOND_PASS_MS = 30_000;
/** Activity postpones the first pass by at most this long, so that a unit in a restart loop cannot hold it off. */
export const RECLAIM_MAX_DELAY_MS = 60_000;

/** Outcome of one pass, for the agent's debug log. */
export interface ReclaimResult {
  /** True when malloc_trim returned memory to the kernel. */
  released: boolean;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

/** The two steps of a pass: a full garbage collection, then glibc's malloc_trim. */
export interface ReclaimSteps {
  collectGarbage: () => void;
  trimMalloc: () => boolean;
}

/**
 * Reclaims the memory that a burst of work (pulls, creations, restarts) left behind, once the agent
 * has been quiet for `quietMs`, and once more `secondPassMs` later. Each pass runs a full garbage
 * collection, because V8's memory reducer collects only some time after allocation slows down and in
 * some runs of bench/agent-memory had not by the time of sampling (23 MiB of heap instead of 12).
 * Then it calls malloc_trim, because glibc keeps the memory that the burst freed in its arenas.
 */
export class MemoryReclaimer {
  private timer: NodeJS.Timeout | undefined;
  /** When the activity that the pending first pass follows began; undefined when none is pending. */
  private burstStartMs: number | undefined;

  constructor(
    private readonly steps: ReclaimSteps,
    private readonly onReclaim: (result: ReclaimResult) => void = () => undefined,
    private readonly quietMs = RECLAIM_QUIET_MS,
    private readonly secondPassMs = RECLAIM_SECOND_PASS_MS,
    private readonly maxDelayMs = RECLAIM_MAX_DELAY_MS,
  ) {}

  /** Records activity: the first pass runs `quietMs` after the last call, or `maxDelayMs` after the first. */
  noteActivity(): void {
    const nowMs = Date.now();
    this.burstStartMs ??= nowMs;
    this.schedule(Math.min(this.quietMs, this.burstStartMs + this.maxDelayMs - nowMs), true);
  }

  /** Cancels the pending pass. */
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
    // A pending pass never keeps the agent alive.
    this.timer.unref();
  }

  private run(): void {
    const rssBeforeBytes = process.memoryUsage.rss();
    this.steps.collectGarbage();
    const released = this.steps.trimMalloc();
    this.onReclaim({ released, rssBeforeBytes, rssAfterBytes: process.memoryUsage.rss() });
  }
}

/**
 * Returns V8's `gc()` function, which runs a full garbage collection when called. Node defines it
 * only under `node --expose-gc`. Otherwise this sets that flag and takes `gc` from a new `vm`
 * context, because V8 installs it in contexts created after the flag is set.
 */
export function garbageCollector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
