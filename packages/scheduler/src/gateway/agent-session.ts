import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Lease } from 'etcd3';
import { Logger } from 'pino';
import { SchedulerConfig } from '../config/config';
import { SchedulerError, toSchedulerError } from '../errors';
import { EtcdStore } from '../store/etcd-store.service';
import { MirroredAssignment } from '../store/mirror';
import { ConnectionRecord, effectiveMetadata, MachineRecord } from '../store/records';
import { AgentMessage, SchedulerMessage, WireAssignment } from './proto';
import { machineFromHello, stateFromReport } from './validate';

const HELLO_TIMEOUT_MS = 10_000;

/** Lifecycle of one agent stream; every change goes through `transition`. */
export type SessionState = 'awaiting-hello' | 'registering' | 'active' | 'closed';

/** Receives the lines of one journal request relayed from an agent. */
export interface LogSink {
  onLines(lines: string[]): void;
  /** Called once; `error` is set when the agent could not serve the request. */
  onEnd(error?: string): void;
}

/** The gateway services a session uses. */
export interface SessionHost {
  readonly store: EtcdStore;
  readonly config: SchedulerConfig;
  readonly httpUrl: string;
  sessionLease(): Promise<Lease>;
  /** Registers the session under its machine id once the connection key is claimed. */
  attach(session: AgentSession): void;
  detach(session: AgentSession): void;
}

export type AgentCall = grpc.ServerDuplexStream<AgentMessage, SchedulerMessage>;

/**
 * One agent's stream: Hello, registration (connection claim, presence lease, machine record),
 * then heartbeats, state reports and log chunks in, assignment sets and updates out.
 */
export class AgentSession {
  state: SessionState = 'awaiting-hello';
  machineId = '';
  private presence: Lease | undefined;
  private presenceId = '';
  private machine: MachineRecord | undefined;
  private connection: ConnectionRecord | undefined;
  private lastRecordWriteMs = 0;
  private generation = 0;
  private readonly logSinks = new Map<string, LogSink>();
  private queue: Promise<void> = Promise.resolve();
  private helloTimer: NodeJS.Timeout | undefined;
  private drained = false;
  private log: Logger;

  constructor(
    private readonly call: AgentCall,
    private readonly host: SessionHost,
    logger: Logger,
    private readonly metadataToken: boolean,
    private readonly checkToken: (token: string) => boolean,
  ) {
    this.log = logger.child({ peer: call.getPeer() });
  }

