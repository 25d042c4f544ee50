import { hostname } from 'node:os';
import type { AgentConfig } from './config/agent-config';
import { LogRequests } from './logs/log-requests';
import type { Logger } from './logger';
import { AgentGatewayClientConstructor, AgentMessage, SchedulerMessage } from './connection/proto';
import { SchedulerLink } from './connection/scheduler-link';
import { ControlCommand, ControlServer, controlSocketPath } from './control/control-socket';
import type { ContainerCommandRunner } from './health/probes';
import { toReportMessage, UnitStatus } from './report/unit-status';
import { MemoryReclaimer, ReclaimSteps } from './runtime/memory-reclaimer';
import type { HostPorts } from './runtime/ports';
import { AssignmentStore } from './state/assignment-store';
import { AssignmentMessage, parseAssignment } from './supervise/desired-unit';
import { Supervisor } from './supervise/supervisor';

export const AGENT_VERSION = '0.1.0';
/** How long a drain waits for every unit to stop and be removed. */
export const DRAIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface AgentOptions {
  config: AgentConfig;
  ports: HostPorts;
  log: Logger;
  commandRunner: ContainerCommandRunner;
  client: AgentGatewayClientConstructor;
  /**
   * A full garbage collection and malloc_trim (through the runtime addon), which the agent runs when
   * it has gone quiet after a burst of work. Leave it out where there is no addon (unit tests).
   */
  reclaimSteps?: ReclaimSteps;
}

/**
 * The agent: keeps a stream to the scheduler, applies its assignments through the supervisor,
 * reports unit states and serves log requests. Stopping the agent leaves containers running;
 * `drain()` stops them on purpose after telling the scheduler.
 */
export class Agent {
  private readonly supervisor: Supervisor;
  private readonly link: SchedulerLink;
  private readonly assignments: AssignmentStore;
  private readonly logRequests: LogRequests;
  private readonly control: ControlServer;
  private readonly log: Logger;
  private readonly reclaimer: MemoryReclaimer | undefined;
  /** Statuses not yet sent because the stream was down, by unit. */
  private readonly unsent = new Map<string, UnitStatus>();
  private generation = 0n;
  /** True until the first AssignmentSet after a Welcome, which is applied whatever its generation. */
  private awaitingResync = true;
  private draining: Promise<void> | undefined;
  private readonly drainedListeners: Array<() => void> = [];

  constructor(private readonly options: AgentOptions) {
    const { config } = options;
    this.log = options.log;
    if (options.reclaimSteps) {
      this.reclaimer = new MemoryReclaimer(options.reclaimSteps, (result) =>
        this.log.debug({ ...result }, 'collected garbage and trimmed malloc after a burst of work'));
    }
    this.assignments = new AssignmentStore(config.stateDir);
    this.supervisor = new Supervisor({
      ports: options.ports,
      stateDir: config.stateDir,
      runDir: config.runDir,
      log: options.log,
      logLimits: { maxBytes: config.logMaxBytes, maxFiles: config.logMaxFiles },
      commandRunner: options.commandRunner,
      onStatus: (status) => this.report(status),
    });
    this.logRequests = new LogRequests(this.supervisor.logsDir(), (chunk) => this.link.send({ logChunk: chunk }));
    this.link = new SchedulerLink({
      endpoints: config.schedulers,
      joinToken: config.joinToken,
      ca: config.schedulerCa,
      client: options.client,
      log: options.log,
      hello: () => this.hello(),
      onMessage: (message) => this.receive(message),
      onConnected: () => this.connected(),
    });
    this.control = new ControlServer(controlSocketPath(config.runDir), (command, reply) => this.controlCommand(command, reply));
  }

  /** Applies the stored assignment, adopts existing containers, then connects. */
  async start(): Promise<void> {
    const stored = this.assignments.load();
    if (stored) {
      this.generation = BigInt(stored.generation);
      this.supervisor.setDesired(stored.assignments.map((assignment) => this.parse(assignment)));
      this.log.info({ rev: stored.generation, units: stored.assignments.length }, 'applying the stored assignment until the scheduler sends one');
    }
    await this.supervisor.recover();
    this.supervisor.start();
    await this.control.listen();
    this.link.start();
  }

  /** Stops the agent without touching containers. */
  stop(): void {
    this.logRequests.cancelAll();
    this.link.close();
    this.supervisor.close();
    this.options.ports.images.close?.();
    this.reclaimer?.close();
    this.control.close();
  }

  /**
   * Tells the scheduler the agent is leaving, then stops and removes every unit and clears the
   * stored assignment, so a restarted agent does not start them again before the scheduler sends its assignment.
   */
  drain(reason: string): Promise<void> {
    this.draining ??= this.runDrain(reason);
    return this.draining;
  }

