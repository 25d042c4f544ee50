import {
  ABSENT_LABEL,
  checkCapacity,
  checkConflicts,
  checkMetadata,
  checkPlace,
  checkStay,
  replaces,
} from './constraints';
import { LoadHeap, MachineState } from './machine-state';
import { ExclusionTally } from './reasons';
import { AssignmentChange, CurrentAssignments, PlacementPlan, PlacementSnapshot, PlacementUnit } from './types';

// Moving a unit can make another unit movable (MachineOf followers, Replaces chains). A few rounds
// settle the cases in the tests, and the bound keeps a cycle from spinning.
const MAX_ROUNDS = 8;

/** Working state of one placement run. */
class Placer {
  readonly machines = new Map<string, MachineState>();
  readonly units = new Map<string, PlacementUnit>();
  readonly assignments: CurrentAssignments = new Map();
  readonly changes: AssignmentChange[] = [];
  readonly reasons = new Map<string, string>();

  constructor(snapshot: PlacementSnapshot) {
    for (const machine of [...snapshot.machines].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      this.machines.set(machine.id, new MachineState(machine));
    }
    for (const unit of [...snapshot.units].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      this.units.set(unit.name, unit);
    }
    this.loadCurrent(snapshot.assignments);
  }

  /** Copies the current table; entries for vanished units or machines are removed right away. */
  private loadCurrent(current: CurrentAssignments): void {
    for (const [name, machineIds] of [...current.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      for (const machineId of [...machineIds].sort()) {
        const unit = this.units.get(name);
        const machine = this.machines.get(machineId);
        if (unit === undefined) {
          this.changes.push({ kind: 'unassign', unit: name, machineId, cause: 'unit destroyed' });
        } else if (machine === undefined) {
          this.changes.push({ kind: 'unassign', unit: name, machineId, cause: `machine ${machineId} went away` });
        } else {
          this.record(unit, machine);
        }
      }
    }
  }

  private record(unit: PlacementUnit, machine: MachineState): void {
    machine.add(unit);
    const list = this.assignments.get(unit.name) ?? [];
    list.push(machine.id);
    this.assignments.set(unit.name, list);
  }

  assign(unit: PlacementUnit, machine: MachineState, cause: string): void {
    this.record(unit, machine);
    this.changes.push({ kind: 'assign', unit: unit.name, machineId: machine.id, cause });
  }

  unassign(unit: PlacementUnit, machine: MachineState, cause: string): void {
    machine.remove(unit);
    const left = (this.assignments.get(unit.name) ?? []).filter((id) => id !== machine.id);
    if (left.length === 0) this.assignments.delete(unit.name);
    else this.assignments.set(unit.name, left);
    this.changes.push({ kind: 'unassign', unit: unit.name, machineId: machine.id, cause });
  }

  where(unit: PlacementUnit): MachineState[] {
    return (this.assignments.get(unit.name) ?? []).map((id) => this.machines.get(id)!);
  }
}

/** Whether a unit should be on some machine at all. */
function wantsPlacement(unit: PlacementUnit): boolean {
  return unit.desiredState !== 'inactive' && !unit.isTemplate && unit.invalid === undefined;
}

/** Removes assignments that are no longer allowed; returns how many were removed. */
function evictInvalid(placer: Placer): number {
  let removed = 0;
  for (const unit of placer.units.values()) {
    for (const machine of placer.where(unit)) {
      const cause = stayVerdict(placer, unit, machine);
      if (cause === undefined) continue;
      placer.unassign(unit, machine, cause);
      removed++;
    }
  }
  return removed;
}

function stayVerdict(placer: Placer, unit: PlacementUnit, machine: MachineState): string | undefined {
  if (unit.invalid !== undefined) return 'unit file is invalid';
  if (unit.isTemplate) return 'templates are never placed';
  if (unit.desiredState === 'inactive') return 'desired state inactive';
  if (machine.machine.absent) return undefined;
  if (unit.fleet.global) {
    return checkMetadata(unit, machine.machine.metadata) ?? checkConflicts(unit, machine);
  }
  return checkStay(unit, machine, placer.assignments);
}

/** Puts each Global unit on every machine it fits; records a reason for machines it missed. */
function placeGlobals(placer: Placer): number {
  let placed = 0;
  for (const unit of placer.units.values()) {
    if (!unit.fleet.global || !wantsPlacement(unit)) continue;
    const tally = new ExclusionTally(placer.machines.size);
    let eligible = 0;
    for (const machine of placer.machines.values()) {
      if (machine.units.has(unit.name)) {
        eligible++;
        continue;
      }
      if (machine.machine.absent) {
        tally.add(ABSENT_LABEL);
        continue;
      }
      const metadata = checkMetadata(unit, machine.machine.metadata);
      if (metadata !== undefined) {
        tally.add(metadata);
        continue;
      }
      eligible++;
      const label = checkConflicts(unit, machine) ?? checkCapacity(unit, machine);
      if (label !== undefined) tally.add(label);
      else {
        placer.assign(unit, machine, 'global unit');
        placed++;
      }
    }
    const missing = eligible - (placer.assignments.get(unit.name)?.length ?? 0);
    if (placer.machines.size === 0 || eligible === 0 || missing > 0) placer.reasons.set(unit.name, tally.format());
    else placer.reasons.delete(unit.name);
  }
  return placed;
}

/**
 * Finds the least loaded machine that accepts the unit. Returns it, or the tally of exclusions
 * when none does.
 */
function chooseMachine(placer: Placer, heap: LoadHeap, unit: PlacementUnit): MachineState | ExclusionTally {
  const rejected: MachineState[] = [];
  const tally = new ExclusionTally(placer.machines.size);
  let chosen: MachineState | undefined;
  while (chosen === undefined) {
    const machine = heap.pop();
    if (machine === undefined) break;
    const label = checkPlace(unit, machine, placer.assignments);
    if (label === undefined) chosen = machine;
    else {
      tally.add(label);
      rejected.push(machine);
    }
  }
  for (const machine of rejected) heap.push(machine);
  return chosen ?? tally;
}

/** Moves units that `unit` replaces off `machine`; returns the moved units. */
function displaceReplaced(placer: Placer, unit: PlacementUnit, machine: MachineState): PlacementUnit[] {
  const moved: PlacementUnit[] = [];
  for (const other of [...machine.units.values()]) {
    if (other.fleet.global || !replaces(unit, other)) continue;
    placer.unassign(other, machine, `replaced by ${unit.name}`);
    moved.push(other);
  }
  return moved;
}

/**
 * Orders units so that every MachineOf peer comes before its followers, then by name. Units in a
 * MachineOf cycle can never be placed; they get a reason and are left out.
 */
function orderByPeers(placer: Placer, units: PlacementUnit[]): PlacementUnit[] {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return Number.POSITIVE_INFINITY;
    // A peer that does not exist is not a dependency to wait for; the MachineOf check reports it.
    const unit = placer.units.get(name);
    if (unit === undefined) return 0;
    visiting.add(name);
    let result = 0;
    for (const peer of unit.fleet.machineOf) result = Math.max(result, depthOf(peer) + 1);
    visiting.delete(name);
    depth.set(name, result);
    return result;
  };
  const ordered: PlacementUnit[] = [];
  for (const unit of units) {
    if (Number.isFinite(depthOf(unit.name))) ordered.push(unit);
    else placer.reasons.set(unit.name, `MachineOf=${unit.fleet.machineOf.join(' ')} forms a cycle, so no unit of it can be placed first`);
  }
  return ordered.sort((a, b) => depth.get(a.name)! - depth.get(b.name)! || (a.name < b.name ? -1 : 1));
}

