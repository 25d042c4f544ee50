import type { ExitResult } from '../supervise/restart-policy';

/**
 * The unit's phase in the agent's own words; `systemdStates` maps it to the load/active/sub triple
 * that fleet users know from `systemctl` and `fleetctl list-units`.
 */
export type UnitPhase =
  | 'pulling'
  | 'creating'
  | 'created'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'auto-restart'
  | 'exited'
  | 'failed'
  | 'removed';

export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

export type LoadState = 'loaded' | 'error' | 'not-found';

/** Everything the agent reports about one unit. */
export interface UnitStatus {
  name: string;
  hash: string;
  loadState: LoadState;
  phase: UnitPhase;
  /** How the last run ended, when it has ended. */
  result?: ExitResult;
  health: HealthStatus;
  exitCode?: number;
  signal?: string;
  oomKilled: boolean;
  restarts: number;
  containerId: string;
  imageDigest: string;
  lastError: string;
}

/** The proto's UnitStateReport as a plain object (camelCase, int64 as decimal string). */
export interface UnitStateReportMessage {
  name: string;
  hash: string;
  loadState: string;
  activeState: string;
  subState: string;
  health: string;
  exitCode?: number;
  signal?: string;
  oomKilled: boolean;
  restarts: number;
  containerId: string;
  imageDigest: string;
  lastError: string;
  timestampMs: string;
  removed: boolean;
}

/** Maps a phase (and the last exit) to systemd's active and sub states. */
export function systemdStates(status: Pick<UnitStatus, 'phase' | 'result'>): { activeState: string; subState: string } {
  switch (status.phase) {
    case 'pulling':
      return { activeState: 'activating', subState: 'pulling' };
    case 'creating':
      return { activeState: 'activating', subState: 'creating' };
    case 'created':
      return { activeState: 'inactive', subState: 'dead' };
    case 'starting':
      return { activeState: 'activating', subState: 'start' };
    case 'running':
      return { activeState: 'active', subState: 'running' };
    case 'stopping':
      return { activeState: 'deactivating', subState: 'stop-sigterm' };
    case 'auto-restart':
      return { activeState: 'activating', subState: 'auto-restart' };
    case 'exited':
      return status.result === undefined || status.result === 'success'
        ? { activeState: 'inactive', subState: 'dead' }
        : { activeState: 'failed', subState: 'failed' };
    case 'failed':
      return { activeState: 'failed', subState: 'failed' };
    case 'removed':
      return { activeState: 'inactive', subState: 'dead' };
  }
}

/** Builds the message sent to the scheduler. */
export function toReportMessage(status: UnitStatus, nowMs: number): UnitStateReportMessage {
  const { activeState, subState } = systemdStates(status);
  const message: UnitStateReportMessage = {
    name: status.name,
    hash: status.hash,
    loadState: status.loadState,
    activeState,
    subState,
    health: status.health,
    oomKilled: status.oomKilled,
    restarts: status.restarts,
    containerId: status.containerId,
    imageDigest: status.imageDigest,
    lastError: status.lastError,
    timestampMs: String(nowMs),
    removed: status.phase === 'removed',
  };
  if (status.exitCode !== undefined) message.exitCode = status.exitCode;
  if (status.signal !== undefined) message.signal = status.signal;
  return message;
}

/** True when two statuses would produce the same report apart from the timestamp. */
export function sameReport(a: UnitStatus, b: UnitStatus): boolean {
  return JSON.stringify(toReportMessage(a, 0)) === JSON.stringify(toReportMessage(b, 0));
}
