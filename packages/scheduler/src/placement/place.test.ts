import assert from 'node:assert/strict';
import { describeTable, machine, snapshot, unit } from './fixtures';
import { planPlacement } from './place';
import { PlacementSnapshot } from './types';

const M1 = '1111111111111111aaaaaaaaaaaaaaaa';
const M2 = '2222222222222222bbbbbbbbbbbbbbbb';
const M3 = '3333333333333333cccccccccccccccc';
const GiB = 1024 ** 3;

interface Case {
  name: string;
  input: PlacementSnapshot;
  /** Expected assignment table after the plan: unit to comma-separated sorted machine ids. */
  table: Record<string, string>;
  /** Expected reasons; units not listed must have none. */
  reasons?: Record<string, string>;
  /** Expected changes as `assign|unassign unit machine (cause)`, in any order. */
  changes?: string[];
}

const cases: Case[] = [
  // fleet's AbleToRun checks.
  {
    name: 'unit without requirements is placed',
    input: snapshot([unit('foo.service')], [machine(M1)]),
    table: { 'foo.service': M1 },
  },
  {
    name: 'MachineID full id matches',
    input: snapshot([unit('pin.service', { machineId: M2 })], [machine(M1), machine(M2)]),
    table: { 'pin.service': M2 },
  },
  {
    name: 'MachineID 8-character prefix matches',
    input: snapshot([unit('pin.service', { machineId: M2.slice(0, 8) })], [machine(M1), machine(M2)]),
    table: { 'pin.service': M2 },
  },
  {
    name: 'unsatisfiable MachineID stays unplaced with reason',
    input: snapshot([unit('pin.service', { machineId: 'deadbeef' })], [machine(M1), machine(M2)]),
    table: {},
    reasons: { 'pin.service': 'MachineID=deadbeef excluded 2 of 2 machines' },
  },
  {
    name: 'MachineMetadata match selects machine',
    input: snapshot(
      [unit('web.service', { machineMetadata: { region: ['us-east-1'] } })],
      [machine(M1, { region: 'us-west-1' }), machine(M2, { region: 'us-east-1' })],
    ),
    table: { 'web.service': M2 },
  },
  {
    name: 'MachineMetadata mismatch gives reason',
    input: snapshot(
      [unit('web.service', { machineMetadata: { region: ['eu'] } })],
      [machine(M1, { region: 'us' }), machine(M2)],
    ),
    table: {},
    reasons: { 'web.service': 'MachineMetadata=region=eu excluded 2 of 2 machines' },
  },
  {
    name: 'MachineMetadata same key values are alternatives',
    input: snapshot(
      [unit('web.service', { machineMetadata: { groups: ['ping', 'pong'] } })],
      [machine(M1, { groups: 'other' }), machine(M2, { groups: 'pong' })],
    ),
    table: { 'web.service': M2 },
  },
  {
    name: 'MachineMetadata different keys all required',
    input: snapshot(
      [unit('web.service', { machineMetadata: { region: ['us'], disk: ['ssd'] } })],
      [machine(M1, { region: 'us', disk: 'hdd' }), machine(M2, { region: 'us', disk: 'ssd' })],
    ),
    table: { 'web.service': M2 },
  },
  {
    name: 'machine metadata irrelevant without requirement',
    input: snapshot([unit('foo.service')], [machine(M1, { role: 'db' }), machine(M2)]),
    table: { 'foo.service': M1 },
  },
  {
    name: 'MachineOf one peer co-locates',
    input: snapshot(
      [unit('ping.service'), unit('pong.service', { machineOf: ['ping.service'] })],
      [machine(M1), machine(M2)],
      { 'ping.service': [M2] },
    ),
    table: { 'ping.service': M2, 'pong.service': M2 },
  },
  {
    name: 'MachineOf two peers on one machine',
    input: snapshot(
      [unit('a.service'), unit('b.service'), unit('c.service', { machineOf: ['a.service', 'b.service'] })],
      [machine(M1), machine(M2), machine(M3)],
      { 'a.service': [M3], 'b.service': [M3] },
    ),
    table: { 'a.service': M3, 'b.service': M3, 'c.service': M3 },
  },
  {
    name: 'MachineOf peers placed first in same plan',
    input: snapshot(
      [unit('a-follower.service', { machineOf: ['z-leader.service'] }), unit('z-leader.service')],
      [machine(M1), machine(M2)],
    ),
    table: { 'a-follower.service': M1, 'z-leader.service': M1 },
  },
  {
    name: 'MachineOf missing peer gives reason',
    input: snapshot([unit('pong.service', { machineOf: ['ping.service'] })], [machine(M1), machine(M2)]),
    table: {},
    reasons: { 'pong.service': 'MachineOf=ping.service excluded 2 of 2 machines (ping.service not placed)' },
  },
  {
    name: 'MachineOf peers on different machines unsatisfiable',
    input: snapshot(
      [unit('a.service'), unit('b.service'), unit('c.service', { machineOf: ['a.service', 'b.service'] })],
      [machine(M1), machine(M2)],
      { 'a.service': [M1], 'b.service': [M2] },
    ),
    table: { 'a.service': M1, 'b.service': M2 },
    reasons: { 'c.service': 'MachineOf=a.service excluded 1 of 2 machines; MachineOf=b.service excluded 1 of 2 machines' },
  },
  {
    name: 'MachineOf follower moves with peer',
    input: snapshot(
      [unit('ping.service'), unit('pong.service', { machineOf: ['ping.service'] })],
      [machine(M2), machine(M3)],
      { 'ping.service': [M1], 'pong.service': [M1] },
    ),
    table: { 'ping.service': M2, 'pong.service': M2 },
    changes: [
      `unassign ping.service ${M1} (machine ${M1} went away)`,
      `unassign pong.service ${M1} (machine ${M1} went away)`,
      `assign ping.service ${M2} (placed)`,
      `assign pong.service ${M2} (placed)`,
    ],
  },
  {
    name: 'MachineOf cycle gives reason',
    input: snapshot(
      [unit('a.service', { machineOf: ['b.service'] }), unit('b.service', { machineOf: ['a.service'] })],
      [machine(M1)],
    ),
    table: {},
    reasons: {
      'a.service': 'MachineOf=b.service forms a cycle, so no unit of it can be placed first',
      'b.service': 'MachineOf=a.service forms a cycle, so no unit of it can be placed first',
    },
  },
  // Conflicts, in the forms the parser produces for one pattern, several lines and one spaced line.
  {
    name: 'Conflicts single pattern avoids machine',
    input: snapshot(
      [unit('bar.service'), unit('foo.service', { conflicts: ['bar.service'] })],
      [machine(M1), machine(M2)],
      { 'bar.service': [M2] },
    ),
    table: { 'bar.service': M2, 'foo.service': M1 },
  },
  {
    name: 'Conflicts later pattern of several matches',
    input: snapshot(
      [unit('a.service'), unit('bar.service'), unit('foo.service', { conflicts: ['baz*.service', 'bar.service'] })],
      [machine(M1), machine(M2)],
      { 'bar.service': [M1], 'a.service': [M2] },
    ),
    table: { 'a.service': M2, 'bar.service': M1, 'foo.service': M2 },
  },
  {
    name: 'Conflicts of existing unit blocks newcomer',
    input: snapshot(
      [unit('bar.service', { conflicts: ['foo.service'] }), unit('foo.service')],
      [machine(M1), machine(M2)],
      { 'bar.service': [M1] },
    ),
    table: { 'bar.service': M1, 'foo.service': M2 },
  },
  {
    name: 'Conflicts on empty machines place',
    input: snapshot([unit('foo.service', { conflicts: ['*'] })], [machine(M1)]),
    table: { 'foo.service': M1 },
  },
  {
    name: 'Conflicts five instances on three machines',
    input: snapshot(
      [1, 2, 3, 4, 5].map((i) => unit(`app@${i}.service`, { conflicts: ['app@*.service'] })),
      [machine(M1), machine(M2), machine(M3)],
    ),
    table: { 'app@1.service': M1, 'app@2.service': M2, 'app@3.service': M3 },
    reasons: {
      'app@4.service': 'Conflicts=app@*.service excluded 3 of 3 machines',
      'app@5.service': 'Conflicts=app@*.service excluded 3 of 3 machines',
    },
  },
  {
    name: 'Conflicts three units listing each other',
    input: snapshot(
      [
        unit('a.service', { conflicts: ['b.service', 'c.service'] }),
        unit('b.service', { conflicts: ['a.service', 'c.service'] }),
        unit('c.service', { conflicts: ['a.service', 'b.service'] }),
      ],
      [machine(M1), machine(M2), machine(M3)],
    ),
    table: { 'a.service': M1, 'b.service': M2, 'c.service': M3 },
  },
  // Choice among machines.
  {
    name: 'least loaded machine wins',
    input: snapshot(
      [unit('a1.service'), unit('a2.service'), unit('a3.service'), unit('b1.service'), unit('new.service')],
      [machine(M1), machine(M2)],
      { 'a1.service': [M1], 'a2.service': [M1], 'a3.service': [M1], 'b1.service': [M2] },
    ),
    table: { 'a1.service': M1, 'a2.service': M1, 'a3.service': M1, 'b1.service': M2, 'new.service': M2 },
  },
  {
    name: 'equal load ties by machine id',
    input: snapshot([unit('new.service')], [machine(M2), machine(M1)]),
    table: { 'new.service': M1 },
  },
  {
    name: 'equal unit counts compare requested CPUs',
    input: snapshot(
      [unit('big.service', { cpus: 2 }), unit('small.service', { cpus: 0.5 }), unit('new.service')],
      [machine(M1), machine(M2)],
      { 'big.service': [M1], 'small.service': [M2] },
    ),
    table: { 'big.service': M1, 'small.service': M2, 'new.service': M2 },
  },
  {
    name: 'no machines gives reason',
    input: snapshot([unit('foo.service')], []),
    table: {},
    reasons: { 'foo.service': 'no machines are available' },
  },
  {
    name: 'placed units stay when others are emptier',
    input: snapshot([unit('a.service'), unit('b.service')], [machine(M1), machine(M2)], {
      'a.service': [M1],
      'b.service': [M1],
    }),
    table: { 'a.service': M1, 'b.service': M1 },
    changes: [],
  },
  // Global units.
  {
    name: 'Global without metadata on every machine',
    input: snapshot([unit('log.service', { global: true })], [machine(M1), machine(M2), machine(M3)]),
    table: { 'log.service': `${M1},${M2},${M3}` },
  },
  {
    name: 'Global with metadata only on matching machines',
    input: snapshot(
      [unit('log.service', { global: true, machineMetadata: { dog: ['woof'] } })],
      [machine(M1, { dog: 'woof' }), machine(M2, { cat: 'miaow' }), machine(M3)],
    ),
    table: { 'log.service': M1 },
  },
  {
    name: 'Global matching no machine gives reason',
    input: snapshot(
      [unit('log.service', { global: true, machineMetadata: { dog: ['woof'] } })],
      [machine(M1), machine(M2)],
    ),
    table: {},
    reasons: { 'log.service': 'MachineMetadata=dog=woof excluded 2 of 2 machines' },
  },
  {
    name: 'Global units conflicting keep first name',
    input: snapshot(
      [unit('a-log.service', { global: true, conflicts: ['*-log.service'] }), unit('b-log.service', { global: true })],
      [machine(M1), machine(M2)],
    ),
    table: { 'a-log.service': `${M1},${M2}` },
    reasons: { 'b-log.service': 'Conflicts=*-log.service of a-log.service excluded 2 of 2 machines' },
  },
  {
    name: 'Global counts toward load',
    input: snapshot(
      [unit('log.service', { global: true, machineMetadata: { role: ['edge'] } }), unit('web.service')],
      [machine(M1, { role: 'edge' }), machine(M2)],
    ),
    table: { 'log.service': M1, 'web.service': M2 },
  },
  // Replaces.
  {
    name: 'Replaces moves replaced unit elsewhere',
    input: snapshot(
      [unit('old.service'), unit('x.service'), unit('y.service'), unit('new.service', { replaces: ['old.service'] })],
      [machine(M1), machine(M2)],
      { 'old.service': [M1], 'x.service': [M2], 'y.service': [M2] },
    ),
    table: { 'new.service': M1, 'old.service': M2, 'x.service': M2, 'y.service': M2 },
    changes: [
      `assign new.service ${M1} (placed)`,
      `unassign old.service ${M1} (replaced by new.service)`,
      `assign old.service ${M2} (placed)`,
    ],
  },
  {
    name: 'Replaces keeps replaced unit off machine',
    input: snapshot(
      [unit('new.service', { replaces: ['old.service'] }), unit('old.service')],
      [machine(M1), machine(M2)],
      { 'new.service': [M1] },
    ),
    table: { 'new.service': M1, 'old.service': M2 },
  },
  {
    name: 'Replaces with nowhere to go gives reason',
    input: snapshot(
      [unit('new.service', { replaces: ['old.service'] }), unit('old.service')],
      [machine(M1)],
      { 'old.service': [M1] },
    ),
    table: { 'new.service': M1 },
    reasons: { 'old.service': 'Replaces=old.service of new.service excluded 1 of 1 machine' },
  },
  {
    name: 'mutual Replaces are ignored',
    input: snapshot(
      [unit('a.service', { replaces: ['b.service'] }), unit('b.service', { replaces: ['a.service'] })],
      [machine(M1)],
      { 'a.service': [M1] },
    ),
    table: { 'a.service': M1, 'b.service': M1 },
  },
  // Resources and ports.
  {
    name: 'Memory request skips small machine',
    input: snapshot([unit('db.service', { memoryBytes: 2 * GiB })], [machine(M1, {}, 4, GiB), machine(M2, {}, 4, 4 * GiB)]),
    table: { 'db.service': M2 },
  },
  {
    name: 'CPUs requests fill machines',
    input: snapshot(
      [unit('a.service', { cpus: 0.6 }), unit('b.service', { cpus: 0.6 }), unit('c.service', { cpus: 0.6 })],
      [machine(M1, {}, 1), machine(M2, {}, 1)],
    ),
    table: { 'a.service': M1, 'b.service': M2 },
    reasons: { 'c.service': 'CPUs=0.6 excluded 2 of 2 machines' },
  },
  {
    name: 'CPUs exact fit accepted',
    input: snapshot(
      [unit('a.service', { cpus: 0.1 }), unit('b.service', { cpus: 0.2 })],
      [machine(M1, {}, 0.3)],
    ),
    table: { 'a.service': M1, 'b.service': M1 },
  },
  {
    name: 'Memory reason names size',
    input: snapshot([unit('db.service', { memoryBytes: 512 * 1024 ** 2 })], [machine(M1, {}, 1, 256 * 1024 ** 2)]),
    table: {},
    reasons: { 'db.service': 'Memory=512M excluded 1 of 1 machine' },
  },
  {
    name: 'host port collision gives reason',
    input: snapshot(
      [unit('a.service', { ports: [{ hostPort: 8080 }] }), unit('b.service', { ports: [{ hostPort: 8080 }] })],
      [machine(M1)],
    ),
    table: { 'a.service': M1 },
    reasons: { 'b.service': 'PublishPort=tcp/8080 excluded 1 of 1 machine' },
  },
  {
    name: 'host port moves to free machine',
    input: snapshot(
      [unit('a.service', { ports: [{ hostPort: 80 }] }), unit('b.service', { ports: [{ hostPort: 80 }] })],
      [machine(M1), machine(M2)],
    ),
    table: { 'a.service': M1, 'b.service': M2 },
  },
  {
    name: 'host ports differ by protocol or address',
    input: snapshot(
      [
        unit('a.service', { ports: [{ hostPort: 53, protocol: 'udp' }] }),
        unit('b.service', { ports: [{ hostPort: 53, protocol: 'tcp' }] }),
        unit('c.service', { ports: [{ hostPort: 9000, hostIp: '10.0.0.1' }] }),
        unit('d.service', { ports: [{ hostPort: 9000, hostIp: '10.0.0.2' }] }),
      ],
      [machine(M1)],
    ),
    table: { 'a.service': M1, 'b.service': M1, 'c.service': M1, 'd.service': M1 },
  },
  // Desired state, templates and machine loss.
  {
    name: 'template never placed',
    input: snapshot([unit('web@.service')], [machine(M1)]),
    table: {},
  },
  {
    name: 'inactive unit is unassigned',
    input: snapshot([unit('foo.service', { desired: 'inactive' })], [machine(M1)], { 'foo.service': [M1] }),
    table: {},
    changes: [`unassign foo.service ${M1} (desired state inactive)`],
  },
  {
    name: 'loaded unit is placed',
    input: snapshot([unit('foo.service', { desired: 'loaded' })], [machine(M1)]),
    table: { 'foo.service': M1 },
  },
  {
    name: 'destroyed unit is unassigned',
    input: snapshot([], [machine(M1)], { 'gone.service': [M1] }),
    table: {},
    changes: [`unassign gone.service ${M1} (unit destroyed)`],
  },
  {
    name: 'units of vanished machine re-placed',
    input: snapshot([unit('a.service'), unit('b.service')], [machine(M2), machine(M3)], {
      'a.service': [M1],
      'b.service': [M1],
    }),
    table: { 'a.service': M2, 'b.service': M3 },
  },
  {
    name: 'invalid unit gets its problem as reason',
    input: snapshot([{ ...unit('bad.service'), invalid: 'bad.service:3:1: error: missing Image=' }], [machine(M1)]),
    table: {},
    reasons: { 'bad.service': 'bad.service:3:1: error: missing Image=' },
  },
];

