import { AssignmentRecord, MachineRecord, ReasonRecord, UnitRecord, UnitStateRecord } from '../store/records';

/** `UnitSummary` of docs/api.md. */
export interface UnitSummary {
  name: string;
  hash: string;
  desiredState: string;
  /** The machine the unit is on; for Global units the first of `machineIds`. */
  machineId: string | null;
  /** Every machine the unit is on, sorted (several only for Global units). */
  machineIds: string[];
  reason: string | null;
  state: UnitStateRecord | null;
}

/** `GET /v1/units/NAME`: the summary plus text and assignment generation. */
export interface UnitDetail extends UnitSummary {
  text: string;
  generation: number | null;
}

/** `Machine` of docs/api.md. */
export interface MachineView {
  id: string;
  address: string | null;
  metadata: Record<string, string>;
  capacity: { cpus: number; memoryBytes: number } | null;
  allocated: { cpus: number; memoryBytes: number };
  units: number;
  version: string | null;
  lastSeen: string | null;
}

/** Assignments of each unit by unit name, with the revision that wrote each. */
export type Placements = Map<string, Array<{ record: AssignmentRecord; modRevision: number }>>;

/** Builds a unit summary from the unit and what is known about it. */
export function summarize(
  unit: UnitRecord,
  placements: Placements,
  reasons: Map<string, ReasonRecord>,
  states: Map<string, UnitStateRecord[]>,
): UnitSummary {
  const machineIds = (placements.get(unit.name) ?? []).map((p) => p.record.machineId).sort();
  const machineId = machineIds[0] ?? null;
  const unitStates = states.get(unit.name) ?? [];
  const state = unitStates.find((s) => s.machineId === machineId) ?? unitStates[0] ?? null;
  return {
    name: unit.name,
    hash: unit.hash,
    desiredState: unit.desiredState,
    machineId,
    machineIds,
    reason: reasons.get(unit.name)?.reason ?? null,
    state,
  };
}

/** Builds the machine view; `machine` is undefined for a machine known only by its dynamic metadata. */
export function machineView(
  id: string,
  machine: MachineRecord | undefined,
  metadata: Record<string, string>,
  allocated: { cpus: number; memoryBytes: number; units: number },
): MachineView {
  return {
    id,
    address: machine?.address ?? null,
    metadata,
    capacity: machine ? { ...machine.capacity } : null,
    allocated: { cpus: allocated.cpus, memoryBytes: allocated.memoryBytes },
    units: allocated.units,
    version: machine?.version ?? null,
    lastSeen: machine?.lastSeen ?? null,
  };
}
