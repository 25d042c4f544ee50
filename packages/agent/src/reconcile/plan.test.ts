import assert from 'node:assert/strict';
import { DesiredUnit, ObservedUnit, planReconcile } from './plan';

const IMAGE = '127.0.0.1:5000/berth/web:1';

function desired(overrides: Partial<DesiredUnit> = {}): DesiredUnit {
  return { name: 'web.service', hash: 'h1', state: 'launched', image: IMAGE, ...overrides };
}

function observed(overrides: Partial<ObservedUnit> = {}): ObservedUnit {
  return { name: 'web.service', hash: 'h1', container: 'running', held: false, ...overrides };
}

/** Plans as `unit: kind kind ...` strings, which read well in a table. */
function summarize(desiredUnits: DesiredUnit[], observedUnits: ObservedUnit[], present: string[] = [IMAGE]): string[] {
  return planReconcile(desiredUnits, observedUnits, new Set(present)).map((plan) => `${plan.unit}: ${plan.actions.map((action) => action.kind).join(' ')}`);
}

describe('planReconcile', () => {
  const cases: Array<{ name: string; desired: DesiredUnit[]; observed: ObservedUnit[]; present?: string[]; expected: string[] }> = [
    { name: 'new launched unit without image', desired: [desired()], observed: [], present: [], expected: ['web.service: pull create start'] },
    { name: 'new launched unit with image', desired: [desired()], observed: [], expected: ['web.service: create start'] },
    { name: 'new loaded unit', desired: [desired({ state: 'loaded' })], observed: [], present: [], expected: ['web.service: pull create'] },
    { name: 'running unit that matches', desired: [desired()], observed: [observed()], expected: [] },
    { name: 'loaded unit that matches', desired: [desired({ state: 'loaded' })], observed: [observed({ container: 'created' })], expected: [] },
    { name: 'created unit now launched', desired: [desired()], observed: [observed({ container: 'created' })], expected: ['web.service: start'] },
    { name: 'running unit now loaded', desired: [desired({ state: 'loaded' })], observed: [observed()], expected: ['web.service: stop remove create'] },
    { name: 'hash changed while running', desired: [desired({ hash: 'h2' })], observed: [observed()], expected: ['web.service: stop remove create start'] },
    { name: 'hash changed with new image', desired: [desired({ hash: 'h2', image: 'r/web:2' })], observed: [observed()], expected: ['web.service: stop remove pull create start'] },
    { name: 'hash changed while created', desired: [desired({ hash: 'h2', state: 'loaded' })], observed: [observed({ container: 'created' })], expected: ['web.service: remove create'] },
    { name: 'running unit unassigned', desired: [], observed: [observed()], expected: ['web.service: stop remove'] },
    { name: 'exited unit unassigned', desired: [], observed: [observed({ container: 'stopped', held: true })], expected: ['web.service: remove'] },
    { name: 'record without container unassigned', desired: [], observed: [observed({ container: 'absent' })], expected: ['web.service: remove'] },
    { name: 'exited unit held by restart policy', desired: [desired()], observed: [observed({ container: 'stopped', held: true })], expected: [] },
    { name: 'exited unit released for restart', desired: [desired()], observed: [observed({ container: 'stopped' })], expected: ['web.service: remove create start'] },
    { name: 'exited unit now loaded', desired: [desired({ state: 'loaded' })], observed: [observed({ container: 'stopped', held: true })], expected: ['web.service: remove create'] },
    { name: 'invalid unit stops old container', desired: [desired({ hash: 'h2', invalid: 'no [Container] section' })], observed: [observed()], expected: ['web.service: stop remove'] },
    { name: 'invalid new unit does nothing', desired: [desired({ invalid: 'no [Container] section' })], observed: [], expected: [] },
    {
      name: 'removals come before other units',
      desired: [desired({ name: 'a.service' })],
      observed: [observed({ name: 'z.service' })],
      expected: ['z.service: stop remove', 'a.service: create start'],
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(summarize(testCase.desired, testCase.observed, testCase.present), testCase.expected);
    });
  }

  it('gives each action a reason', () => {
    const [plan] = planReconcile([], [observed()], new Set());
    assert.deepEqual(plan.actions.map((action) => action.reason), ['no longer assigned', 'no longer assigned']);
  });
});
