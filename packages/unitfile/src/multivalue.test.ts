import { strict as assert } from 'node:assert';

import { splitFleetValue } from './multivalue';

describe('splitFleetValue', () => {
  const cases: Array<[value: string, parts: string[]]> = [
    ['', ['']],
    ['""', ['']],
    ['"bar', ['"bar']],
    ['bar"', ['bar"']],
    ['foo\\"bar', ['foo\\"bar']],
    ['"bar" "', ['bar', '']],
    ['"foo\\"bar"', ['foo\\bar']],
    ['"a b" "c"', ['a b', 'c']],
    ['"foo.service" "bar.service"', ['foo.service', 'bar.service']],
    ['"a"  "b"', ['a', '', 'b']],
    ['plain value with blanks', ['plain value with blanks']],
    ['"foo=bar" "duck=quack"', ['foo=bar', 'duck=quack']],
  ];
  for (const [value, parts] of cases) {
    it(`splits ${JSON.stringify(value)}`, () => {
      assert.deepEqual(splitFleetValue(value), parts);
    });
  }
});
