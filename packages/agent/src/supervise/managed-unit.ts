import { Backoff } from '../connection/backoff';
import type { HealthMonitor } from '../health/health-monitor';
import type { LogPump } from '../logs/log-pump';
import type { UnitLogWriter } from '../logs/unit-log';
import type { ObservedUnit } from '../reconcile/plan';
import type { UnitStatus } from '../report/unit-status';
import type { UnitRecord } from '../state/unit-record';
import { emptyHistory } from './restart-policy';

/** Retry spacing for failed steps that may succeed later (registry down, lock busy). */
export const STEP_RETRY_INITIAL_MS = 1000;
export const STEP_RETRY_MAX_MS = 60_000;

/** A unit the supervisor runs: its persistent record plus in-memory attachments. */
export interface ManagedUnit {
  record: UnitRecord;
  /** True while a plan runs for this unit; polling and planning skip busy units. */
  busy: boolean;
  health?: HealthMonitor;
  writer?: UnitLogWriter;
  pump?: LogPump;
  restartTimer?: NodeJS.Timeout;
  /** `hash/state` of an assignment whose last attempt failed for good; retried only when it changes. */
  blockedFor?: string;
  /** No new attempt before this time after a retryable failure. */
  retryAtMs?: number;
  retryBackoff: Backoff;
  /** Set when the runtime reported the container's exit; the next pass applies the restart policy. */
  exitPending?: boolean;
  /** `TimeoutStopSec=` of the unit the container was created from, for stops after unassignment. */
  timeoutStopMs: number;
}

/** Returns a fresh status for a unit that has no container yet. */
export function initialStatus(unit: string, hash: string): UnitStatus {
  return {
    name: unit, hash, loadState: 'loaded', phase: 'created', health: 'none', oomKilled: false,
    restarts: 0, containerId: '', imageDigest: '', lastError: '',
  };
}

/** Creates the managed unit of a unit the agent has not run before. */
export function newManagedUnit(unit: string, hash: string, image: string, timeoutStopMs: number): ManagedUnit {
  return {
    record: { unit, hash, image, containerId: '', history: emptyHistory(), status: initialStatus(unit, hash) },
    busy: false,
    retryBackoff: new Backoff({ initialMs: STEP_RETRY_INITIAL_MS, maxMs: STEP_RETRY_MAX_MS }),
    timeoutStopMs,
  };
}

/** Returns the planner's view of a managed unit at `nowMs`. */
export function observe(managed: ManagedUnit, nowMs: number): ObservedUnit {
  const { record } = managed;
  const base = { name: record.unit, hash: record.hash };
  if (record.containerId === '') return { ...base, container: 'absent', held: false };
  switch (record.status.phase) {
    case 'running':
    case 'starting':
    case 'stopping':
      return { ...base, container: 'running', held: false };
    case 'exited':
    case 'failed':
      return { ...base, container: 'stopped', held: true };
    case 'auto-restart':
      return { ...base, container: 'stopped', held: (record.restartAtMs ?? 0) > nowMs };
    default:
      return { ...base, container: 'created', held: false };
  }
}
