import assert from 'node:assert/strict';
import { KeyLayout } from './keys';

describe('KeyLayout', () => {
  const keys = new KeyLayout('/berth');
  const cases: Array<[string, string, ReturnType<KeyLayout['parse']>]> = [
    ['unit key', keys.unit('web@1.service'), { kind: 'units', parts: ['web@1.service'] }],
    ['assignment key', keys.assignment('m1', 'web@1.service'), { kind: 'assignments', parts: ['m1', 'web@1.service'] }],
    ['state key', keys.state('a.service', 'm2'), { kind: 'states', parts: ['a.service', 'm2'] }],
    ['leader key', keys.leader, { kind: 'leader', parts: [] }],
    ['other prefix', '/other/units/a.service', undefined],
    ['unknown kind', '/berth/unknown/a', undefined],
    ['directory only', '/berth/units/', undefined],
  ];

  for (const [name, key, expected] of cases) {
    it(`parses ${name}`, () => {
      assert.deepEqual(keys.parse(key), expected);
    });
  }
});
