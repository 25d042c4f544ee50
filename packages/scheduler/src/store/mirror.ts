import { KeyLayout } from './keys';
import {
  AssignmentRecord,
  ConnectionRecord,
  DynamicMetadata,
  LeaderRecord,
  MachineRecord,
  ReasonRecord,
  UnitRecord,
} from './records';

/** One key change seen by the watch, already decoded. */
export interface StoreEvent {
  type: 'put' | 'delete';
  key: string;
  /** Parsed JSON value for puts; undefined for deletes and for values that are not JSON. */
  value: unknown;
  modRevision: number;
  createRevision: number;
}

/** An assignment as mirrored, with the revision that last wrote it. */
export interface MirroredAssignment {
  record: AssignmentRecord;
  modRevision: number;
}

/**
 * An in-memory copy of everything under the prefix except unit states, kept current by one etcd
 * watch. The leader plans from it and the gateway serves assignments from it, so neither reads
 * etcd per decision. `revision` is the etcd revision the copy reflects.
 */
export class StoreMirror {
  revision = 0;
  readonly units = new Map<string, UnitRecord>();
  readonly machines = new Map<string, MachineRecord>();
  readonly dynamicMetadata = new Map<string, DynamicMetadata>();
  readonly connections = new Map<string, ConnectionRecord>();
  /** Machine id to unit name to assignment. */
  readonly assignments = new Map<string, Map<string, MirroredAssignment>>();
  readonly reasons = new Map<string, ReasonRecord>();
  leader: { record: LeaderRecord; createRevision: number } | undefined;

  constructor(private readonly keys: KeyLayout) {}

  clear(): void {
    this.revision = 0;
    this.units.clear();
    this.machines.clear();
    this.dynamicMetadata.clear();
    this.connections.clear();
    this.assignments.clear();
    this.reasons.clear();
    this.leader = undefined;
  }

  /** Applies one event; returns false for keys the mirror does not keep (unit states, foreign keys). */
  apply(event: StoreEvent): boolean {
    const parsed = this.keys.parse(event.key);
    if (parsed === undefined || parsed.kind === 'states') return false;
    const put = event.type === 'put' && event.value !== undefined;
    const name = parsed.parts.join('/');
    switch (parsed.kind) {
      case 'units':
        return setOrDelete(this.units, name, put ? (event.value as UnitRecord) : undefined);
      case 'machines':
        return setOrDelete(this.machines, name, put ? (event.value as MachineRecord) : undefined);
      case 'machine-metadata':
        return setOrDelete(this.dynamicMetadata, name, put ? (event.value as DynamicMetadata) : undefined);
      case 'connections':
        return setOrDelete(this.connections, name, put ? (event.value as ConnectionRecord) : undefined);
      case 'reasons':
        return setOrDelete(this.reasons, name, put ? (event.value as ReasonRecord) : undefined);
      case 'assignments':
        return this.applyAssignment(parsed.parts, put ? (event.value as AssignmentRecord) : undefined, event.modRevision);
      case 'leader':
        this.leader = put ? { record: event.value as LeaderRecord, createRevision: event.createRevision } : undefined;
        return true;
    }
  }

  private applyAssignment(parts: string[], record: AssignmentRecord | undefined, modRevision: number): boolean {
    const [machineId, ...rest] = parts;
    const unit = rest.join('/');
    let table = this.assignments.get(machineId);
    if (record !== undefined) {
      if (table === undefined) this.assignments.set(machineId, (table = new Map()));
      table.set(unit, { record, modRevision });
    } else if (table !== undefined) {
      table.delete(unit);
      if (table.size === 0) this.assignments.delete(machineId);
    }
    return true;
  }

  /** Returns the assignments of one unit, sorted by machine id; scans every machine once. */
  assignmentsOf(unit: string): MirroredAssignment[] {
    const found: MirroredAssignment[] = [];
    for (const units of this.assignments.values()) {
      const assignment = units.get(unit);
      if (assignment !== undefined) found.push(assignment);
    }
    return found.sort((a, b) => (a.record.machineId < b.record.machineId ? -1 : 1));
  }

  /** Unit name to the machine ids it is assigned to. */
  assignmentTable(): Map<string, string[]> {
    const table = new Map<string, string[]>();
    for (const [machineId, units] of this.assignments) {
      for (const unit of units.keys()) {
        const list = table.get(unit) ?? [];
        list.push(machineId);
        table.set(unit, list);
      }
    }
    return table;
  }
}

function setOrDelete<T>(map: Map<string, T>, key: string, value: T | undefined): boolean {
  if (value === undefined) map.delete(key);
  else map.set(key, value);
  return true;
}
