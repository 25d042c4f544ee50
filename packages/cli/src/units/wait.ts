import { CliError, UnitStateError } from '../errors';
import { evaluateProgress, Observation, WAIT_GOALS, WaitVerb } from './target-state';

/**
 * One block attempt, as in fleetctl: `--block-attempts N` waits about N times this long.
 * fleetctl polls every 250 ms for up to 2 s per attempt.
 */
export const BLOCK_ATTEMPT_MS = 2_000;
/** Attempts when `--block-attempts` is not given: a bounded wait of one minute. */
export const DEFAULT_BLOCK_ATTEMPTS = 30;
const POLL_INTERVAL_MS = 500;
/**
 * How long a condition that does not clear by itself (no machine fits, a failed container with
 * Restart=no) must persist before the wait gives up early. The delay lets a state left over from
 * before the command be replaced by the scheduler's and the agent's fresh reports.
 */
export const STUCK_GRACE_MS = 10_000;

export interface WaitOptions {
  /** Number of block attempts; 0 or less waits until the state is reached or stuck for good. */
  attempts: number;
  attemptMs?: number;
  pollIntervalMs?: number;
  stuckGraceMs?: number;
  /** Injected for tests; defaults to the wall clock and setTimeout. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls `observe` until the unit reaches the state `verb` requests, and returns the machine it
 * reached it on. Throws UnitStateError with the latest reason when the state cannot be reached,
 * when a stuck condition outlasts STUCK_GRACE_MS (unless waiting forever), or when the attempts
 * run out. An API error while polling is retried until the deadline and then rethrown.
 */
export async function waitForUnit(
  name: string,
  verb: WaitVerb,
  observe: () => Promise<Observation>,
  options: WaitOptions,
): Promise<string | null> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const forever = options.attempts <= 0;
  const waitMs = options.attempts * (options.attemptMs ?? BLOCK_ATTEMPT_MS);
  const deadline = forever ? Infinity : now() + waitMs;
  const stuckGraceMs = options.stuckGraceMs ?? STUCK_GRACE_MS;
  let stuckSince: number | undefined;
  let lastWhy = 'no answer from the scheduler yet';
  let lastError: CliError | undefined;

  for (;;) {
    const progress = await observe().then(
      (observation) => evaluateProgress(verb, observation),
      (error: unknown) => {
        if (!(error instanceof CliError)) throw error;
        lastError = error;
        return { kind: 'waiting' as const, why: error.message, stuck: false };
      },
    );
    if (progress.kind === 'reached') return progress.machineId;
    if (progress.kind === 'failed') throw new UnitStateError(`unit ${name} cannot ${verb}: ${progress.why}`);

    lastWhy = progress.why;
    if (progress.stuck) stuckSince ??= now();
    else stuckSince = undefined;
    if (!forever && stuckSince !== undefined && now() - stuckSince >= stuckGraceMs) {
      throw new UnitStateError(`unit ${name} cannot ${verb}: ${lastWhy}`);
    }
    if (now() >= deadline) {
      if (lastError !== undefined && lastWhy === lastError.message) throw lastError;
      throw new UnitStateError(
        `timed out after ${waitMs / 1000} s waiting for unit ${name} to ${WAIT_GOALS[verb]}: ${lastWhy}; ` +
          `see "berthctl status ${name}", or wait longer with --block-attempts N (${(options.attemptMs ?? BLOCK_ATTEMPT_MS) / 1000} s each)`,
      );
    }
    await sleep(options.pollIntervalMs ?? POLL_INTERVAL_MS);
  }
}
