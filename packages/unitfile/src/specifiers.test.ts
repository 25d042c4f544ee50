import { strict as assert } from 'node:assert';

import { expandSpecifiers, unescapeUnitText } from './specifiers';
import { parseUnitName } from './unit-name';
import type { UnitNameInfo } from './types';

function info(name: string): UnitNameInfo {
  const parsed = parseUnitName(name);
  assert.ok(parsed);
  return parsed;
}

const machine = { hostname: 'node-1', machineId: '0123456789abcdef0123456789abcdef' };

describe('expandSpecifiers', () => {
  const cases: Array<[name: string, text: string, expected: string]> = [
    ['test.service', '%n %N %p %i', 'test.service test test '],
    ['ssh@2.service', '%n %N %p %i', 'ssh@2.service ssh@2 ssh 2'],
    ['foo@bar.waldo', '%n|%N|%p|%i', 'foo@bar.waldo|foo@bar|foo|bar'],
    ['web@a-b.service', '%i %I', 'a-b a/b'],
    ['web@1.service', '100%% and %%i', '100% and %i'],
    ['web@1.service', 'no specifiers', 'no specifiers'],
  ];
  for (const [name, text, expected] of cases) {
    it(`expands ${JSON.stringify(text)} for ${name}`, () => {
      const result = expandSpecifiers(text, info(name));
      assert.equal(result.text, expected);
      assert.deepEqual(result.pending, []);
      assert.deepEqual(result.unknown, []);
    });
  }

  it('expands %H and %m when a machine is given', () => {
    const result = expandSpecifiers('%H/%m', info('web@1.service'), machine);
    assert.equal(result.text, 'node-1/0123456789abcdef0123456789abcdef');
    assert.deepEqual(result.pending, []);
  });

  it('leaves %H and %m pending without a machine', () => {
    const result = expandSpecifiers('%H-%m', info('web@1.service'));
    assert.equal(result.text, '%H-%m');
    assert.deepEqual(result.pending, ['%H', '%m']);
  });

  it('leaves %i and %I pending in a template', () => {
    const result = expandSpecifiers('db@%i.service %I %p', info('web@.service'));
    assert.equal(result.text, 'db@%i.service %I web');
    assert.deepEqual(result.pending, ['%i', '%I']);
  });

  it('keeps unknown specifiers and lists them', () => {
    const result = expandSpecifiers('date +%s and %t', info('a.service'));
    assert.equal(result.text, 'date +%s and %t');
    assert.deepEqual(result.unknown, ['%s', '%t']);
  });
});

describe('unescapeUnitText', () => {
  const cases: Array<[text: string, expected: string]> = [
    ['plain', 'plain'],
    ['srv-www', 'srv/www'],
    ['a\\x2db', 'a-b'],
    ['\\xc3\\xa9', 'é'],
    ['bad\\xzz', 'bad\\xzz'],
  ];
  for (const [text, expected] of cases) {
    it(`unescapes ${text}`, () => assert.equal(unescapeUnitText(text), expected));
  }
});