  start(): void {
    this.helloTimer = setTimeout(() => this.fail(grpc.status.DEADLINE_EXCEEDED, `no Hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    this.call.on('data', (message: AgentMessage) => {
      this.queue = this.queue.then(() => this.handle(message)).catch((error) => this.onHandlerError(error));
    });
    this.call.on('end', () => void this.close('agent ended the stream'));
    this.call.on('cancelled', () => void this.close('stream cancelled'));
    this.call.on('error', (error) => void this.close(`stream error: ${error.message}`));
  }

  /** Re-reads the state after an await: the stream may have ended meanwhile. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private transition(next: SessionState, why: string): void {
    if (this.state === next || this.state === 'closed') return;
    this.log.info({ from: this.state, to: next, why }, `agent session ${this.state} -> ${next}`);
    this.state = next;
  }

  private async handle(message: AgentMessage): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting-hello') {
      if (message.body !== 'hello' || message.hello === undefined) {
        this.fail(grpc.status.INVALID_ARGUMENT, `the first message must be Hello, got ${message.body ?? 'an empty message'}`);
        return;
      }
      await this.register(message);
      return;
    }
    switch (message.body) {
      case 'heartbeat':
        return this.heartbeat();
      case 'unitState':
        return this.reportState(message);
      case 'logChunk':
        return this.deliverLogs(message);
      case 'drain':
        return this.drain(message.drain?.reason ?? '');
      case 'hello':
        this.sendError('invalid_message', 'Hello was already received on this stream', false);
        return;
      default:
        this.sendError('invalid_message', `unknown or empty message ${String(message.body)}`, false);
    }
  }

  private async register(message: AgentMessage): Promise<void> {
    clearTimeout(this.helloTimer);
    const hello = message.hello!;
    if (!this.metadataToken && !this.checkToken(hello.joinToken ?? '')) {
      this.log.warn({ machine: hello.machineId }, 'join token rejected');
      this.fail(grpc.status.UNAUTHENTICATED, 'join token rejected: pass the cluster join token as "authorization: Bearer TOKEN" call metadata');
      return;
    }
    const machine = machineFromHello(hello, this.host.config.replicaId);
    this.machineId = machine.id;
    this.log = this.log.child({ machine: machine.id });
    this.transition('registering', 'Hello received');

    const claim: ConnectionRecord = {
      machineId: machine.id,
      replicaId: this.host.config.replicaId,
      httpUrl: this.host.httpUrl,
      peer: this.call.getPeer(),
      connectedAt: new Date().toISOString(),
    };
    const holder = await this.host.store.claimConnection(claim, await this.host.sessionLease());
    if (holder !== undefined) {
      this.log.warn({ holderPeer: holder.peer, holderReplica: holder.replicaId }, 'duplicate machine id rejected');
      this.fail(
        grpc.status.ALREADY_EXISTS,
        `machine id ${machine.id} is already connected from ${holder.peer} via scheduler ${holder.replicaId}; ` +
          'give each host its own /etc/machine-id. If that agent just died, retry after a few seconds.',
      );
      return;
    }
    if (this.isClosed()) {
      // The stream ended while the claim was in flight; close() had nothing to release yet.
      await this.host.store.deleteIfValue(this.host.store.keys.connection(machine.id), claim);
      return;
    }
    this.connection = claim;
    this.host.attach(this);
    await this.writePresence(machine);
    if (this.isClosed()) {
      this.presence?.release();
      return;
    }
    this.transition('active', 'registered');
    this.sendWelcome();
    this.sendFullSet();
    this.logUnassignedRunning(hello.running ?? []);
  }

  /**
   * Logs units the agent runs that are not assigned to it. The assignment table in etcd is the
   * truth, so the agent stops them when it applies the set; the log line explains why.
   */
  private logUnassignedRunning(running: Array<{ name: string }>): void {
    const assigned = this.host.store.mirror.assignments.get(this.machineId);
    const stray = running.map((r) => r.name).filter((name) => !assigned?.has(name));
    if (stray.length > 0) this.log.info({ units: stray.slice(0, 20), count: stray.length }, 'agent runs units not assigned to it; it will stop them');
  }

  /** Puts the machine record on the presence lease, granting a new lease when there is none. */
  private async writePresence(machine: MachineRecord): Promise<void> {
    if (this.presence === undefined) {
      this.presence = this.host.store.lease(this.host.config.presenceTtlS, false);
      this.presenceId = await this.presence.grant();
    }
    machine.lastSeen = new Date().toISOString();
    await this.host.store.put(this.host.store.keys.machine(machine.id), machine, this.presenceId);
    this.machine = machine;
    this.lastRecordWriteMs = Date.now();
  }

  private async heartbeat(): Promise<void> {
    const remainingS = await this.host.store.keepAliveOnce(this.presence!);
    if (remainingS <= 0) {
      // The machine expired (missed heartbeats); come back as a new presence. Its units were
      // placed elsewhere meanwhile, and the agent learns that from the assignment updates.
      this.log.warn('presence lease had expired; registering the machine again');
      this.presence = undefined;
      await this.writePresence(this.machine!);
      return;
    }
    // lastSeen only informs operators; rewriting the record on every heartbeat would double the
    // etcd writes of a large cluster, so it is refreshed about every half presence TTL.
    const refreshMs = (this.host.config.presenceTtlS * 1000) / 2;
    if (Date.now() - this.lastRecordWriteMs >= refreshMs) await this.writePresence(this.machine!);
  }

  private async reportState(message: AgentMessage): Promise<void> {
    const record = stateFromReport(message.unitState!, this.machineId);
    if (message.unitState!.removed) {
      await this.host.store.delete(this.host.store.keys.state(record.name, this.machineId));
      return;
    }
    await this.host.store.putState(record, this.presenceId);
  }

  private deliverLogs(message: AgentMessage): void {
    const chunk = message.logChunk!;
    const sink = this.logSinks.get(chunk.requestId);
    if (sink === undefined) return; // Cancelled meanwhile; late chunks are expected.
    if (chunk.lines.length > 0) sink.onLines(chunk.lines);
    if (chunk.eof || chunk.error) {
      this.logSinks.delete(chunk.requestId);
      sink.onEnd(chunk.error || undefined);
    }
  }

  private async drain(reason: string): Promise<void> {
    this.log.info({ reason }, 'agent is draining; expiring its presence now');
    this.drained = true;
    if (this.presenceId !== '') await this.host.store.revokeLease(this.presenceId);
    this.call.end();
    await this.close('drained');
  }

  private sendWelcome(): void {
    const machine = this.machine!;
    const metadata = effectiveMetadata(machine.metadata, this.host.store.mirror.dynamicMetadata.get(machine.id));
    this.write({
      welcome: {
        machine: { ...machine, metadata, capacity: { cpus: machine.capacity.cpus, memoryBytes: String(machine.capacity.memoryBytes) } },
        heartbeatIntervalMs: Math.floor((this.host.config.presenceTtlS * 1000) / 3),
        schedulerId: this.host.config.replicaId,
      },
    });
  }

  /**
   * Sends the machine's complete desired set at the mirror's revision.
   * NOTE: one message carries every unit text of the machine; past grpc-js's default 4 MiB receive
   * limit the agent must raise `grpc.max_receive_message_length`, as the set is not split.
   */
  sendFullSet(): void {
    if (this.state !== 'active') return;
    const mirror = this.host.store.mirror;
    const table = mirror.assignments.get(this.machineId) ?? new Map<string, MirroredAssignment>();
    const assignments = [...table.values()].map((a) => toWire(a));
    this.generation = Math.max(this.generation + 1, mirror.revision);
    this.write({ assignmentSet: { generation: String(this.generation), assignments } });
  }

  /** Sends changes to this machine's assignments seen at `revision`; older revisions are dropped. */
  sendUpdate(upserts: MirroredAssignment[], removals: string[], revision: number): void {
    if (this.state !== 'active' || revision <= this.generation) return;
    this.generation = revision;
    this.write({ assignmentUpdate: { generation: String(revision), upserts: upserts.map(toWire), removals } });
  }

  /** Asks the agent for a unit's journal; returns a function that cancels the request. */
  requestLogs(unit: string, lines: number, follow: boolean, sink: LogSink): () => void {
    const requestId = randomUUID();
    this.logSinks.set(requestId, sink);
    this.write({ logRequest: { requestId, unit, lines, follow } });
    return () => {
      if (!this.logSinks.delete(requestId)) return;
      this.write({ cancelLogRequest: { requestId } });
    };
  }

  private write(message: SchedulerMessage): void {
    if (this.state === 'closed') return;
    this.call.write(message);
  }

  private sendError(code: string, message: string, fatal: boolean): void {
    this.log.warn({ code }, message);
    this.write({ error: { code, message, fatal } });
  }

  private onHandlerError(error: unknown): void {
    const failure: SchedulerError = toSchedulerError(error, `agent ${this.machineId || 'before Hello'}`);
    if (this.state === 'awaiting-hello' || this.state === 'registering') {
      const status = failure.code === 'invalid_argument' ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE;
      this.fail(status, failure.message);
      return;
    }
    // After registration a bad message costs only that message; etcd trouble is reported too.
    this.sendError(failure.code === 'invalid_argument' ? 'invalid_message' : 'unavailable', failure.message, false);
  }

  /** Ends the call with a gRPC status for the agent, then cleans up. */
  fail(code: grpc.status, details: string): void {
    if (this.state === 'closed') return;
    this.log.warn({ code: grpc.status[code] }, `closing agent stream: ${details}`);
    // Closing first records the real cause; the emitted error then finds the session closed.
    void this.close(details);
    this.call.emit('error', { code, details, metadata: new grpc.Metadata() });
  }

  /** Releases the connection claim. The presence lease is left to expire unless the agent drained. */
  async close(why: string): Promise<void> {
    if (this.state === 'closed') return;
    clearTimeout(this.helloTimer);
    this.transition('closed', why);
    for (const sink of this.logSinks.values()) sink.onEnd('the agent disconnected');
    this.logSinks.clear();
    this.host.detach(this);
    if (this.connection !== undefined) {
      await this.host.store.deleteIfValue(this.host.store.keys.connection(this.machineId), this.connection).catch((error) => {
        this.log.warn({ err: (error as Error).message }, 'could not release the connection claim; it expires with the session lease');
      });
    }
    if (!this.drained) this.presence?.release();
  }
}

function toWire(assignment: MirroredAssignment): WireAssignment {
  const record = assignment.record;
  return {
    unitName: record.unit,
    unitText: record.text,
    unitHash: record.hash,
    desiredState: record.desiredState === 'loaded' ? 'DESIRED_STATE_LOADED' : 'DESIRED_STATE_LAUNCHED',
  };
}
