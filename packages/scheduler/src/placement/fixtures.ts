import { FleetRequirements, PublishedPort } from '@berth/unitfile';
import { CurrentAssignments, DesiredState, PlacementMachine, PlacementSnapshot, PlacementUnit } from './types';

/** Options of the `unit()` fixture builder; every field has a neutral default. */
export interface UnitFixture extends Partial<FleetRequirements> {
  desired?: DesiredState;
  cpus?: number;
  memoryBytes?: number;
  ports?: Array<Partial<PublishedPort> & { hostPort: number }>;
}

/** Builds a launched unit with the given fleet options, for placement tests. */
export function unit(name: string, options: UnitFixture = {}): PlacementUnit {
  return {
    name,
    hash: `hash-of-${name}`,
    desiredState: options.desired ?? 'launched',
    isTemplate: /@\.[a-z]+$/.test(name),
    fleet: {
      machineId: options.machineId,
      machineOf: options.machineOf ?? [],
      machineMetadata: options.machineMetadata ?? {},
      conflicts: options.conflicts ?? [],
      global: options.global ?? false,
      replaces: options.replaces ?? [],
    },
    cpus: options.cpus ?? 0,
    memoryBytes: options.memoryBytes ?? 0,
    hostPorts: (options.ports ?? []).map((p) => ({
      hostIp: p.hostIp ?? '',
      hostPort: p.hostPort,
      containerPort: p.containerPort ?? p.hostPort,
      protocol: p.protocol ?? 'tcp',
    })),
  };
}

/** Builds a machine with generous capacity unless `cpus` and `memoryBytes` are given. */
export function machine(id: string, metadata: Record<string, string> = {}, cpus = 64, memoryBytes = 2 ** 40): PlacementMachine {
  return { id, metadata, cpus, memoryBytes };
}

/** Builds a snapshot; `current` maps unit names to the machines they are on now. */
export function snapshot(
  units: PlacementUnit[],
  machines: PlacementMachine[],
  current: Record<string, string[]> = {},
): PlacementSnapshot {
  const assignments: CurrentAssignments = new Map(Object.entries(current));
  return { units, machines, assignments };
}

/** Flattens an assignment table into sorted `unit -> machine,machine` lines for comparisons. */
export function describeTable(table: CurrentAssignments): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...table.keys()].sort()) out[name] = [...table.get(name)!].sort().join(',');
  return out;
}
