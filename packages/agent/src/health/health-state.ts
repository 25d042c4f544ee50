import type { HealthCheck } from '@berth/unitfile';
import type { HealthStatus } from '../report/unit-status';

/**
 * Health as a pure state machine with Docker's rules: the container is `starting` until the first
 * success; failures inside the start period do not count; `retries` failures in a row after it
 * make it `unhealthy`; any success makes it `healthy` and clears the count.
 */
export interface HealthState {
  status: HealthStatus;
  consecutiveFailures: number;
  /** Output or error of the last failed probe, for the report's last error. */
  lastFailure: string;
}

export function initialHealth(check: HealthCheck | undefined): HealthState {
  return { status: check === undefined ? 'none' : 'starting', consecutiveFailures: 0, lastFailure: '' };
}

/** Applies one probe result taken `sinceStartMs` after the container started. */
export function applyProbe(check: HealthCheck, state: HealthState, result: { ok: boolean; detail: string }, sinceStartMs: number): HealthState {
  if (result.ok) return { status: 'healthy', consecutiveFailures: 0, lastFailure: '' };

  const inStartPeriod = sinceStartMs < check.startPeriodMs && state.status === 'starting';
  if (inStartPeriod) return { ...state, lastFailure: result.detail };

  const consecutiveFailures = state.consecutiveFailures + 1;
  const status = consecutiveFailures >= check.retries ? 'unhealthy' : state.status;
  return { status, consecutiveFailures, lastFailure: result.detail };
}
