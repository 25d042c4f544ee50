import { join } from 'node:path';
import { HealthMonitor } from '../health/health-monitor';
import type { ContainerCommandRunner } from '../health/probes';
import { LogPump } from '../logs/log-pump';
import { UnitLogWriter } from '../logs/unit-log';
import { containerIoPaths } from './container-steps';
import type { DesiredEntry } from './desired-unit';
import type { ManagedUnit } from './managed-unit';

/** How often raw container output is copied into the unit journals. */
export const LOG_PUMP_INTERVAL_MS = 250;

export interface UnitAttachmentsOptions {
  runDir: string;
  logsDir: string;
  logLimits: { maxBytes: number; maxFiles: number };
  commandRunner: ContainerCommandRunner;
  /** Called when a unit's health changed; the status is already updated. */
  onHealth: (managed: ManagedUnit) => void;
}

/**
 * What runs beside a running container: the log pump that copies its output into the unit journal
 * and the health monitor. One timer copies the output of every unit, so the cost does not grow
 * with a timer per container.
 */
export class UnitAttachments {
  private readonly pumped = new Set<ManagedUnit>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: UnitAttachmentsOptions) {}

  startPumping(): void {
    this.timer = setInterval(() => {
      for (const managed of this.pumped) {
        try {
          managed.pump?.pump();
        } catch {
          // A failed copy (disk full) is retried on the next interval; the raw file keeps the output.
        }
      }
    }, LOG_PUMP_INTERVAL_MS);
    this.timer.unref();
  }

  stopPumping(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Starts copying the container's output into the unit journal. */
  attachPumpOnly(managed: ManagedUnit): void {
    if (managed.pump) return;
    const { record } = managed;
    managed.writer = new UnitLogWriter({ dir: join(this.options.logsDir, record.unit), ...this.options.logLimits });
    managed.pump = new LogPump(managed.writer, containerIoPaths(this.options.runDir, record.containerId));
    this.pumped.add(managed);
  }

  /** Attaches the log pump and, when the unit has a health check, the health monitor. */
  attach(managed: ManagedUnit, entry: DesiredEntry | undefined, pid: number): void {
    this.attachPumpOnly(managed);
    const check = entry?.unit?.container?.health;
    if (!check || managed.health) return;
    const { record } = managed;
    managed.health = new HealthMonitor({
      check,
      target: { containerId: record.containerId, pid, address: record.address, user: record.user },
      runner: this.options.commandRunner,
      startedAtMs: record.startedAtMs ?? Date.now(),
      onChange: (state) => {
        record.status.health = state.status;
        if (state.status === 'unhealthy') record.status.lastError = `health check failed: ${state.lastFailure}`;
        else if (record.status.lastError.startsWith('health check failed')) record.status.lastError = '';
        this.options.onHealth(managed);
      },
    });
    managed.health.start();
  }

  stopHealth(managed: ManagedUnit): void {
    managed.health?.stop();
    managed.health = undefined;
  }

  /** Copies the remaining output of an exited container and stops its health checks. */
  finish(managed: ManagedUnit): void {
    this.stopHealth(managed);
    try {
      managed.pump?.finish();
    } catch {
      // The raw output is removed with the container; a failed final copy loses only its tail.
    }
  }

  /** Stops everything attached to the unit and closes its journal. */
  detach(managed: ManagedUnit): void {
    this.finish(managed);
    this.pumped.delete(managed);
    managed.writer?.close();
    managed.pump = undefined;
    managed.writer = undefined;
  }
}
