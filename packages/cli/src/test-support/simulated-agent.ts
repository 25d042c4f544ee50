import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The repository's scheduler-agent contract. */
const PROTO_FILE = join(__dirname, '..', '..', '..', '..', 'proto', 'berth.proto');
/** Report time of every state, so tables and status output can be compared with golden files. */
export const SIMULATED_REPORT_TIME_MS = Date.parse('2026-12-04T21:00:00.000Z');
export const SIMULATED_IMAGE_DIGEST = `sha256:${'ab'.repeat(32)}`;

export interface SimulatedAgentOptions {
  /** `host:port` of the scheduler's agent gateway. */
  gateway: string;
  joinToken: string;
  machineId: string;
  address: string;
  metadata: Record<string, string>;
}

interface Assignment {
  unitName: string;
  unitText: string;
  unitHash: string;
  desiredState: 'DESIRED_STATE_LOADED' | 'DESIRED_STATE_LAUNCHED' | 'DESIRED_STATE_UNSPECIFIED';
}

type SchedulerMessage =
  | { body: 'welcome'; welcome: { heartbeatIntervalMs: number } }
  | { body: 'assignmentSet'; assignmentSet: { generation: string; assignments: Assignment[] } }
  | { body: 'assignmentUpdate'; assignmentUpdate: { generation: string; upserts: Assignment[]; removals: string[] } }
  | { body: 'logRequest'; logRequest: { requestId: string; unit: string; lines: number; follow: boolean } }
  | { body: 'cancelLogRequest' | 'error'; [key: string]: unknown };

/** Delay before a unit with a health check is reported healthy. */
const HEALTHY_AFTER_MS = 300;
/** Interval between the lines a followed journal appends. */
const FOLLOW_INTERVAL_MS = 100;
/** Units whose image name ends in this fail at once, as a container whose command exits 1. */
export const CRASHING_IMAGE_SUFFIX = '/crash:1';

/**
 * An agent that speaks the real gRPC protocol to a real scheduler but runs no containers: each
 * assigned unit is reported loaded at once, and running when launching is desired. A unit with a
 * health check is reported `starting`, then `healthy`; a unit whose image ends in
 * CRASHING_IMAGE_SUFFIX is reported failed with exit code 1. It lets the CLI tests see every
 * state and table without root, images or a container runtime.
 */
export class SimulatedAgent {
  private readonly call: grpc.ClientDuplexStream<unknown, SchedulerMessage>;
  private readonly running = new Map<string, Assignment>();
  /** Followed journals, by request id, each with the timer that appends lines. */
  private readonly follows = new Map<string, NodeJS.Timeout>();
  private generation = -1n;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Messages the scheduler sent, for failure output. */
  readonly received: string[] = [];
  readonly ended: Promise<void>;

