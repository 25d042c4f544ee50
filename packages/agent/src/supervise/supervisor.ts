import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TIMEOUT_STOP_SEC_MS } from '@berth/unitfile';
import { errorMessage } from '../errors';
import type { ContainerCommandRunner } from '../health/probes';
import type { Logger } from '../logger';
import { planReconcile, PlannedAction } from '../reconcile/plan';
import { sameReport, UnitPhase, UnitStatus } from '../report/unit-status';
import type { ContainerInfo, HostPorts } from '../runtime/ports';
import { UnitRecordStore } from '../state/unit-record';
import { createContainer, removeContainer, startContainer, stopContainer } from './container-steps';
import { DesiredEntry, toDesiredUnit } from './desired-unit';
import { ManagedUnit, newManagedUnit, observe } from './managed-unit';
import { decideAfterExit, emptyHistory, ExitEvent, recordStart } from './restart-policy';
import { UnitAttachments } from './unit-attachments';

/** How often a reconcile pass runs, as fleet's agent reconciled against systemd every second. */
export const POLL_INTERVAL_MS = 1000;
/**
 * Exits arrive as events from the runtime; every running container's state is also read at this
 * interval, in case an event was missed. Reading all states every second made the agent's heap
 * churn grow with the number of containers.
 */
export const STATE_POLL_FALLBACK_MS = 10_000;

export interface SupervisorOptions {
  ports: HostPorts;
  stateDir: string;
  runDir: string;
  log: Logger;
  logLimits: { maxBytes: number; maxFiles: number };
  commandRunner: ContainerCommandRunner;
  /** Called with every status that differs from the last one sent for that unit. */
  onStatus: (status: UnitStatus) => void;
  now?: () => number;
}

/**
 * Runs the desired units on this host. Each pass checks container exits, applies restart
 * policies, plans with `planReconcile` and starts each unit's steps. A unit's steps run one after
 * another while other units proceed. Containers outlive the supervisor: `close()` only stops its
 * timers, and `recover()` adopts what a previous agent left running.
 */
export class Supervisor {
  private desired = new Map<string, DesiredEntry>();
  private readonly units = new Map<string, ManagedUnit>();
  private readonly presentImages = new Set<string>();
  private readonly store: UnitRecordStore;
  private readonly attachments: UnitAttachments;
  private readonly log: Logger;
  private readonly now: () => number;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastFullPollMs = 0;
  private ticking = false;
  private tickAgain = false;
  private closed = false;
  private started = false;

  constructor(private readonly options: SupervisorOptions) {
    this.log = options.log.child({ component: 'supervisor' });
    this.now = options.now ?? Date.now;
    this.store = new UnitRecordStore(join(options.stateDir, 'units'));
    this.attachments = new UnitAttachments({
      runDir: options.runDir,
      logsDir: this.logsDir(),
      logLimits: options.logLimits,
      commandRunner: options.commandRunner,
      onHealth: (managed) => this.publish(managed),
    });
  }

  /** Directory of the per-unit journals. */
  logsDir(): string {
    return join(this.options.stateDir, 'logs');
  }

  /** Current status of every unit the supervisor runs. */
  statuses(): UnitStatus[] {
    return [...this.units.values()].map((managed) => managed.record.status);
  }

  /** Replaces the desired set (AssignmentSet) and schedules a pass. */
  setDesired(entries: DesiredEntry[]): void {
    this.desired = new Map(entries.map((entry) => [entry.name, entry]));
    this.reportInvalidEntries(entries);
    this.requestTick();
  }

  /** Applies an AssignmentUpdate and schedules a pass. */
  updateDesired(upserts: DesiredEntry[], removals: string[]): void {
    for (const entry of upserts) this.desired.set(entry.name, entry);
    for (const name of removals) this.desired.delete(name);
    this.reportInvalidEntries(upserts);
    this.requestTick();
  }

  private reportInvalidEntries(entries: DesiredEntry[]): void {
    for (const entry of entries) if (entry.invalid !== undefined) this.reportInvalid(entry);
  }

  desiredEntries(): DesiredEntry[] {
    return [...this.desired.values()];
  }

  /** Starts periodic passes. Call after `recover()`. */
  start(): void {
    this.started = true;
    this.pollTimer = setInterval(() => this.requestTick(), POLL_INTERVAL_MS);
    this.attachments.startPumping();
    this.requestTick();
  }

