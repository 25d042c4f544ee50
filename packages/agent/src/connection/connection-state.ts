import type { Logger } from '../logger';

/** Lifecycle of the agent's link to the scheduler. */
export enum ConnectionState {
  /** Not started yet. */
  Idle = 'idle',
  /** Dialing an endpoint and sending Hello. */
  Connecting = 'connecting',
  /** Welcome received; assignments and reports flow. */
  Connected = 'connected',
  /** The last attempt failed; waiting before the next one. */
  Backoff = 'backoff',
  /** Telling the scheduler the agent is leaving on purpose. */
  Draining = 'draining',
  /** Closed for good. */
  Stopped = 'stopped',
}

const ALLOWED: Record<ConnectionState, ConnectionState[]> = {
  [ConnectionState.Idle]: [ConnectionState.Connecting, ConnectionState.Draining, ConnectionState.Stopped],
  [ConnectionState.Connecting]: [ConnectionState.Connected, ConnectionState.Backoff, ConnectionState.Stopped, ConnectionState.Draining],
  [ConnectionState.Connected]: [ConnectionState.Backoff, ConnectionState.Draining, ConnectionState.Stopped],
  [ConnectionState.Backoff]: [ConnectionState.Connecting, ConnectionState.Stopped, ConnectionState.Draining],
  [ConnectionState.Draining]: [ConnectionState.Stopped],
  [ConnectionState.Stopped]: [],
};

/** True when the connection may move from `from` to `to`. */
export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
  return ALLOWED[from].includes(to);
}

/**
 * Holds the current connection state. `transition` is the only way to change it: it logs
 * `old -> new` and throws on a move the lifecycle does not allow, which would be a bug.
 */
export class ConnectionLifecycle {
  private current = ConnectionState.Idle;

  constructor(private readonly log: Logger) {}

  get state(): ConnectionState {
    return this.current;
  }

  transition(to: ConnectionState, detail: Record<string, unknown> = {}): void {
    const from = this.current;
    if (from === to) return;
    if (!canTransition(from, to)) throw new Error(`connection state cannot move from ${from} to ${to}`);
    this.current = to;
    this.log.info({ ...detail, from, to }, `connection ${from} -> ${to}`);
  }
}