describe('planPlacement', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planPlacement(c.input);

      assert.deepEqual(describeTable(plan.result), c.table);
      assert.deepEqual(Object.fromEntries([...plan.reasons].sort()), c.reasons ?? {});
      if (c.changes !== undefined) {
        const actual = plan.changes.map((ch) => `${ch.kind} ${ch.unit} ${ch.machineId} (${ch.cause})`);
        assert.deepEqual(actual.sort(), [...c.changes].sort());
      }
    });
  }

  it('same snapshot gives same plan', () => {
    const units = Array.from({ length: 50 }, (_, i) => unit(`u${i}.service`, { cpus: (i % 3) * 0.25 }));
    const machines = [machine(M3), machine(M1), machine(M2)];

    const first = planPlacement(snapshot(units, machines));
    const second = planPlacement(snapshot([...units].reverse(), [...machines].reverse()));

    assert.deepEqual(describeTable(second.result), describeTable(first.result));
  });

  it('replanning a placed table changes nothing', () => {
    const units = Array.from({ length: 30 }, (_, i) =>
      unit(`u${i}.service`, { conflicts: i % 2 === 0 ? ['u1*.service'] : [], ports: i % 5 === 0 ? [{ hostPort: 80 }] : [] }),
    );
    const machines = [machine(M1), machine(M2), machine(M3)];

    const first = planPlacement(snapshot(units, machines));
    const again = planPlacement({ units, machines, assignments: first.result });

    assert.deepEqual(again.changes, []);
  });
});

