/**
 * The JSON shapes of the scheduler's HTTP API, as docs/api.md describes them. berthctl reads
 * these and nothing else, so a change here is a change of the API contract.
 */

/** A desired or current state in fleet's model. */
export type FleetState = 'inactive' | 'loaded' | 'launched';

/** systemd's active states, as agents report them. */
export type ActiveState = 'activating' | 'active' | 'deactivating' | 'inactive' | 'failed';

export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** The last report of the agent on `machineId` about one unit. */
export interface UnitState {
  name: string;
  machineId: string;
  hash: string;
  loadState: string;
  activeState: ActiveState | string;
  subState: string;
  health: HealthStatus | string;
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  restarts: number;
  containerId: string | null;
  imageDigest: string | null;
  lastError: string | null;
  /** ISO 8601 time of the report. */
  updatedAt: string;
}

/** One entry of `GET /v1/units`. */
export interface UnitSummary {
  name: string;
  hash: string;
  desiredState: FleetState;
  machineId: string | null;
  /** Every machine the unit is placed on, sorted; several only for a global unit. Not in docs/api.md. */
  machineIds?: string[];
  /** The reason the unit is not placed, or null. */
  reason: string | null;
  state: UnitState | null;
}

/** `GET /v1/units/NAME`: the summary plus the unit file text. */
export interface UnitDetail extends UnitSummary {
  text: string;
  generation: number | null;
}

export interface Resources {
  cpus: number;
  memoryBytes: number;
}

/**
 * One entry of `GET /v1/machines`. The scheduler returns null address, capacity, version and
 * lastSeen for a machine known only by metadata an operator set, with no agent connected.
 */
export interface Machine {
  id: string;
  address: string | null;
  metadata: Record<string, string>;
  capacity: Resources | null;
  allocated: Resources;
  units: number;
  version: string | null;
  lastSeen: string | null;
}

/** Body of `PUT /v1/units/NAME`. */
export interface PutUnitRequest {
  text?: string;
  desiredState?: FleetState;
  replace?: boolean;
}

/** The error body every failed request carries. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
