import { DesiredState } from '../placement/types';

/** `<prefix>/units/<name>`: a submitted unit. */
export interface UnitRecord {
  name: string;
  /** The unit file exactly as submitted. */
  text: string;
  hash: string;
  desiredState: DesiredState;
  createdAt: string;
  updatedAt: string;
}

export interface Capacity {
  cpus: number;
  memoryBytes: number;
}

/** `<prefix>/machines/<id>`: a present machine; the key lives on the machine's presence lease. */
export interface MachineRecord {
  id: string;
  address: string;
  /** Metadata the agent reported; dynamic metadata is kept apart and applied on read. */
  metadata: Record<string, string>;
  capacity: Capacity;
  version: string;
  lastSeen: string;
  /** Replica whose gateway serves the agent's stream. */
  replicaId: string;
}

/**
 * `<prefix>/machine-metadata/<id>`: metadata set through the API. A value of null hides the key
 * the agent reported. Survives the machine leaving and rejoining.
 */
export type DynamicMetadata = Record<string, string | null>;

/** `<prefix>/connections/<id>`: which replica holds the machine's stream; on that replica's session lease. */
export interface ConnectionRecord {
  machineId: string;
  replicaId: string;
  /** Base URL of that replica's HTTP API, used to relay journal requests. */
  httpUrl: string;
  peer: string;
  connectedAt: string;
}

/** `<prefix>/assignments/<machine>/<unit>`: the leader's decision, with a copy of the unit. */
export interface AssignmentRecord {
  unit: string;
  machineId: string;
  hash: string;
  text: string;
  desiredState: Exclude<DesiredState, 'inactive'>;
}

/** `<prefix>/reasons/<unit>`: why a unit that should run is not (fully) placed. */
export interface ReasonRecord {
  reason: string;
  since: string;
}

/** `<prefix>/leader`: the elected replica; on the leader lease. */
export interface LeaderRecord {
  replicaId: string;
  httpUrl: string;
  since: string;
}

/** `<prefix>/states/<unit>/<machine>`: what the agent last reported; on the machine's presence lease. */
export interface UnitStateRecord {
  name: string;
  machineId: string;
  hash: string;
  loadState: string;
  activeState: string;
  subState: string;
  health: string;
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  restarts: number;
  containerId: string;
  imageDigest: string;
  lastError: string | null;
  updatedAt: string;
}

/** Applies dynamic metadata over reported metadata; null values remove the key. */
export function effectiveMetadata(reported: Record<string, string>, dynamic: DynamicMetadata | undefined): Record<string, string> {
  const result: Record<string, string> = { ...reported };
  for (const [key, value] of Object.entries(dynamic ?? {})) {
    if (value === null) delete result[key];
    else result[key] = value;
  }
  return result;
}