describe('planPlacement with absent machines', () => {
  const absent = { ...machine(M3), absent: true };

  it('absent machine keeps its units', () => {
    const plan = planPlacement(snapshot([unit('a.service'), unit('g.service', { global: true })], [machine(M1), absent], {
      'a.service': [M3],
      'g.service': [M1, M3],
    }));

    assert.deepEqual(describeTable(plan.result), { 'a.service': M3, 'g.service': `${M1},${M3}` });
    assert.deepEqual(plan.changes, []);
  });

  it('absent machine gets nothing new', () => {
    const plan = planPlacement(snapshot([unit('b.service', { machineId: M3 }), unit('g.service', { global: true })], [absent]));

    assert.deepEqual(describeTable(plan.result), {});
    assert.equal(plan.reasons.get('b.service'), 'not connected excluded 1 of 1 machine');
    assert.equal(plan.reasons.get('g.service'), 'not connected excluded 1 of 1 machine');
  });
});

describe('planPlacement of Global units after evictions', () => {
  it('no reason once machine freed', () => {
    // Eviction of the inactive conflicting.service comes first, so the Global unit fits everywhere.
    const plan = planPlacement(snapshot(
      [unit('agent.service', { global: true, conflicts: ['conflicting.service'] }), unit('conflicting.service', { desired: 'inactive' })],
      [machine(M1)],
      { 'conflicting.service': [M1] },
    ));

    assert.deepEqual(describeTable(plan.result), { 'agent.service': M1 });
    assert.deepEqual([...plan.reasons.keys()], []);
  });
});
