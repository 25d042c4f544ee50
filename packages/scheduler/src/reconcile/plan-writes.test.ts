import assert from 'node:assert/strict';
import { PlacementPlan } from '../placement/types';
import { KeyLayout } from '../store/keys';
import { StoreMirror } from '../store/mirror';
import { UnitRecord } from '../store/records';
import { assignmentFor, planWrites } from './plan-writes';

const keys = new KeyLayout('/t');
const NOW = '2026-12-04T21:00:00.000Z';

function unitRecord(name: string, desiredState: UnitRecord['desiredState'] = 'launched', hash = 'h1'): UnitRecord {
  return { name, text: `text of ${name} ${hash}`, hash, desiredState, createdAt: NOW, updatedAt: NOW };
}

function mirrorWith(units: UnitRecord[], assigned: Array<[string, string, UnitRecord]>, reasons: Record<string, string> = {}): StoreMirror {
  const mirror = new StoreMirror(keys);
  let revision = 1;
  for (const u of units) mirror.apply({ type: 'put', key: keys.unit(u.name), value: u, modRevision: revision, createRevision: revision++ });
  for (const [machine, unit, record] of assigned) {
    mirror.apply({ type: 'put', key: keys.assignment(machine, unit), value: assignmentFor(record, machine), modRevision: revision, createRevision: revision++ });
  }
  for (const [unit, reason] of Object.entries(reasons)) {
    mirror.apply({ type: 'put', key: keys.reason(unit), value: { reason, since: NOW }, modRevision: revision, createRevision: revision++ });
  }
  return mirror;
}

function plan(result: Record<string, string[]>, changes: PlacementPlan['changes'] = [], reasons: Record<string, string> = {}): PlacementPlan {
  return { changes, result: new Map(Object.entries(result)), reasons: new Map(Object.entries(reasons)) };
}

function describeOps(ops: ReturnType<typeof planWrites>): string[] {
  return ops.map((op) => `${op.type} ${op.key}`);
}

describe('planWrites', () => {
  it('unchanged plan writes nothing', () => {
    const a = unitRecord('a.service');
    const mirror = mirrorWith([a], [['m1', 'a.service', a]], { 'b.service': 'no machines are available' });

    const ops = planWrites(plan({ 'a.service': ['m1'] }, [], { 'b.service': 'no machines are available' }), mirror, keys, NOW);

    assert.deepEqual(ops, []);
  });

  it('assign and unassign become put and delete', () => {
    const a = unitRecord('a.service');
    const mirror = mirrorWith([a], [['m1', 'a.service', a]]);
    const changes: PlacementPlan['changes'] = [
      { kind: 'unassign', unit: 'a.service', machineId: 'm1', cause: 'machine m1 went away' },
      { kind: 'assign', unit: 'a.service', machineId: 'm2', cause: 'placed' },
    ];

    const ops = planWrites(plan({ 'a.service': ['m2'] }, changes), mirror, keys, NOW);

    assert.deepEqual(describeOps(ops), ['delete /t/assignments/m1/a.service', 'put /t/assignments/m2/a.service']);
    assert.deepEqual((ops[1] as { value: unknown }).value, assignmentFor(a, 'm2'));
  });

  it('desired state change rewrites assignment', () => {
    const before = unitRecord('a.service', 'launched');
    const mirror = mirrorWith([unitRecord('a.service', 'loaded')], [['m1', 'a.service', before]]);

    const ops = planWrites(plan({ 'a.service': ['m1'] }), mirror, keys, NOW);

    assert.deepEqual(describeOps(ops), ['put /t/assignments/m1/a.service']);
    assert.equal((ops[0] as { value: { desiredState: string } }).value.desiredState, 'loaded');
  });

  it('replaced unit content rewrites assignment', () => {
    const mirror = mirrorWith([unitRecord('a.service', 'launched', 'h2')], [['m1', 'a.service', unitRecord('a.service', 'launched', 'h1')]]);

    const ops = planWrites(plan({ 'a.service': ['m1'] }), mirror, keys, NOW);

    assert.equal((ops[0] as { value: { hash: string } }).value.hash, 'h2');
  });

  it('reasons written only when changed', () => {
    const mirror = mirrorWith([], [], { 'same.service': 'r1', 'changed.service': 'old', 'gone.service': 'r3' });

    const ops = planWrites(plan({}, [], { 'same.service': 'r1', 'changed.service': 'new', 'new.service': 'r4' }), mirror, keys, NOW);

    assert.deepEqual(describeOps(ops).sort(), ['delete /t/reasons/gone.service', 'put /t/reasons/changed.service', 'put /t/reasons/new.service']);
  });
});