/** Places every unplaced ordinary unit; a unit displaced by Replaces joins the end of the queue. */
function placeOrdinary(placer: Placer): number {
  const heap = new LoadHeap(placer.machines.values());
  const pending = [...placer.units.values()].filter(
    (u) => wantsPlacement(u) && !u.fleet.global && !placer.assignments.has(u.name),
  );
  const queue = orderByPeers(placer, pending);
  const maxSteps = queue.length * 4 + placer.units.size;
  let placed = 0;
  for (let i = 0; i < queue.length; i++) {
    const unit = queue[i];
    if (placer.assignments.has(unit.name)) continue;
    if (i >= maxSteps) {
      placer.reasons.set(unit.name, `Replaces rules keep displacing ${unit.name}; check for a Replaces cycle`);
      continue;
    }
    const choice = chooseMachine(placer, heap, unit);
    if (choice instanceof ExclusionTally) {
      placer.reasons.set(unit.name, withPeerDetail(placer, unit, choice.format()));
      continue;
    }
    placer.reasons.delete(unit.name);
    placer.assign(unit, choice, 'placed');
    queue.push(...displaceReplaced(placer, unit, choice));
    heap.push(choice);
    placed++;
  }
  return placed;
}

function withPeerDetail(placer: Placer, unit: PlacementUnit, reason: string): string {
  const missing = unit.fleet.machineOf.filter((peer) => !placer.assignments.has(peer));
  if (missing.length === 0) return reason;
  return `${reason} (${missing.join(', ')} not placed)`;
}

/** Cancels changes that undo each other, such as a unit unassigned and reassigned to the same machine. */
function netChanges(changes: AssignmentChange[]): AssignmentChange[] {
  const last = new Map<string, AssignmentChange>();
  const first = new Map<string, AssignmentChange>();
  for (const change of changes) {
    const key = `${change.unit}\u0000${change.machineId}`;
    if (!first.has(key)) first.set(key, change);
    last.set(key, change);
  }
  const result: AssignmentChange[] = [];
  for (const [key, change] of last) {
    const initial = first.get(key)!;
    // assign..unassign of a new pair, or unassign..assign of an existing pair, nets to nothing.
    if (initial.kind !== change.kind) continue;
    result.push(change);
  }
  return result;
}

/**
 * Computes where every unit should run, following fleet's rules plus CPU, memory and host-port
 * fit. Pure and deterministic: the same snapshot gives the same plan. Never throws for bad input;
 * units that cannot be placed get a reason instead.
 */
export function planPlacement(snapshot: PlacementSnapshot): PlacementPlan {
  const placer = new Placer(snapshot);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const evicted = evictInvalid(placer);
    const placed = placeGlobals(placer) + placeOrdinary(placer);
    if (evicted === 0 && placed === 0) break;
  }
  for (const unit of placer.units.values()) {
    if (!wantsPlacement(unit)) placer.reasons.delete(unit.name);
    if (unit.invalid !== undefined && unit.desiredState !== 'inactive') placer.reasons.set(unit.name, unit.invalid);
  }
  return { changes: netChanges(placer.changes), reasons: placer.reasons, result: placer.assignments };
}
