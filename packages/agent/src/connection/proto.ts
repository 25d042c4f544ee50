import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The contract file, shipped at the repository root and loaded at run time by both sides. */
export const PROTO_PATH = join(__dirname, '..', '..', '..', '..', 'proto', 'berth.proto');

/** Loader options the contract prescribes: camelCase fields, int64 as strings, enum names, oneof `body`. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

/** The generated AgentGateway client constructor. */
export type AgentGatewayClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client & {
  Connect(metadata: grpc.Metadata): grpc.ClientDuplexStream<AgentMessage, SchedulerMessage>;
};

/** Loads berth.v1.AgentGateway. Throws when the proto file is missing or invalid. */
export function loadAgentGateway(protoPath = PROTO_PATH): AgentGatewayClientConstructor {
  if (!existsSync(protoPath)) throw new Error(`gRPC contract not found at ${protoPath}; the agent must run from a Berth checkout or install`);
  const definition = protoLoader.loadSync(protoPath, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { berth: { v1: { AgentGateway: AgentGatewayClientConstructor } } };
  return loaded.berth.v1.AgentGateway;
}

/** Messages as proto-loader returns them; only the fields the agent reads or writes. */
export interface AgentMessage {
  hello?: {
    machineId: string;
    address: string;
    metadata: Record<string, string>;
    capacity: { cpus: number; memoryBytes: string };
    agentVersion: string;
    running: Array<{ name: string; hash: string; containerId: string }>;
  };
  heartbeat?: { sentAtMs: string };
  unitState?: Record<string, unknown>;
  logChunk?: { requestId: string; lines: string[]; eof: boolean; error: string };
  drain?: { reason: string };
}

export interface AssignmentProto {
  unitName: string;
  unitText: string;
  unitHash: string;
  desiredState: string;
}

export interface SchedulerMessage {
  body?: 'welcome' | 'assignmentSet' | 'assignmentUpdate' | 'logRequest' | 'cancelLogRequest' | 'error';
  welcome?: { machine?: { id: string }; heartbeatIntervalMs: number; schedulerId: string };
  assignmentSet?: { generation: string; assignments: AssignmentProto[] };
  assignmentUpdate?: { generation: string; upserts: AssignmentProto[]; removals: string[] };
  logRequest?: { requestId: string; unit: string; lines: number; follow: boolean };
  cancelLogRequest?: { requestId: string };
  error?: { code: string; message: string; fatal: boolean };
}