  constructor(options: SimulatedAgentOptions) {
    const definition = loadSync(PROTO_FILE, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    const proto = grpc.loadPackageDefinition(definition) as unknown as {
      berth: { v1: { AgentGateway: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & { Connect(metadata: grpc.Metadata): grpc.ClientDuplexStream<unknown, SchedulerMessage> } } };
    };
    const client = new proto.berth.v1.AgentGateway(options.gateway, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${options.joinToken}`);
    this.call = client.Connect(metadata);
    this.ended = new Promise((resolve) => {
      this.call.on('error', () => resolve());
      this.call.on('end', () => resolve());
    });
    this.call.on('data', (message: SchedulerMessage) => this.handle(message));
    this.call.write({
      hello: {
        machineId: options.machineId,
        address: options.address,
        metadata: options.metadata,
        capacity: { cpus: 2, memoryBytes: String(4 * 1024 ** 3) },
        agentVersion: '0.1.0',
        running: [],
      },
    });
  }

  /** Tells the scheduler the agent is leaving and closes the stream. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const timer of this.follows.values()) clearInterval(timer);
    this.call.write({ drain: { reason: 'test finished' } });
    this.call.end();
    this.call.cancel();
    await this.ended;
  }

  private handle(message: SchedulerMessage): void {
    this.received.push(message.body);
    switch (message.body) {
      case 'welcome':
        this.heartbeat = setInterval(() => this.call.write({ heartbeat: { sentAtMs: String(Date.now()) } }), message.welcome.heartbeatIntervalMs);
        return;
      case 'assignmentSet':
        return this.applySet(message.assignmentSet.generation, message.assignmentSet.assignments);
      case 'assignmentUpdate':
        return this.applyUpdate(message.assignmentUpdate.generation, message.assignmentUpdate.upserts, message.assignmentUpdate.removals);
      case 'logRequest':
        return this.sendLog(message.logRequest);
      case 'cancelLogRequest':
        return this.cancelFollow((message as unknown as { cancelLogRequest: { requestId: string } }).cancelLogRequest.requestId);
      default:
        return;
    }
  }

  private applySet(generation: string, assignments: Assignment[]): void {
    if (!this.newer(generation)) return;
    const assigned = new Set(assignments.map((assignment) => assignment.unitName));
    for (const name of [...this.running.keys()]) if (!assigned.has(name)) this.remove(name);
    for (const assignment of assignments) this.apply(assignment);
  }

  private applyUpdate(generation: string, upserts: Assignment[], removals: string[]): void {
    if (!this.newer(generation)) return;
    for (const name of removals) this.remove(name);
    for (const assignment of upserts) this.apply(assignment);
  }

  private newer(generation: string): boolean {
    const value = BigInt(generation);
    if (value <= this.generation) return false;
    this.generation = value;
    return true;
  }

  private apply(assignment: Assignment): void {
    this.running.set(assignment.unitName, assignment);
    const launched = assignment.desiredState === 'DESIRED_STATE_LAUNCHED';
    if (!launched) return this.report(assignment, { activeState: 'inactive', subState: 'dead' });

    if (assignment.unitText.includes(`${CRASHING_IMAGE_SUFFIX}\n`)) {
      return this.report(assignment, {
        activeState: 'failed',
        subState: 'failed',
        exitCode: 1,
        lastError: 'container exited with code 1: /bin/crash: configuration file /etc/crash.conf not found',
      });
    }
    if (!/^Health(Cmd|Http|Tcp)=/m.test(assignment.unitText)) return this.report(assignment, { activeState: 'active', subState: 'running' });

    this.report(assignment, { activeState: 'active', subState: 'running', health: 'starting' });
    setTimeout(() => {
      if (this.running.get(assignment.unitName) !== assignment) return;
      this.report(assignment, { activeState: 'active', subState: 'running', health: 'healthy' });
    }, HEALTHY_AFTER_MS);
  }

  private remove(name: string): void {
    const assignment = this.running.get(name);
    if (assignment === undefined) return;
    this.running.delete(name);
    this.report(assignment, { activeState: 'inactive', subState: 'dead', removed: true });
  }

  private report(
    assignment: Assignment,
    change: { activeState: string; subState: string; health?: string; exitCode?: number; lastError?: string; removed?: boolean },
  ): void {
    this.call.write({
      unitState: {
        name: assignment.unitName,
        hash: assignment.unitHash,
        loadState: 'loaded',
        activeState: change.activeState,
        subState: change.subState,
        health: change.health ?? 'none',
        exitCode: change.exitCode,
        oomKilled: false,
        restarts: 0,
        containerId: `${assignment.unitName.replace(/[@.]/g, '-')}-sim`,
        imageDigest: SIMULATED_IMAGE_DIGEST,
        lastError: change.lastError ?? '',
        timestampMs: String(SIMULATED_REPORT_TIME_MS),
        removed: change.removed === true,
      },
    });
  }

  private sendLog(request: { requestId: string; unit: string; lines: number; follow: boolean }): void {
    const { requestId, unit } = request;
    if (!this.running.has(unit)) {
      this.call.write({ logChunk: { requestId, lines: [], eof: true, error: `unit ${unit} is not running on this machine` } });
      return;
    }
    const all = [0, 1, 2].map((second) => `2026-12-04T21:00:0${second}.000Z stdout ${unit} line ${second + 1}`);
    this.call.write({ logChunk: { requestId, lines: all.slice(-request.lines), eof: !request.follow, error: '' } });
    if (!request.follow) return;

    let count = 0;
    this.follows.set(
      requestId,
      setInterval(() => {
        count++;
        this.call.write({ logChunk: { requestId, lines: [`2026-12-04T21:01:00.000Z stdout ${unit} followed line ${count}`], eof: false, error: '' } });
      }, FOLLOW_INTERVAL_MS),
    );
  }

  /** Request ids of followed journals the scheduler cancelled. */
  readonly cancelledFollows: string[] = [];

  private cancelFollow(requestId: string): void {
    clearInterval(this.follows.get(requestId));
    this.follows.delete(requestId);
    this.cancelledFollows.push(requestId);
  }
}