  /** Stops timers, health checks and log copying; containers keep running. */
  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.attachments.stopPumping();
    for (const managed of this.units.values()) {
      if (managed.restartTimer) clearTimeout(managed.restartTimer);
      this.attachments.detach(managed);
    }
  }

  /** Resolves once no unit is busy and nothing is left to run or remove (used by drain and tests). */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    while (this.now() < deadline) {
      const idle = !this.ticking && [...this.units.values()].every((managed) => !managed.busy);
      if (idle && this.desired.size === 0 && this.units.size === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  /** Schedules a pass; passes never overlap, a request during one runs another right after. */
  requestTick(): void {
    if (this.closed || !this.started) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    void this.tick()
      .catch((error) => this.log.error({ err: error }, 'reconcile pass failed'))
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.requestTick();
        }
      });
  }

  /**
   * Adopts what the state directory and the runtime hold: running containers stay as they are,
   * containers that exited meanwhile go through their restart policy, and containers, root
   * filesystems and networks without a record are removed.
   */
  async recover(): Promise<void> {
    const containers = new Map((await this.options.ports.runtime.list()).map((info) => [info.id, info]));
    for (const record of this.store.loadAll()) {
      const entry = this.desired.get(record.unit);
      const managed = newManagedUnit(record.unit, record.hash, record.image, entry?.unit?.service.timeoutStopSecMs ?? DEFAULT_TIMEOUT_STOP_SEC_MS);
      managed.record = record;
      this.units.set(record.unit, managed);
      await this.adopt(managed, containers.get(record.containerId));
    }
    await this.removeOrphans(containers);
  }

  private async adopt(managed: ManagedUnit, info: ContainerInfo | undefined): Promise<void> {
    const { record } = managed;
    const log = this.log.child({ unit: record.unit, container: record.containerId });
    if (record.containerId === '') return;
    if (info === undefined) {
      log.warn('container of this unit no longer exists (host restarted?); it will be created again');
      await removeContainer(this.options.ports, this.options.runDir, record.containerId).catch((error) => log.warn({ err: error }, 'cleanup of the missing container failed'));
      record.containerId = '';
      this.store.save(record);
      return;
    }
    if (info.status === 'running') {
      log.info({ pid: info.pid }, 'adopted running container');
      this.setPhase(managed, 'running');
      this.attachments.attach(managed, this.desired.get(record.unit), info.pid);
      this.watchExit(managed);
    } else if (info.status === 'stopped' && ['running', 'starting', 'stopping'].includes(record.status.phase)) {
      log.info('container exited while the agent was away');
      this.attachments.attachPumpOnly(managed);
      this.handleExit(managed, info);
    } else if (info.status === 'created' && record.status.phase !== 'created') {
      // The previous agent stopped between create and start; the plan starts it if it is launched.
      this.setPhase(managed, 'created');
    } else if (info.status === 'creating') {
      log.warn('container was left half-created; removing it so it is created again');
      await removeContainer(this.options.ports, this.options.runDir, record.containerId).catch((error) => log.warn({ err: error }, 'removing the half-created container failed'));
      record.containerId = '';
      this.store.save(record);
    }
  }

  private async removeOrphans(containers: Map<string, ContainerInfo>): Promise<void> {
    const known = new Set([...this.units.values()].map((managed) => managed.record.containerId).filter(Boolean));
    const leftovers = new Set([...containers.keys(), ...(await this.options.ports.rootfs.list())]);
    for (const id of leftovers) {
      if (known.has(id)) continue;
      this.log.warn({ container: id }, 'removing container without a unit record');
      await removeContainer(this.options.ports, this.options.runDir, id).catch((error) => this.log.error({ err: error, container: id }, 'removing leftover container failed'));
    }
    await this.options.ports.network.collectGarbage([...known]).catch((error) => this.log.error({ err: error }, 'network garbage collection failed'));
  }

  private async tick(): Promise<void> {
    await this.pollContainers();
    await this.lookupImages();

    const idle = [...this.units.values()].filter((managed) => !managed.busy);
    const busyNames = new Set([...this.units.values()].filter((managed) => managed.busy).map((managed) => managed.record.unit));
    const desired = [...this.desired.values()].filter((entry) => !busyNames.has(entry.name)).map(toDesiredUnit);
    const observed = idle.map((managed) => observe(managed, this.now()));
    for (const plan of planReconcile(desired, observed, this.presentImages)) {
      if (this.mayRun(plan.unit, plan.actions)) void this.runPlan(plan.unit, plan.actions);
    }
  }

  /** Skips units waiting for a retry, and units whose assignment failed for good (unless tearing down). */
  private mayRun(name: string, actions: PlannedAction[]): boolean {
    const managed = this.units.get(name);
    if (!managed) return true;
    if ((managed.retryAtMs ?? 0) > this.now()) return false;
    const entry = this.desired.get(name);
    if (!entry) return true;
    const teardownOnly = actions.every((action) => action.kind === 'stop' || action.kind === 'remove');
    if (entry.invalid !== undefined) return teardownOnly;
    return managed.blockedFor !== `${entry.hash}/${entry.state}` || teardownOnly;
  }

  private async pollContainers(): Promise<void> {
    const fullPoll = this.now() - this.lastFullPollMs >= STATE_POLL_FALLBACK_MS;
    if (fullPoll) this.lastFullPollMs = this.now();
    for (const managed of this.units.values()) {
      if (managed.busy || managed.record.containerId === '' || managed.record.status.phase !== 'running') continue;
      if (!fullPoll && !managed.exitPending) continue;
      managed.exitPending = false;
      let info: ContainerInfo | undefined;
      try {
        info = await this.options.ports.runtime.state(managed.record.containerId);
      } catch (error) {
        // Only a container the runtime no longer lists counts as gone, and a failed read is retried.
        this.log.warn({ err: error, unit: managed.record.unit, container: managed.record.containerId }, 'reading the container state failed');
        continue;
      }
      if (info === undefined || info.status === 'stopped') this.handleExit(managed, info);
    }
  }

  /** Asks the runtime to report the container's exit; the next pass handles it. */
  private watchExit(managed: ManagedUnit): void {
    const containerId = managed.record.containerId;
    this.options.ports.runtime.waitExit(containerId).then(
      () => {
        if (managed.record.containerId !== containerId) return;
        managed.exitPending = true;
        this.requestTick();
      },
      (error) => this.log.warn({ err: error, unit: managed.record.unit, container: containerId }, 'cannot watch the container exit; the periodic state check covers it'),
    );
  }

  private async lookupImages(): Promise<void> {
    for (const entry of this.desired.values()) {
      const image = entry.unit?.container?.image;
      if (image === undefined || this.presentImages.has(image)) continue;
      if (await this.options.ports.images.lookup(image).catch(() => undefined)) this.presentImages.add(image);
    }
  }

  /** Applies the restart policy to a container that exited without the agent asking. */
  private handleExit(managed: ManagedUnit, info: ContainerInfo | undefined): void {
    const { record } = managed;
    managed.exitPending = false;
    this.attachments.finish(managed);
    const exit: ExitEvent = {
      exitCode: info?.exit?.exitCode,
      signal: info?.exit?.signal,
      oomKilled: info?.exit?.oomKilled ?? false,
      startedAtMs: record.startedAtMs ?? this.now(),
      exitedAtMs: this.now(),
    };
    Object.assign(record.status, { exitCode: exit.exitCode, signal: exit.signal, oomKilled: exit.oomKilled });
    if (info === undefined) record.status.lastError = `container ${record.containerId} disappeared from the runtime`;

    const service = this.desired.get(record.unit)?.unit?.service;
    const outcome = service ? decideAfterExit(service, record.history, exit) : undefined;
    const log = this.log.child({ unit: record.unit, container: record.containerId });
    if (outcome === undefined || outcome.decision.kind === 'stay-down') {
      record.status.result = outcome?.decision.result;
      log.info({ exitCode: exit.exitCode, signal: exit.signal }, 'container exited; the restart policy keeps it down');
      this.setPhase(managed, 'exited');
      return;
    }
    record.history = outcome.history;
    record.status.result = outcome.decision.result;
    record.status.restarts = outcome.history.restarts;
    if (outcome.decision.kind === 'start-limit-hit') {
      record.status.lastError = outcome.decision.reason;
      log.warn({ exitCode: exit.exitCode, signal: exit.signal }, outcome.decision.reason);
      this.setPhase(managed, 'failed');
      return;
    }
    const delayMs = outcome.decision.delayMs;
    record.restartAtMs = this.now() + delayMs;
    log.info({ exitCode: exit.exitCode, signal: exit.signal, delayMs, restarts: record.status.restarts }, 'container exited; restarting per Restart=');
    this.setPhase(managed, 'auto-restart');
    managed.restartTimer = setTimeout(() => this.requestTick(), delayMs + 1);
  }

  private async runPlan(name: string, actions: PlannedAction[]): Promise<void> {
    const entry = this.desired.get(name);
    let managed = this.units.get(name);
    if (!managed) {
      if (!entry) return;
      managed = newManagedUnit(name, entry.hash, entry.unit?.container?.image ?? '', entry.unit?.service.timeoutStopSecMs ?? DEFAULT_TIMEOUT_STOP_SEC_MS);
      this.units.set(name, managed);
    }
    managed.busy = true;
    const log = this.log.child({ unit: name });
    try {
      for (const action of actions) {
        log.info({ action: action.kind, reason: action.reason, container: managed.record.containerId || undefined }, `${action.kind}: ${action.reason}`);
        await this.runAction(managed, entry, action);
      }
      managed.retryBackoff.reset();
      managed.retryAtMs = undefined;
      managed.blockedFor = undefined;
    } catch (error) {
      this.recordFailure(managed, entry, error);
    } finally {
      managed.busy = false;
      this.requestTick();
    }
  }

  private recordFailure(managed: ManagedUnit, entry: DesiredEntry | undefined, error: unknown): void {
    const { record } = managed;
    const retryable = (error as { retryable?: boolean }).retryable === true;
    const repeated = record.status.lastError === errorMessage(error);
    record.status.lastError = errorMessage(error);
    const log = this.log.child({ unit: record.unit, container: record.containerId || undefined });
    // Every failure waits before the next attempt, so a step that keeps failing (a teardown, which
    // is always retried) cannot spin.
    const delayMs = managed.retryBackoff.next();
    managed.retryAtMs = this.now() + delayMs;
    setTimeout(() => this.requestTick(), delayMs + 1).unref();
    if (retryable || entry === undefined) {
      // The same failure on every retry is logged once at warn, then at debug.
      if (repeated) log.debug({ err: error, delayMs, attempt: managed.retryBackoff.attempts }, 'step failed again; retrying');
      else log.warn({ err: error, delayMs }, 'step failed; retrying');
      this.publish(managed);
      return;
    }
    log.error({ err: error }, 'step failed; not retrying until the assignment changes');
    managed.blockedFor = `${entry.hash}/${entry.state}`;
    this.setPhase(managed, 'failed');
  }

  private async runAction(managed: ManagedUnit, entry: DesiredEntry | undefined, action: PlannedAction): Promise<void> {
    switch (action.kind) {
      case 'pull':
        return this.pull(managed, entry!);
      case 'create':
        return this.create(managed, entry!);
      case 'start':
        return this.startUnit(managed, entry);
      case 'stop':
        return this.stop(managed);
      case 'remove':
        return this.remove(managed, entry);
    }
  }

  private async pull(managed: ManagedUnit, entry: DesiredEntry): Promise<void> {
    const image = entry.unit!.container!.image;
    this.setPhase(managed, 'pulling');
    let lastLoggedPercent = -1;
    await this.options.ports.images.pull(image, (progress) => {
      const percent = progress.totalBytes > 0 ? Math.floor((progress.completedBytes / progress.totalBytes) * 10) * 10 : 0;
      if (percent === lastLoggedPercent) return;
      lastLoggedPercent = percent;
      this.log.info({ unit: entry.name, image, completedBytes: progress.completedBytes, totalBytes: progress.totalBytes }, `pulling ${image}: ${percent}%`);
    });
    this.presentImages.add(image);
  }

  private async create(managed: ManagedUnit, entry: DesiredEntry): Promise<void> {
    const unit = entry.unit!;
    const { record } = managed;
    const restartingAfterExit = record.status.phase === 'auto-restart' && record.hash === entry.hash;
    this.setPhase(managed, 'creating');
    const image = await this.options.ports.images.lookup(unit.container!.image);
    // Forgetting the image makes the retry pull it again, for example after an image prune.
    if (!image) this.presentImages.delete(unit.container!.image);
    if (!image) throw Object.assign(new Error(`image ${unit.container!.image} is not in the local store after the pull`), { retryable: true });

    const created = await createContainer(this.options.ports, this.options.runDir, unit, image);
    if (!restartingAfterExit) {
      record.history = emptyHistory();
      record.status = { ...record.status, restarts: 0, result: undefined };
      // The exit of a deliberate stop stays visible while the same version waits to start again;
      // a new version starts with no exit.
      if (record.hash !== entry.hash) Object.assign(record.status, { exitCode: undefined, signal: undefined, oomKilled: false });
    }
    Object.assign(record, { hash: entry.hash, image: unit.container!.image, containerId: created.containerId, address: created.address, user: created.user });
    Object.assign(record.status, { hash: entry.hash, containerId: created.containerId, imageDigest: image.digest, lastError: '', loadState: 'loaded' });
    managed.timeoutStopMs = unit.service.timeoutStopSecMs;
    this.setPhase(managed, 'created');
  }

  private async startUnit(managed: ManagedUnit, entry: DesiredEntry | undefined): Promise<void> {
    const { record } = managed;
    if (entry?.unit) record.history = recordStart(entry.unit.service, record.history, this.now());
    record.restartAtMs = undefined;
    this.setPhase(managed, 'starting');
    this.attachments.attachPumpOnly(managed);
    const pid = await startContainer(this.options.ports, record.containerId);
    record.startedAtMs = this.now();
    record.status.health = entry?.unit?.container?.health ? 'starting' : 'none';
    this.setPhase(managed, 'running');
    this.attachments.attach(managed, entry, pid);
    this.watchExit(managed);
  }

  private async stop(managed: ManagedUnit): Promise<void> {
    const { record } = managed;
    this.attachments.stopHealth(managed);
    this.setPhase(managed, 'stopping');
    const stopResult = await stopContainer(this.options.ports, record.containerId, managed.timeoutStopMs);
    this.log.info({ unit: record.unit, container: record.containerId, stopResult }, 'container stopped');

    // A stopped unit has no health, and its last exit is the one this stop caused.
    const info = await this.options.ports.runtime.state(record.containerId).catch(() => undefined);
    record.status.health = 'none';
    if (info?.exit) Object.assign(record.status, { exitCode: info.exit.exitCode, signal: info.exit.signal, oomKilled: info.exit.oomKilled });
    this.attachments.finish(managed);
  }

  private async remove(managed: ManagedUnit, entry: DesiredEntry | undefined): Promise<void> {
    const { record } = managed;
    this.attachments.detach(managed);
    if (record.containerId !== '') await removeContainer(this.options.ports, this.options.runDir, record.containerId);
    record.containerId = '';
    record.status.containerId = '';
    if (entry !== undefined && entry.invalid === undefined) {
      this.store.save(record);
      return;
    }
    // The unit is gone from this host (or cannot run): drop its record and journal, report the removal.
    if (managed.restartTimer) clearTimeout(managed.restartTimer);
    this.store.delete(record.unit);
    rmSync(join(this.logsDir(), record.unit), { recursive: true, force: true });
    this.units.delete(record.unit);
    if (entry === undefined) {
      this.setPhase(managed, 'removed');
    } else {
      record.status.loadState = 'error';
      record.status.lastError = entry.invalid!;
      this.setPhase(managed, 'failed');
    }
  }

  /** Reports a unit whose assignment cannot run, without creating anything. */
  private reportInvalid(entry: DesiredEntry): void {
    if (this.units.has(entry.name)) return;
    const status: UnitStatus = { ...newManagedUnit(entry.name, entry.hash, '', 0).record.status, loadState: 'error', phase: 'failed', lastError: entry.invalid ?? '' };
    this.options.onStatus(status);
  }

  private setPhase(managed: ManagedUnit, phase: UnitPhase): void {
    managed.record.status.phase = phase;
    this.publish(managed);
  }

  private lastSent = new Map<string, UnitStatus>();

  /** Saves the record and sends the status when it changed. */
  private publish(managed: ManagedUnit): void {
    const status = managed.record.status;
    if (status.phase !== 'removed' && this.units.has(managed.record.unit)) this.store.save(managed.record);
    const previous = this.lastSent.get(status.name);
    if (previous && sameReport(previous, status)) return;
    const copy = structuredClone(status);
    if (status.phase === 'removed') this.lastSent.delete(status.name);
    else this.lastSent.set(status.name, copy);
    this.options.onStatus(copy);
  }
}
