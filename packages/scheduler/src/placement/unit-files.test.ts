import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadUnit } from '@berth/unitfile';
import { describeTable, machine, snapshot } from './fixtures';
import { planPlacement } from './place';
import { toPlacementUnit } from './placement-unit';
import { DesiredState, PlacementMachine, PlacementUnit } from './types';

// Tests run from dist/, the data stays in the package and the example units at the repository root.
const PACKAGE_DIR = join(__dirname, '..', '..');
const GOLDEN_DIR = join(PACKAGE_DIR, 'testdata', 'placement');
const UNITS_DIR = join(PACKAGE_DIR, '..', '..', 'units');
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
const MiB = 1024 ** 2;

function parsed(name: string, text: string, desired: DesiredState = 'launched'): PlacementUnit {
  const result = loadUnit(name, text);
  assert.ok(result.unit, `${name} does not load: ${JSON.stringify(result.diagnostics)}`);
  return toPlacementUnit(result.unit, desired);
}

/** Loads units/ with three web instances, as `berthctl start web@1 web@2 web@3` would submit them. */
function exampleUnits(): PlacementUnit[] {
  if (!existsSync(UNITS_DIR)) throw new Error(`example units not found at ${UNITS_DIR}`);
  const units: PlacementUnit[] = [];
  for (const file of readdirSync(UNITS_DIR).sort()) {
    const text = readFileSync(join(UNITS_DIR, file), 'utf8');
    if (file.includes('@.')) {
      units.push(parsed(file, text, 'inactive'));
      for (const i of [1, 2, 3]) units.push(parsed(file.replace('@.', `@${i}.`), text));
    } else {
      units.push(parsed(file, text));
    }
  }
  return units;
}

const EXAMPLE_MACHINES: PlacementMachine[] = [
  machine('web1aaaa0000000000000000000000001', { role: 'web' }, 2, 1024 * MiB),
  machine('web2bbbb0000000000000000000000002', { role: 'web' }, 2, 1024 * MiB),
  machine('db00cccc0000000000000000000000003', { role: 'db' }, 2, 1024 * MiB),
  machine('tinydddd0000000000000000000000004', {}, 1, 100 * MiB),
];

interface GoldenCase {
  name: string;
  machines: PlacementMachine[];
}

const goldenCases: GoldenCase[] = [
  { name: 'example-units-four-machines', machines: EXAMPLE_MACHINES },
  { name: 'example-units-without-db-machine', machines: EXAMPLE_MACHINES.filter((m) => m.metadata.role !== 'db') },
  { name: 'example-units-one-web-machine', machines: EXAMPLE_MACHINES.slice(0, 1) },
];

describe('placement of units/ against golden plans', () => {
  for (const c of goldenCases) {
    it(c.name, () => {
      const plan = planPlacement(snapshot(exampleUnits(), c.machines));
      const actual = { machines: c.machines.map((m) => m.id), assignments: describeTable(plan.result), reasons: Object.fromEntries([...plan.reasons].sort()) };
      const file = join(GOLDEN_DIR, `${c.name}.json`);

      if (UPDATE_GOLDEN) writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
      assert.ok(existsSync(file), `golden file ${file} is missing; run with UPDATE_GOLDEN=1 and review it`);
      assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});

const IMAGE = '[Container]\nImage=docker.io/library/busybox:latest\n';
const M1 = 'a1000000000000000000000000000001';
const M2 = 'b2000000000000000000000000000002';

describe('placement of parsed X-Fleet forms', () => {
  const conflictForms: Array<[string, string]> = [
    ['Conflicts single line', 'Conflicts=bar.service'],
    ['Conflicts multi-line', 'Conflicts=baz.service\nConflicts=bar.service'],
    ['Conflicts space-separated', 'Conflicts=baz.service bar.service'],
  ];
  for (const [name, line] of conflictForms) {
    it(name, () => {
      const foo = parsed('foo.service', `[X-Fleet]\n${line}\n\n${IMAGE}`);
      const bar = parsed('bar.service', IMAGE);

      const plan = planPlacement(snapshot([foo, bar], [machine(M1), machine(M2)], { 'bar.service': [M1] }));

      assert.deepEqual(describeTable(plan.result), { 'bar.service': M1, 'foo.service': M2 });
    });
  }

  it('MachineOf two quoted peers', () => {
    const follower = parsed('c.service', `[X-Fleet]\nMachineOf="a.service" "b.service"\n\n${IMAGE}`);
    const units = [parsed('a.service', IMAGE), parsed('b.service', IMAGE), follower];

    const plan = planPlacement(snapshot(units, [machine(M1), machine(M2)], { 'a.service': [M2], 'b.service': [M2] }));

    assert.equal(describeTable(plan.result)['c.service'], M2);
  });

  it('MachineID specifier pins instances', () => {
    const text = `[X-Fleet]\nMachineID=%i\n\n${IMAGE}`;
    const units = [parsed(`pin@${M2}.service`, text), parsed(`pin@${M1.slice(0, 8)}.service`, text)];

    const plan = planPlacement(snapshot(units, [machine(M1), machine(M2)]));

    assert.deepEqual(describeTable(plan.result), { [`pin@${M1.slice(0, 8)}.service`]: M1, [`pin@${M2}.service`]: M2 });
  });

  it('resources and ports parsed from Container', () => {
    const text = `${IMAGE}Memory=600M\nCPUs=1.5\nPublishPort=8080:80\n`;
    const units = [parsed('a.service', text), parsed('b.service', text)];

    const plan = planPlacement(snapshot(units, [machine(M1, {}, 2, 1024 * MiB)]));

    assert.deepEqual(describeTable(plan.result), { 'a.service': M1 });
    assert.equal(plan.reasons.get('b.service'), 'CPUs=1.5 excluded 1 of 1 machine');
  });
});
