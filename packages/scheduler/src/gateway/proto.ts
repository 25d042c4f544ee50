import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Options both sides use to load proto/berth.proto (see the comment at the top of that file). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Returns the path of proto/berth.proto in the repository, found relative to this compiled file. */
export function protoPath(): string {
  // dist/gateway/proto.js -> packages/scheduler/dist/gateway -> repository root is four levels up.
  const path = resolve(__dirname, '..', '..', '..', '..', 'proto', 'berth.proto');
  if (!existsSync(path)) throw new Error(`gRPC contract not found at ${path}: run from a checkout of the Berth repository`);
  return path;
}

/** The loaded `berth.v1` package: `AgentGateway` is a service client constructor with `.service`. */
export function loadBerthProto(): { AgentGateway: grpc.ServiceClientConstructor } {
  const definition = protoLoader.loadSync(protoPath(), PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { berth: { v1: { AgentGateway: grpc.ServiceClientConstructor } } };
  return loaded.berth.v1;
}

/** Message shapes as proto-loader decodes them with PROTO_LOADER_OPTIONS. */
export interface WireCapacity {
  cpus: number;
  memoryBytes: string;
}

export interface WireHello {
  machineId: string;
  address: string;
  metadata: Record<string, string>;
  capacity: WireCapacity | null;
  agentVersion: string;
  joinToken: string;
  running: Array<{ name: string; hash: string; containerId: string }>;
}

export interface WireUnitState {
  name: string;
  hash: string;
  loadState: string;
  activeState: string;
  subState: string;
  health: string;
  exitCode?: number;
  signal?: string;
  oomKilled: boolean;
  restarts: number;
  containerId: string;
  imageDigest: string;
  lastError: string;
  timestampMs: string;
  removed: boolean;
}

export interface WireLogChunk {
  requestId: string;
  lines: string[];
  eof: boolean;
  error: string;
}

export interface AgentMessage {
  body?: 'hello' | 'heartbeat' | 'unitState' | 'logChunk' | 'drain';
  hello?: WireHello;
  heartbeat?: { sentAtMs: string };
  unitState?: WireUnitState;
  logChunk?: WireLogChunk;
  drain?: { reason: string };
}

export interface WireAssignment {
  unitName: string;
  unitText: string;
  unitHash: string;
  desiredState: 'DESIRED_STATE_LOADED' | 'DESIRED_STATE_LAUNCHED';
}

export type SchedulerMessage =
  | { welcome: { machine: unknown; heartbeatIntervalMs: number; schedulerId: string } }
  | { assignmentSet: { generation: string; assignments: WireAssignment[] } }
  | { assignmentUpdate: { generation: string; upserts: WireAssignment[]; removals: string[] } }
  | { logRequest: { requestId: string; unit: string; lines: number; follow: boolean } }
  | { cancelLogRequest: { requestId: string } }
  | { error: { code: string; message: string; fatal: boolean } };
