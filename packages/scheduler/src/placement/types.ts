import { FleetRequirements, PublishedPort } from '@berth/unitfile';

/** Desired states of a unit, as fleet names them. */
export type DesiredState = 'inactive' | 'loaded' | 'launched';

/** Placement's view of one unit, built from a parsed unit by `toPlacementUnit`. */
export interface PlacementUnit {
  name: string;
  hash: string;
  desiredState: DesiredState;
  isTemplate: boolean;
  fleet: FleetRequirements;
  /** CPU request (`CPUs=`); 0 when the unit sets none. */
  cpus: number;
  /** Memory request in bytes (`Memory=`); 0 when the unit sets none. */
  memoryBytes: number;
  /** Published ports with a fixed host port; only these can collide. */
  hostPorts: PublishedPort[];
  /** Set when the unit file failed to load: such a unit is never placed and this is its reason. */
  invalid?: string;
}

/** Placement's view of a present machine. */
export interface PlacementMachine {
  id: string;
  /** Reported metadata with the operator's dynamic metadata applied. */
  metadata: Record<string, string>;
  cpus: number;
  memoryBytes: number;
  /**
   * Set for a machine that is not present but still has assignments while a new leader waits for
   * agents to reconnect: its units stay, and nothing new is placed on it.
   */
  absent?: boolean;
}

/** Machine ids of each unit by unit name: one for ordinary units, several for Global ones. */
export type CurrentAssignments = Map<string, string[]>;

/** Everything placement reads. Placement never talks to etcd. */
export interface PlacementSnapshot {
  units: PlacementUnit[];
  machines: PlacementMachine[];
  /** Unit name to the machine ids it is assigned to now. */
  assignments: CurrentAssignments;
}

/** One change of the assignment table. */
export interface AssignmentChange {
  kind: 'assign' | 'unassign';
  unit: string;
  machineId: string;
  /** Why the change is made, for logs: `placed`, `machine went away`, `replaced by x.service`. */
  cause: string;
}

/** The result of placement: the changes to commit and the reason for every unit left unplaced. */
export interface PlacementPlan {
  changes: AssignmentChange[];
  /** Unit name to a reason, for every unit that should run but has no (or not every) machine. */
  reasons: Map<string, string>;
  /** The full assignment table after the plan is applied. */
  result: CurrentAssignments;
}
