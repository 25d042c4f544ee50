import { Unit } from '@berth/unitfile';
import { DesiredState, PlacementUnit } from './types';

/** Builds placement's view of a parsed unit: fleet options, resource requests and fixed host ports. */
export function toPlacementUnit(unit: Unit, desiredState: DesiredState): PlacementUnit {
  const container = unit.container;
  // Host networking publishes nothing: the container binds host ports directly and Berth cannot
  // know which, so only explicit PublishPort= entries with a host port are checked.
  const hostPorts = (container?.publishPorts ?? []).filter((p) => p.hostPort > 0);
  return {
    name: unit.name,
    hash: unit.hash,
    desiredState,
    isTemplate: unit.nameInfo.isTemplate,
    fleet: unit.fleet,
    cpus: container?.cpus ?? 0,
    memoryBytes: container?.memoryBytes ?? 0,
    hostPorts,
  };
}

/** Builds the placement view of a unit whose file does not load: it is never placed. */
export function invalidPlacementUnit(
  name: string,
  hash: string,
  desiredState: DesiredState,
  problem: string,
): PlacementUnit {
  return {
    name,
    hash,
    desiredState,
    isTemplate: name.includes('@.'),
    fleet: { machineOf: [], machineMetadata: {}, conflicts: [], global: false, replaces: [] },
    cpus: 0,
    memoryBytes: 0,
    hostPorts: [],
    invalid: problem,
  };
}
