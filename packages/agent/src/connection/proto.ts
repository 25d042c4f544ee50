import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';

import { decodeSchedulerMessage, encodeAgentMessage } from './wire-codec';

/** The contract file at the repository root. The scheduler loads it, and the agent's tests check the codec against it. */
export const PROTO_PATH = join(__dirname, '..', '..', '..', '..', 'proto', 'berth.proto');

/** The AgentGateway client constructor. */
export type AgentGatewayClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client & {
  Connect(metadata: grpc.Metadata): grpc.ClientDuplexStream<AgentMessage, SchedulerMessage>;
};

function notUsedByTheAgent(): never {
  throw new Error('the agent only sends AgentMessage and receives SchedulerMessage');
}

/** berth.v1.AgentGateway as the agent calls it, with the codecs of wire-codec.ts. */
export function loadAgentGateway(): AgentGatewayClientConstructor {
  const service: grpc.ServiceDefinition = {
    Connect: {
      path: '/berth.v1.AgentGateway/Connect',
      requestStream: true,
      responseStream: true,
      requestSerialize: encodeAgentMessage,
      requestDeserialize: notUsedByTheAgent,
      responseSerialize: notUsedByTheAgent,
      responseDeserialize: decodeSchedulerMessage,
      originalName: 'connect',
    },
  };
  return grpc.makeGenericClientConstructor(service, 'AgentGateway') as unknown as AgentGatewayClientConstructor;
}

/** Messages in the shape proto-loader gives them (see wire-codec.ts), with only the fields the agent uses. */
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
