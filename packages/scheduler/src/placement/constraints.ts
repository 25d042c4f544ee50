import { machineIdMatches, matchUnitGlob } from '@berth/unitfile';
import { MachineState } from './machine-state';
import { formatBytes, formatPort, portsCollide } from './ports';
import { CurrentAssignments, PlacementUnit } from './types';

/** Reason label of a machine that is kept during a leader's grace period but not connected. */
export const ABSENT_LABEL = 'not connected';

// Floating-point sums of CPU requests such as 0.1 + 0.2 must not reject an exact fit.
const CPU_EPSILON = 1e-9;

/** Returns the first `MachineMetadata` key the machine fails, as a reason label, or undefined. */
export function checkMetadata(unit: PlacementUnit, metadata: Record<string, string>): string | undefined {
  for (const key of Object.keys(unit.fleet.machineMetadata).sort()) {
    const allowed = unit.fleet.machineMetadata[key];
    if (allowed.length === 0) continue;
    const value = Object.prototype.hasOwnProperty.call(metadata, key) ? metadata[key] : undefined;
    if (value === undefined || !allowed.includes(value)) {
      return `MachineMetadata=${allowed.map((v) => `${key}=${v}`).join('|')}`;
    }
  }
  return undefined;
}

/** Returns whether `replacer` displaces `target`. Mutual Replaces cancel out, as in fleet. */
export function replaces(replacer: PlacementUnit, target: PlacementUnit): boolean {
  if (replacer.name === target.name) return false;
  const forward = replacer.fleet.replaces.some((p) => matchUnitGlob(p, target.name));
  if (!forward) return false;
  return !target.fleet.replaces.some((p) => matchUnitGlob(p, replacer.name));
}

/** Returns a reason label when `unit` and a unit on the machine conflict in either direction. */
export function checkConflicts(unit: PlacementUnit, machine: MachineState): string | undefined {
  for (const pattern of unit.fleet.conflicts) {
    for (const other of machine.units.keys()) {
      if (other !== unit.name && matchUnitGlob(pattern, other)) return `Conflicts=${pattern}`;
    }
  }
  for (const other of machine.units.values()) {
    if (other.name === unit.name) continue;
    const pattern = other.fleet.conflicts.find((p) => matchUnitGlob(p, unit.name));
    if (pattern !== undefined) return `Conflicts=${pattern} of ${other.name}`;
  }
  return undefined;
}

/** Returns a reason label when a unit on the machine replaces `unit`. */
export function checkReplacedBy(unit: PlacementUnit, machine: MachineState): string | undefined {
  for (const other of machine.units.values()) {
    if (!replaces(other, unit)) continue;
    const pattern = other.fleet.replaces.find((p) => matchUnitGlob(p, unit.name));
    return `Replaces=${pattern} of ${other.name}`;
  }
  return undefined;
}

/** Returns the label of the first peer in `MachineOf=` that is not on the machine. */
export function checkMachineOf(
  unit: PlacementUnit,
  machine: MachineState,
  assignments: CurrentAssignments,
): string | undefined {
  for (const peer of unit.fleet.machineOf) {
    const where = assignments.get(peer) ?? [];
    if (!where.includes(machine.id)) return `MachineOf=${peer}`;
  }
  return undefined;
}

/** Returns a reason label when the unit's requests or host ports do not fit on the machine. */
export function checkCapacity(unit: PlacementUnit, machine: MachineState): string | undefined {
  const spec = machine.machine;
  if (unit.cpus > 0 && machine.allocatedCpus + unit.cpus > spec.cpus + CPU_EPSILON) {
    return `CPUs=${unit.cpus}`;
  }
  if (unit.memoryBytes > 0 && machine.allocatedMemoryBytes + unit.memoryBytes > spec.memoryBytes) {
    return `Memory=${formatBytes(unit.memoryBytes)}`;
  }
  for (const port of unit.hostPorts) {
    const taken = machine.ports.some((used) => used.unit !== unit.name && portsCollide(used.port, port));
    if (taken) return `PublishPort=${formatPort(port)}`;
  }
  return undefined;
}

/**
 * Checks whether a unit that is already on a machine may stay there, in fleet's order: MachineID,
 * MachineMetadata, MachineOf, Conflicts, then displacement by a unit that Replaces it. Resources
 * are not re-checked, so a shrinking capacity never evicts running units.
 */
export function checkStay(
  unit: PlacementUnit,
  machine: MachineState,
  assignments: CurrentAssignments,
): string | undefined {
  if (unit.fleet.machineId !== undefined && !machineIdMatches(unit.fleet.machineId, machine.id)) {
    return `MachineID=${unit.fleet.machineId}`;
  }
  return (
    checkMetadata(unit, machine.machine.metadata) ??
    checkMachineOf(unit, machine, assignments) ??
    checkConflicts(unit, machine) ??
    checkReplacedBy(unit, machine)
  );
}

/** Checks whether a unit may be placed on a machine: `checkStay` plus CPUs, memory and ports. */
export function checkPlace(
  unit: PlacementUnit,
  machine: MachineState,
  assignments: CurrentAssignments,
): string | undefined {
  if (machine.machine.absent) return ABSENT_LABEL;
  return checkStay(unit, machine, assignments) ?? checkCapacity(unit, machine);
}
