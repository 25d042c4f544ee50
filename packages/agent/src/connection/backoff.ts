/** Settings of an exponential backoff; delays are in milliseconds. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt, 2 doubles the delay. */
  multiplier?: number;
  /** Fraction of the delay drawn at random either way, 0.2 gives +/-20 %. */
  jitter?: number;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

/**
 * Exponential backoff with jitter, shared by the scheduler connection and the retries of failed
 * unit steps. Each call to `next()` returns the delay before the next attempt; `reset()` starts
 * over after a success. Restarts under `Restart=` use `restartDelayMs`, without jitter, because
 * `RestartSec=` promises an exact pause.
 */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {
    if (options.initialMs <= 0 || options.maxMs < options.initialMs) {
      throw new RangeError(`invalid backoff: initialMs ${options.initialMs} must be > 0 and <= maxMs ${options.maxMs}`);
    }
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Returns the delay before the next attempt and counts the attempt. */
  next(): number {
    const base = backoffDelayMs(this.attempt, this.options);
    this.attempt++;
    const jitter = this.options.jitter ?? 0.2;
    const random = this.options.random ?? Math.random;
    const spread = base * jitter * (random() * 2 - 1);
    return Math.max(0, Math.round(base + spread));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** The delay before attempt `attempt` (0-based) without jitter: initial * multiplier^attempt, capped. */
export function backoffDelayMs(attempt: number, options: Pick<BackoffOptions, 'initialMs' | 'maxMs' | 'multiplier'>): number {
  const multiplier = options.multiplier ?? 2;
  // Capping the exponent keeps the power finite for long outages.
  const exponent = Math.min(attempt, 64);
  return Math.min(options.maxMs, options.initialMs * multiplier ** exponent);
}
