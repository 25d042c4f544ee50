/**
 * An agent without containers for benchmarks: a real grpc-js stream to the scheduler's
 * AgentGateway that sends Hello and heartbeats and applies assignment sets and updates to an
 * in-memory desired set, ignoring stale generations as a real agent must.
 */
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_PATH = resolve(__dirname, '..', '..', 'proto', 'berth.proto');
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

let gatewayClass: grpc.ServiceClientConstructor | undefined;

function agentGateway(): grpc.ServiceClientConstructor {
  if (gatewayClass === undefined) {
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)) as any;
    gatewayClass = loaded.berth.v1.AgentGateway as grpc.ServiceClientConstructor;
  }
  return gatewayClass;
}

/** Identity and capacity a simulated agent announces. */
export interface SimulatedHello {
  machineId: string;
  cpus: number;
  memoryBytes: number;
  metadata?: Record<string, string>;
}

/** One simulated agent with its own channel and stream. */
export class SimulatedAgent {
  readonly desired = new Map<string, string>();
  generation = 0;
  registered = false;
  /** Time (ms since epoch) when the desired set last changed. */
  lastChangeMs = 0;
  failure: string | undefined;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<any, any>;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(address: string, token: string, readonly hello: SimulatedHello) {
    const Gateway = agentGateway();
    this.client = new Gateway(address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    this.call = (this.client as any).connect(metadata);
    this.call.on('data', (message: any) => this.receive(message));
    this.call.on('error', (error: grpc.ServiceError) => (this.failure = `${grpc.status[error.code]}: ${error.details}`));
    this.call.write({
      hello: {
        machineId: hello.machineId,
        address: '127.0.0.1',
        metadata: hello.metadata ?? {},
        capacity: { cpus: hello.cpus, memoryBytes: String(hello.memoryBytes) },
        agentVersion: 'bench',
        running: [],
      },
    });
  }

  private receive(message: any): void {
    if (message.welcome) {
      const intervalMs = Number(message.welcome.heartbeatIntervalMs);
      this.heartbeat = setInterval(() => this.call.write({ heartbeat: { sentAtMs: String(Date.now()) } }), intervalMs);
      return;
    }
    const body = message.assignmentSet ?? message.assignmentUpdate;
    if (body === undefined) return;
    const generation = Number(body.generation);
    if (generation <= this.generation) return;
    this.generation = generation;
    if (message.assignmentSet) {
      this.desired.clear();
      this.registered = true;
    }
    for (const name of body.removals ?? []) this.desired.delete(name);
    for (const a of body.assignments ?? body.upserts ?? []) this.desired.set(a.unitName, a.unitHash);
    this.lastChangeMs = Date.now();
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.call.end();
    this.client.close();
  }
}
