import { strict as assert } from 'node:assert';

import { loadUnit } from './load-unit';
import type { Diagnostic, FleetRequirements, LoadResult } from './types';

const IMAGE = '[Container]\nImage=127.0.0.1:5000/berth/web:v1\n';

/** Load `name` with an `[X-Fleet]` section made of `lines` and a valid container. */
function loadFleet(lines: string[], name = 'test.service'): LoadResult {
  return loadUnit(name, `[X-Fleet]\n${lines.join('\n')}\n${IMAGE}`);
}

function fleetOf(lines: string[], name?: string): FleetRequirements {
  const result = loadFleet(lines, name);
  assert.ok(result.unit, JSON.stringify(result.diagnostics));
  return result.unit.fleet;
}

function errorsOf(lines: string[], name?: string): Diagnostic[] {
  return loadFleet(lines, name).diagnostics.filter((d) => d.severity === 'error');
}

function warningsOf(lines: string[], name?: string): string[] {
  return loadFleet(lines, name)
    .diagnostics.filter((d) => d.severity === 'warning')
    .map((d) => d.message);
}

describe('[X-Fleet] requirements', () => {
  it('has no requirements by default', () => {
    assert.deepEqual(fleetOf([]), { machineOf: [], machineMetadata: {}, conflicts: [], global: false, replaces: [] });
  });

  describe('MachineOf', () => {
    const cases: Array<[lines: string[], peers: string[]]> = [
      [['MachineOf=lol.service'], ['lol.service']],
      [['MachineOf="lol.service"'], ['lol.service']],
      [['MachineOf="foo.service" "bar.service"'], ['foo.service', 'bar.service']],
      [['MachineOf=foo.service', 'MachineOf=bar.service'], ['foo.service', 'bar.service']],
      [['X-ConditionMachineOf=old.service'], ['old.service']],
    ];
    for (const [lines, peers] of cases) {
      it(`reads ${lines.join(' / ')}`, () => assert.deepEqual(fleetOf(lines).machineOf, peers));
    }

    const bad: Array<[value: string, reason: RegExp]> = [
      ['foo.service bar.service', /contains blanks; name one unit per value/],
      ['db', /no suffix/],
      ['db@.service', /template "db@\.service", which never runs/],
      ['test.service', /names the unit itself/],
    ];
    for (const [value, reason] of bad) {
      it(`rejects MachineOf=${value}`, () => {
        const found = errorsOf([`MachineOf=${value}`]);
        assert.equal(found.length, 1);
        assert.equal(found[0].line, 2);
        assert.match(found[0].message, reason);
      });
    }
  });

  describe('Conflicts and Replaces', () => {
    const cases: Array<[lines: string[], conflicts: string[], replaces: string[]]> = [
      [['Conflicts=*bar*'], ['*bar*'], []],
      [['Conflicts=*bar* *foo*'], ['*bar*', '*foo*'], []],
      [['Conflicts=*bar*', 'Conflicts=*foo*'], ['*bar*', '*foo*'], []],
      [['Conflicts="*bar*" "*foo*"'], ['*bar*', '*foo*'], []],
      [['X-Conflicts=old*'], ['old*'], []],
      [['Replaces=*bar*'], [], ['*bar*']],
      [['Replaces=a.service', 'Replaces=b.service'], [], ['a.service', 'b.service']],
    ];
    for (const [lines, conflicts, replaces] of cases) {
      it(`reads ${lines.join(' / ')}`, () => {
        const fleet = fleetOf(lines);
        assert.deepEqual(fleet.conflicts, conflicts);
        assert.deepEqual(fleet.replaces, replaces);
      });
    }

    it('rejects a malformed glob', () => {
      const found = errorsOf(['Conflicts=web@[.service']);
      assert.equal(found.length, 1);
      assert.match(found[0].message, /Conflicts: invalid pattern "web@\[\.service"/);
    });

    it('rejects blanks in a Replaces value', () => {
      assert.match(errorsOf(['Replaces=a.service b.service'])[0].message, /contains blanks/);
    });

    it('lets a unit conflict with its own template', () => {
      assert.deepEqual(fleetOf(['Conflicts=web@*.service'], 'web@1.service').conflicts, ['web@*.service']);
    });
  });

  describe('MachineID', () => {
    const cases: Array<[lines: string[], id: string | undefined]> = [
      [[], undefined],
      [['MachineID=123'], '123'],
      [['MachineID="123" "456"'], '123'],
      [['MachineID=123', 'MachineID=456'], '123'],
      [['X-ConditionMachineID=456', 'MachineID=123'], '123'],
      [['MachineID=123', 'X-ConditionMachineID=456'], '123'],
      [['X-ConditionMachineID=456'], '456'],
      [['X-ConditionMachineBootID=789'], '789'],
      [['X-ConditionMachineBootID=789', 'X-ConditionMachineID=456'], '456'],
    ];
    for (const [lines, id] of cases) {
      it(`reads ${lines.join(' / ') || 'nothing'} as ${id}`, () => assert.equal(fleetOf(lines).machineId, id));
    }

    it('warns about ignored values', () => {
      assert.match(warningsOf(['MachineID="123" "456"']).join('\n'), /"456" is ignored; only the first value, "123"/);
    });

    it('rejects an empty MachineID', () => {
      assert.match(errorsOf(['MachineID='])[0].message, /MachineID= is empty/);
    });

    it('expands %i per instance', () => {
      assert.equal(fleetOf(['MachineID=%i'], 'pin@0123abcd.service').machineId, '0123abcd');
    });
  });

  describe('MachineMetadata', () => {
    const cases: Array<[lines: string[], metadata: Record<string, string[]>]> = [
      [['MachineMetadata=foo=bar'], { foo: ['bar'] }],
      [['MachineMetadata="foo=bar" "foo=baz"'], { foo: ['bar', 'baz'] }],
      [['MachineMetadata=foo=bar', 'MachineMetadata=foo=baz', 'MachineMetadata=foo=qux'], { foo: ['bar', 'baz', 'qux'] }],
      [['MachineMetadata="foo=bar" "duck=quack"'], { foo: ['bar'], duck: ['quack'] }],
      [['X-ConditionMachineMetadata=foo=bar', 'MachineMetadata=foo=baz'], { foo: ['baz', 'bar'] }],
      [
        ['MachineMetadata="oh=yeah" "oh=no"', 'MachineMetadata=whynot=zoidberg', 'MachineMetadata="one=abc" "two=def"'],
        { oh: ['yeah', 'no'], whynot: ['zoidberg'], one: ['abc'], two: ['def'] },
      ],
      [['MachineMetadata=foo=bar', 'MachineMetadata=foo=bar'], { foo: ['bar'] }],
    ];
    for (const [lines, metadata] of cases) {
      it(`reads ${lines.join(' / ')}`, () => assert.deepEqual(fleetOf(lines).machineMetadata, metadata));
    }

    const bad: Array<[value: string, reason: RegExp]> = [
      ['foo=', /"foo=" has an empty value/],
      ['=asdf', /"=asdf" has an empty key/],
      ['foo=asdf=WHAT', /"foo=asdf=WHAT" must contain exactly one "="/],
      ['foo', /"foo" must contain exactly one "="/],
      ['role=web region=eu', /contains blanks; write one key=value pair per value/],
    ];
    for (const [value, reason] of bad) {
      it(`rejects MachineMetadata=${value} instead of dropping it`, () => {
        const found = errorsOf(['MachineMetadata=ok=yes', `MachineMetadata=${value}`]);
        assert.equal(found.length, 1);
        assert.equal(found[0].line, 3);
        assert.match(found[0].message, reason);
      });
    }

    it('reports each bad pair of a quoted line', () => {
      assert.equal(errorsOf(['MachineMetadata="a=" "=b" "c=d"']).length, 2);
    });

    it('selects by instance with %i', () => {
      assert.deepEqual(fleetOf(['MachineMetadata=hostname=%i'], 'metadata@node2.service').machineMetadata, { hostname: ['node2'] });
    });
  });

  describe('Global', () => {
    const cases: Array<[lines: string[], global: boolean]> = [
      [['Global='], false],
      [['Global=foobarbaz'], false],
      [['Global=false'], false],
      [['Global=what'], false],
      [['Global=12'], false],
      [['Global=true'], true],
      [['Global=True'], true],
      [['Global=Yes'], true],
      [['Global=On'], true],
      [['Global=1'], true],
      [['Global=t'], true],
      [['Global=true', 'Global=false'], false],
      [['Global=false', 'Global=true'], true],
      [['X-Global=true'], false],
      [['X-ConditionGlobal=true'], false],
      [['global=true'], false],
    ];
    for (const [lines, global] of cases) {
      it(`reads ${lines.join(' / ')} as ${global}`, () => assert.equal(fleetOf(lines).global, global));
    }

    it('ignores Global in [Service]', () => {
      const result = loadUnit('a.service', `[Service]\nGlobal=true\n${IMAGE}`);
      assert.equal(result.unit?.fleet.global, false);
      assert.match(result.diagnostics[0].message, /Global= has no effect in \[Service\]; it belongs in \[X-Fleet\]/);
    });

    it('warns about a word that is not a boolean', () => {
      assert.match(warningsOf(['Global=what']).join('\n'), /"what" is not a boolean and is read as false/);
    });
  });

  describe('unknown keys', () => {
    const cases: Array<[key: string, message: RegExp]> = [
      ['MachineMetdata', /did you mean MachineMetadata=\?/],
      ['Machineof', /did you mean MachineOf=\?/],
      ['MachineId', /did you mean MachineID=\?/],
      ['X-ConditionConflicts', /unknown key X-ConditionConflicts=/],
      ['X-Peers', /unknown key X-Peers=/],
      ['X-MachineMetadata', /unknown key X-MachineMetadata=/],
      ['Foo', /unknown key Foo= in \[X-Fleet\] is kept but has no effect$/],
    ];
    for (const [key, message] of cases) {
      it(`warns about ${key}=`, () => {
        const result = loadFleet([`${key}=x=y`]);
        assert.ok(result.unit, 'an unknown key is only a warning');
        assert.equal(result.diagnostics.length, 1);
        assert.equal(result.diagnostics[0].severity, 'warning');
        assert.match(result.diagnostics[0].message, message);
        assert.deepEqual(result.unit.document.options[0], {
          section: 'X-Fleet', name: key, value: 'x=y', line: 2, column: 1, valueColumn: key.length + 2,
        });
      });
    }
  });

  describe('combinations', () => {
    const valid: string[][] = [
      [],
      ['Conflicts=foo', 'Conflicts=bar'],
      ['Conflicts=foo.service', 'MachineOf=bar.service'],
      ['Conflicts=b*e', 'MachineOf=foo.service'],
      ['Replaces=foo.service', 'Replaces=bar.service'],
      ['Replaces=foo.service', 'MachineOf=bar.service'],
      ['MachineID=0123abcd'],
      ['Global=true'],
      ['Global=true', 'Conflicts=bar*'],
      ['Global=true', 'MachineMetadata=role=web'],
      ['MachineID=0123abcd', 'Global=false'],
    ];
    for (const lines of valid) {
      it(`accepts ${lines.join(' + ') || 'no options'}`, () => assert.deepEqual(errorsOf(lines), []));
    }

    const invalid: Array<[lines: string[], line: number, reason: RegExp]> = [
      [['Conflicts=foo.service', 'MachineOf=foo.service'], 3, /peer "foo\.service" is also matched by Conflicts=foo\.service/],
      [['Conflicts=foo.service bar.service', 'MachineOf=bar.service'], 3, /Conflicts=bar\.service/],
      [['Conflicts=b*e', 'MachineOf=bar.service'], 3, /peer "bar\.service" is also matched by Conflicts=b\*e/],
      [['Conflicts=b*e', 'MachineOf=baz.service'], 3, /peer "baz\.service"/],
      [['Replaces=foo.service', 'Conflicts=bar.service'], 3, /Conflicts= cannot be combined with Replaces= \(line 2\)/],
      [['Replaces=foo.service', 'Replaces=bar.service', 'MachineOf=bar.service'], 4, /matched by Replaces=bar\.service/],
      [['MachineID=0123abcd', 'MachineOf=foo.service'], 3, /MachineOf= cannot be combined with MachineID=/],
      [['MachineID=0123abcd', 'Conflicts=foo.service'], 3, /Conflicts= cannot be combined with MachineID=/],
      [['MachineID=0123abcd', 'Replaces=foo.service'], 3, /Replaces= cannot be combined with MachineID=/],
      [['Global=true', 'MachineID=0123abcd'], 3, /MachineID= cannot be combined with Global= \(line 2\)/],
      [['Global=true', 'MachineOf=foo.service'], 3, /MachineOf= cannot be combined with Global=/],
      [['Replaces=foo.service', 'Global=yes'], 3, /Global= cannot be combined with Replaces=/],
    ];
    for (const [lines, line, reason] of invalid) {
      it(`rejects ${lines.join(' + ')}`, () => {
        const found = errorsOf(lines);
        assert.equal(found.length, 1, JSON.stringify(found));
        assert.equal(found[0].line, line);
        assert.match(found[0].message, reason);
      });
    }
  });

  describe('specifiers', () => {
    it('expands %n %N %p %i in an instance', () => {
      const fleet = fleetOf(['MachineOf=%p-db@%i.service', 'Conflicts=%N-*'], 'ssh@2.service');
      assert.deepEqual(fleet.machineOf, ['ssh-db@2.service']);
      assert.deepEqual(fleet.conflicts, ['ssh@2-*']);
    });

    it('does not change the stored text, options or hash', () => {
      const text = `[X-Fleet]\nMachineOf=db@%i.service\n${IMAGE}`;
      const one = loadUnit('app@1.service', text).unit;
      const two = loadUnit('app@2.service', text).unit;
      assert.ok(one);
      assert.ok(two);
      assert.equal(one.text, text);
      assert.equal(one.document.options[0].value, 'db@%i.service');
      assert.equal(one.hash, two.hash);
      assert.deepEqual(one.fleet.machineOf, ['db@1.service']);
      assert.deepEqual(two.fleet.machineOf, ['db@2.service']);
    });

    it('rejects %H and %m, which exist only after placement', () => {
      for (const machine of [undefined, { hostname: 'node-1', machineId: '0123abcd' }]) {
        const result = loadUnit('a.service', `[X-Fleet]\nMachineMetadata=host=%H\nMachineID=%m\n${IMAGE}`, undefined, machine);
        const lines = result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.line);
        assert.deepEqual(lines, [2, 3]);
        assert.match(result.diagnostics[0].message, /known only after the unit is placed/);
      }
    });

    it('keeps %i in a template and skips checks that depend on it', () => {
      const result = loadUnit('app@.service', '[X-Fleet]\nMachineOf=db@%i.service\nMachineMetadata=host=%i\n');
      assert.deepEqual(result.diagnostics, []);
      assert.deepEqual(result.unit?.fleet.machineOf, ['db@%i.service']);
      assert.equal(result.unit?.nameInfo.isTemplate, true);
    });
  });
});
