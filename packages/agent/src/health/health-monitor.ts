import type { HealthCheck } from '@berth/unitfile';
import { applyProbe, HealthState, initialHealth } from './health-state';
import { ContainerCommandRunner, ProbeTarget, runProbe } from './probes';

export interface HealthMonitorOptions {
  check: HealthCheck;
  target: ProbeTarget;
  runner: ContainerCommandRunner;
  startedAtMs: number;
  onChange: (state: HealthState) => void;
}

/**
 * Probes one container every `intervalMs` and calls `onChange` whenever its health state changes.
 * The first probe runs one interval after start, as Docker does. `stop()` ends it; a probe in flight
 * finishes but its result is dropped.
 */
export class HealthMonitor {
  private state: HealthState;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private readonly check: HealthCheck;
  private readonly target: ProbeTarget;
  private readonly runner: ContainerCommandRunner;
  private readonly startedAtMs: number;
  private readonly onChange: (state: HealthState) => void;

  constructor(options: HealthMonitorOptions) {
    this.check = options.check;
    this.target = options.target;
    this.runner = options.runner;
    this.startedAtMs = options.startedAtMs;
    this.onChange = options.onChange;
    this.state = initialHealth(options.check);
  }

  get current(): HealthState {
    return this.state;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probeOnce(), this.check.intervalMs);
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    const result = await runProbe(this.check, this.target, this.runner);
    if (this.stopped) return;
    const next = applyProbe(this.check, this.state, result, Date.now() - this.startedAtMs);
    const changed = next.status !== this.state.status || next.lastFailure !== this.state.lastFailure;
    this.state = next;
    if (changed) this.onChange(next);
    this.schedule();
  }
}
