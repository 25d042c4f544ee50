import { loadUnit } from '@berth/unitfile';
import { invalidPlacementUnit, toPlacementUnit } from '../placement/placement-unit';
import { PlacementMachine, PlacementSnapshot, PlacementUnit } from '../placement/types';
import { StoreMirror } from '../store/mirror';
import { effectiveMetadata, UnitRecord } from '../store/records';

/**
 * Parses stored units for placement, keeping each parse until the unit's text changes: a leader
 * replans often and most units never change.
 */
export class UnitCache {
  private readonly parsed = new Map<string, { hash: string; text: string; unit: PlacementUnit }>();

  get(record: UnitRecord): PlacementUnit {
    const cached = this.parsed.get(record.name);
    if (cached !== undefined && cached.hash === record.hash && cached.text === record.text) {
      return cached.unit.desiredState === record.desiredState ? cached.unit : { ...cached.unit, desiredState: record.desiredState };
    }
    const unit = parseForPlacement(record);
    this.parsed.set(record.name, { hash: record.hash, text: record.text, unit });
    return unit;
  }

  /** Drops entries of units that no longer exist. */
  prune(existing: Map<string, UnitRecord>): void {
    for (const name of this.parsed.keys()) if (!existing.has(name)) this.parsed.delete(name);
  }
}

function parseForPlacement(record: UnitRecord): PlacementUnit {
  const result = loadUnit(record.name, record.text);
  if (result.unit === undefined) {
    const first = result.diagnostics.find((d) => d.severity === 'error');
    const problem = first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : 'the unit file does not load';
    return invalidPlacementUnit(record.name, record.hash, record.desiredState, `unit file is invalid: ${problem}`);
  }
  return toPlacementUnit(result.unit, record.desiredState);
}

/**
 * Builds placement's snapshot from the mirror: stored units, present machines and current
 * assignments. With `keepAbsent`, machines that have assignments but no presence are included as
 * absent, so their units stay while agents reconnect to a new leader.
 */
export function buildSnapshot(mirror: StoreMirror, cache: UnitCache, keepAbsent = false): PlacementSnapshot {
  cache.prune(mirror.units);
  const units = [...mirror.units.values()].map((record) => cache.get(record));
  const machines: PlacementMachine[] = [...mirror.machines.values()].map((m) => ({
    id: m.id,
    metadata: effectiveMetadata(m.metadata, mirror.dynamicMetadata.get(m.id)),
    cpus: m.capacity.cpus,
    memoryBytes: m.capacity.memoryBytes,
  }));
  if (keepAbsent) {
    for (const id of mirror.assignments.keys()) {
      if (!mirror.machines.has(id)) machines.push({ id, metadata: {}, cpus: 0, memoryBytes: 0, absent: true });
    }
  }
  return { units, machines, assignments: mirror.assignmentTable() };
}