  private async runDrain(reason: string): Promise<void> {
    this.log.info({ reason }, 'draining: telling the scheduler, then stopping every unit');
    const told = await this.link.drain(reason);
    if (!told) this.log.warn('the scheduler was not reachable; units are stopped without notice');
    this.assignments.save({ generation: this.generation.toString(), assignments: [] });
    this.supervisor.setDesired([]);
    const done = await this.supervisor.settled(DRAIN_TIMEOUT_MS);
    if (!done) throw new Error(`units did not stop within ${DRAIN_TIMEOUT_MS} ms`);
    this.log.info('drained');
  }

  private async controlCommand(command: ControlCommand, reply: (line: string) => void): Promise<void> {
    if (command === 'status') {
      // With node --expose-gc, report live memory rather than heap growth awaiting collection.
      (globalThis as { gc?: () => void }).gc?.();
      reply(JSON.stringify({ connection: this.link.state, memory: process.memoryUsage(), units: this.supervisor.statuses().map((status) => toReportMessage(status, Date.now())) }));
      return;
    }
    reply('draining');
    await this.drain('berth-agent drain');
    reply('drained');
    // The agent exits after a requested drain; the reply above is sent before it goes.
    setImmediate(() => this.drainedListeners.forEach((listener) => listener()));
  }

  /** Registers a callback for the end of a drain requested through `berth-agent drain`. */
  onDrained(listener: () => void): void {
    this.drainedListeners.push(listener);
  }

  private hello(): NonNullable<AgentMessage['hello']> {
    const { config } = this.options;
    return {
      machineId: config.machineId,
      address: config.publicAddress,
      metadata: config.metadata,
      capacity: { cpus: config.capacity.cpus, memoryBytes: String(config.capacity.memoryBytes) },
      agentVersion: AGENT_VERSION,
      running: this.supervisor
        .statuses()
        .filter((status) => status.containerId !== '')
        .map((status) => ({ name: status.name, hash: status.hash, containerId: status.containerId })),
    };
  }

  private connected(): void {
    this.awaitingResync = true;
    this.logRequests.cancelAll();
    for (const status of this.supervisor.statuses()) this.unsent.set(status.name, status);
    this.flushReports();
  }

  private report(status: UnitStatus): void {
    this.unsent.set(status.name, status);
    this.flushReports();
    // Every pull, creation, start and exit changes a unit's state, so this marks the bursts of work.
    this.reclaimer?.noteActivity();
  }

  private flushReports(): void {
    for (const [name, status] of this.unsent) {
      if (!this.link.send({ unitState: toReportMessage(status, Date.now()) as unknown as Record<string, unknown> })) return;
      this.unsent.delete(name);
    }
  }

  private receive(message: SchedulerMessage): void {
    if (message.assignmentSet) return this.applySet(message.assignmentSet);
    if (message.assignmentUpdate) return this.applyUpdate(message.assignmentUpdate);
    if (message.logRequest) return this.logRequests.handle(message.logRequest);
    if (message.cancelLogRequest) return this.logRequests.cancel(message.cancelLogRequest.requestId);
  }

  private applySet(set: NonNullable<SchedulerMessage['assignmentSet']>): void {
    const generation = BigInt(set.generation);
    if (generation <= this.generation && !this.awaitingResync) {
      this.log.warn({ rev: set.generation, applied: this.generation.toString() }, 'ignoring an assignment set that is not newer than the applied one');
      return;
    }
    this.awaitingResync = false;
    this.generation = generation;
    if (this.draining) return;
    this.assignments.save({ generation: set.generation, assignments: set.assignments });
    this.log.info({ rev: set.generation, units: set.assignments.length }, 'applying assignment set');
    this.supervisor.setDesired(set.assignments.map((assignment) => this.parse(assignment)));
  }

  private applyUpdate(update: NonNullable<SchedulerMessage['assignmentUpdate']>): void {
    const generation = BigInt(update.generation);
    if (generation <= this.generation) {
      this.log.warn({ rev: update.generation, applied: this.generation.toString() }, 'ignoring an assignment update that is not newer than the applied one');
      return;
    }
    this.generation = generation;
    if (this.draining) return;
    const removals = new Set(update.removals);
    const byName = new Map<string, AssignmentMessage>(
      this.supervisor.desiredEntries().map((entry) => [entry.name, { unitName: entry.name, unitText: entry.text, unitHash: entry.hash, desiredState: entry.state }]),
    );
    for (const assignment of update.upserts) byName.set(assignment.unitName, assignment);
    for (const name of removals) byName.delete(name);
    this.assignments.save({ generation: update.generation, assignments: [...byName.values()] });
    this.log.info({ rev: update.generation, upserts: update.upserts.length, removals: update.removals.length }, 'applying assignment update');
    this.supervisor.updateDesired(update.upserts.map((assignment) => this.parse(assignment)), update.removals);
  }

  private parse(assignment: AssignmentMessage) {
    return parseAssignment(assignment, { hostname: hostname(), machineId: this.options.config.machineId });
  }
}
