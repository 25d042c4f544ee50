import type { ServiceSpec } from '@berth/unitfile';

/**
 * `Restart=` as a pure state machine. The supervisor records each start and, when a container
 * exits on its own, asks `decideAfterExit` whether to start it again, after how long, or to leave
 * the unit down (and whether down means `inactive` or `failed`).
 */

/** Upper bound of the growing restart delay, whatever `RestartSec=` says. */
export const MAX_RESTART_DELAY_MS = 5 * 60 * 1000;
/** A run at least this long counts as healthy: the next failure starts again at `RestartSec=`. */
export const RESTART_BACKOFF_RESET_MS = 10_000;

/** Signals systemd counts as a clean exit for `Restart=on-failure`. */
const CLEAN_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE']);

/** What the restart policy remembers about one unit. */
export interface RestartHistory {
  /** Start times (ms since epoch) inside the current start-limit window. */
  startTimesMs: number[];
  /** Restarts the policy made since the unit was created from this hash. */
  restarts: number;
  /** Failed runs in a row, each shorter than RESTART_BACKOFF_RESET_MS. */
  consecutiveFailures: number;
}

/** How a container ended. */
export interface ExitEvent {
  exitCode?: number;
  signal?: string;
  oomKilled: boolean;
  startedAtMs: number;
  exitedAtMs: number;
}

/** systemd's `Result=` words for an exit. */
export type ExitResult = 'success' | 'exit-code' | 'signal' | 'oom-kill';

export type RestartDecision =
  | { kind: 'restart'; delayMs: number; result: ExitResult }
  | { kind: 'stay-down'; result: ExitResult }
  | { kind: 'start-limit-hit'; result: ExitResult; reason: string };

export function emptyHistory(): RestartHistory {
  return { startTimesMs: [], restarts: 0, consecutiveFailures: 0 };
}

/** Classifies an exit the way systemd's `Result=` does. */
export function exitResult(exit: Pick<ExitEvent, 'exitCode' | 'signal' | 'oomKilled'>): ExitResult {
  if (exit.oomKilled) return 'oom-kill';
  if (exit.signal !== undefined && !CLEAN_SIGNALS.has(exit.signal)) return 'signal';
  if (exit.exitCode !== undefined && exit.exitCode !== 0) return 'exit-code';
  return 'success';
}

/** Returns the history with a start at `nowMs` added and starts outside the window dropped. */
export function recordStart(service: ServiceSpec, history: RestartHistory, nowMs: number): RestartHistory {
  const windowStart = nowMs - service.startLimitIntervalMs;
  const kept = service.startLimitIntervalMs > 0 ? history.startTimesMs.filter((time) => time > windowStart) : [];
  return { ...history, startTimesMs: [...kept, nowMs] };
}

/**
 * Decides what follows an exit the agent did not ask for, and returns the updated history.
 * The start limit is checked against the time the restart would happen: `StartLimitBurst=` starts
 * within `StartLimitIntervalSec=` are allowed, one more puts the unit in `failed`.
 */
export function decideAfterExit(service: ServiceSpec, history: RestartHistory, exit: ExitEvent): { decision: RestartDecision; history: RestartHistory } {
  const result = exitResult(exit);
  const wantsRestart = service.restart === 'always' || (service.restart === 'on-failure' && result !== 'success');
  if (!wantsRestart) return { decision: { kind: 'stay-down', result }, history };

  const ranLongEnough = exit.exitedAtMs - exit.startedAtMs >= RESTART_BACKOFF_RESET_MS;
  const consecutiveFailures = ranLongEnough ? 1 : history.consecutiveFailures + 1;
  const delayMs = restartDelayMs(service.restartSecMs, consecutiveFailures);
  const restartAtMs = exit.exitedAtMs + delayMs;
  const next = { ...history, consecutiveFailures };

  if (startLimitReached(service, history, restartAtMs)) {
    const reason = `start limit hit: ${service.startLimitBurst} starts within ${service.startLimitIntervalMs} ms (StartLimitBurst=, StartLimitIntervalSec=)`;
    return { decision: { kind: 'start-limit-hit', result, reason }, history: next };
  }
  return { decision: { kind: 'restart', delayMs, result }, history: { ...next, restarts: history.restarts + 1 } };
}

/** `RestartSec=` doubled for each failure in a row after the first, capped at MAX_RESTART_DELAY_MS. */
export function restartDelayMs(restartSecMs: number, consecutiveFailures: number): number {
  const exponent = Math.min(Math.max(consecutiveFailures - 1, 0), 32);
  return Math.min(MAX_RESTART_DELAY_MS, restartSecMs * 2 ** exponent);
}

function startLimitReached(service: ServiceSpec, history: RestartHistory, atMs: number): boolean {
  if (service.startLimitIntervalMs <= 0 || service.startLimitBurst <= 0) return false;
  const windowStart = atMs - service.startLimitIntervalMs;
  const startsInWindow = history.startTimesMs.filter((time) => time > windowStart).length;
  return startsInWindow >= service.startLimitBurst;
}
