import { PlacementPlan } from '../placement/types';
import { WriteOp } from '../store/etcd-store.service';
import { KeyLayout } from '../store/keys';
import { StoreMirror } from '../store/mirror';
import { AssignmentRecord, UnitRecord } from '../store/records';

/** Builds the assignment record an agent receives for a unit. */
export function assignmentFor(unit: UnitRecord, machineId: string): AssignmentRecord {
  return {
    unit: unit.name,
    machineId,
    hash: unit.hash,
    text: unit.text,
    desiredState: unit.desiredState === 'loaded' ? 'loaded' : 'launched',
  };
}

/**
 * Turns a placement plan into etcd writes: new and removed assignments, assignments whose unit
 * changed content or desired state, and reasons that appeared, changed or went away.
 */
export function planWrites(plan: PlacementPlan, mirror: StoreMirror, keys: KeyLayout, now: string): WriteOp[] {
  const ops: WriteOp[] = [];
  const assigned = new Set<string>();

  for (const change of plan.changes) {
    const key = keys.assignment(change.machineId, change.unit);
    if (change.kind === 'unassign') {
      ops.push({ type: 'delete', key });
      continue;
    }
    assigned.add(key);
    ops.push({ type: 'put', key, value: assignmentFor(mirror.units.get(change.unit)!, change.machineId) });
  }

  for (const [unitName, machineIds] of plan.result) {
    const unit = mirror.units.get(unitName);
    if (unit === undefined) continue;
    for (const machineId of machineIds) {
      const key = keys.assignment(machineId, unitName);
      const current = mirror.assignments.get(machineId)?.get(unitName)?.record;
      if (assigned.has(key) || current === undefined) continue;
      const expected = assignmentFor(unit, machineId);
      if (current.hash !== expected.hash || current.desiredState !== expected.desiredState || current.text !== expected.text) {
        ops.push({ type: 'put', key, value: expected });
      }
    }
  }

  for (const [unitName, reason] of plan.reasons) {
    const current = mirror.reasons.get(unitName);
    if (current?.reason !== reason) ops.push({ type: 'put', key: keys.reason(unitName), value: { reason, since: now } });
  }
  for (const unitName of mirror.reasons.keys()) {
    if (!plan.reasons.has(unitName)) ops.push({ type: 'delete', key: keys.reason(unitName) });
  }
  return ops;
}
