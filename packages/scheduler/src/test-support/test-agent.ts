import * as grpc from '@grpc/grpc-js';
import { waitFor } from '@berth/testkit';
import { loadBerthProto } from '../gateway/proto';

/** Hello fields a test agent sends; defaults fill the rest. */
export interface TestAgentHello {
  machineId: string;
  metadata?: Record<string, string>;
  cpus?: number;
  memoryBytes?: number;
  address?: string;
  /** Sent in Hello.join_token instead of call metadata. */
  helloToken?: string;
}

/** Units assigned to the test agent, by name, built from the assignment messages it received. */
export type DesiredSet = Map<string, { hash: string; desiredState: string }>;

/**
 * An agent made of a real grpc-js client and nothing else: it applies AssignmentSet and
 * AssignmentUpdate to a desired set, heartbeats on request and records the call's final status.
 */
export class TestAgent {
  readonly messages: any[] = [];
  readonly desired: DesiredSet = new Map();
  generation = 0;
  status: grpc.StatusObject | undefined;
  private readonly call: grpc.ClientDuplexStream<any, any>;
  private readonly client: grpc.Client;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Handler of each LogRequest; the test replies with LogChunk messages through `write`. */
  onLogRequest: ((request: { requestId: string; unit: string; lines: number; follow: boolean }) => void) | undefined;

  constructor(address: string, token: string | undefined, readonly hello: TestAgentHello) {
    const { AgentGateway } = loadBerthProto();
    this.client = new AgentGateway(address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    this.call = (this.client as any).connect(metadata);
    this.call.on('data', (message: any) => this.receive(message));
    this.call.on('status', (status: grpc.StatusObject) => (this.status = status));
    this.call.on('error', (error: grpc.ServiceError) => (this.status = this.status ?? { code: error.code, details: error.details, metadata: error.metadata }));
    this.call.write({
      hello: {
        machineId: hello.machineId,
        address: hello.address ?? '127.0.0.1',
        metadata: hello.metadata ?? {},
        capacity: { cpus: hello.cpus ?? 4, memoryBytes: String(hello.memoryBytes ?? 8 * 1024 ** 3) },
        agentVersion: 'test',
        joinToken: hello.helloToken ?? '',
        running: [],
      },
    });
  }

  private receive(message: any): void {
    this.messages.push(message);
    if (message.logRequest) this.onLogRequest?.(message.logRequest);
    if (message.assignmentSet) {
      const generation = Number(message.assignmentSet.generation);
      if (generation <= this.generation) return;
      this.generation = generation;
      this.desired.clear();
      for (const a of message.assignmentSet.assignments) this.desired.set(a.unitName, { hash: a.unitHash, desiredState: a.desiredState });
    } else if (message.assignmentUpdate) {
      const generation = Number(message.assignmentUpdate.generation);
      if (generation <= this.generation) return;
      this.generation = generation;
      for (const name of message.assignmentUpdate.removals) this.desired.delete(name);
      for (const a of message.assignmentUpdate.upserts) this.desired.set(a.unitName, { hash: a.unitHash, desiredState: a.desiredState });
    }
  }

  /** Sends a heartbeat now and then every `intervalMs` until `end()`. */
  startHeartbeats(intervalMs: number): void {
    const beat = () => this.call.write({ heartbeat: { sentAtMs: String(Date.now()) } });
    beat();
    this.heartbeatTimer = setInterval(beat, intervalMs);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
  }

  write(message: unknown): void {
    this.call.write(message);
  }

  /** Waits until `probe` holds, failing with the agent's messages and status. */
  async until(probe: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => probe(), {
      timeoutMs,
      intervalMs: 20,
      describe: () => `agent ${this.hello.machineId}: ${what} did not happen; status ${JSON.stringify(this.status)}, desired ${JSON.stringify([...this.desired.keys()])}`,
    });
  }

  /** Waits for the call to end and returns its status. */
  async ended(): Promise<grpc.StatusObject> {
    await this.until(() => this.status !== undefined, 'end of call');
    return this.status!;
  }

  end(): void {
    this.stopHeartbeats();
    this.call.end();
    this.client.close();
  }
}
