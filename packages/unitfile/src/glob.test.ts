import { strict as assert } from 'node:assert';

import { matchUnitGlob, validateUnitGlob } from './glob';
import { machineIdMatches } from './machine-id';

describe('matchUnitGlob', () => {
  const cases: Array<[pattern: string, name: string, matches: boolean]> = [
    ['*', 'foo.service', true],
    ['foo.*', 'foo.socket', true],
    ['foo@*.service', 'foo@12.service', true],
    ['foo@[abc].service', 'foo@a.service', true],
    ['foo@?.service', 'foo@1.service', true],
    ['foo.service', 'bar.service', false],
    ['foo@[abc].service', 'foo@d.service', false],
    ['web@*.service', 'web@.service', true],
    ['web@*.service', 'web.service', false],
    ['*bar*', 'foobarbaz.service', true],
    ['conflict.*.service', 'conflict.3.service', true],
    ['foo@[0-9].service', 'foo@7.service', true],
    ['foo@[0-9].service', 'foo@x.service', false],
    ['foo@[^0-9].service', 'foo@x.service', true],
    ['foo@[^0-9].service', 'foo@7.service', false],
    ['foo@[!0-9].service', 'foo@!.service', true],
    ['foo@[!0-9].service', 'foo@x.service', false],
    ['foo\\*.service', 'foo*.service', true],
    ['foo\\*.service', 'foox.service', false],
    ['a*', 'a/b', false],
    ['a?b', 'a/b', false],
    ['*.service', 'x.service.old', false],
    ['', '', true],
    ['', 'a.service', false],
    ['?', 'é', true],
    ['foo@[ab-].service', 'foo@a.service', false],
    ['**', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['*x', 'xxx', true],
    ['*.service', 'a.b.service', true],
    ['*/b', 'a/b', true],
    ['a/*', 'a/b/c', false],
    ['a*/b', 'abc/b', true],
    ['*c', 'abc', true],
    ['web@*.service', 'web@1.servic', false],
  ];
  for (const [pattern, name, matches] of cases) {
    it(`${matches ? 'matches' : 'does not match'} ${JSON.stringify(pattern)} against ${name}`, () => {
      assert.equal(matchUnitGlob(pattern, name), matches);
    });
  }
});

describe('matchUnitGlob cost', () => {
  it('stays fast for many stars against a long name', () => {
    const pattern = `${'*a'.repeat(40)}*b`;
    const name = 'a'.repeat(256);
    // A backtracking matcher needs exponential time here and would hit mocha's timeout.
    for (let i = 0; i < 50; i++) {
      assert.equal(matchUnitGlob(pattern, name), false);
    }
  });
});

describe('validateUnitGlob', () => {
  for (const pattern of ['*', 'web@*.service', 'foo@[a-c].service', 'foo@[^a].service', 'a\\]b']) {
    it(`accepts ${pattern}`, () => {
      assert.equal(validateUnitGlob(pattern), undefined);
    });
  }
  const bad: Array<[pattern: string, reason: RegExp]> = [
    ['foo[', /no closing/],
    ['foo[]', /unexpected "\]"/],
    ['foo[^]', /unexpected "\]"/],
    ['foo[a-]', /unexpected "\]"/],
    ['foo[-a]', /unexpected "-"/],
    ['foo\\', /lone backslash/],
  ];
  for (const [pattern, reason] of bad) {
    it(`rejects ${pattern}`, () => {
      assert.match(validateUnitGlob(pattern) ?? '', reason);
      assert.equal(matchUnitGlob(pattern, 'foo.service'), false);
    });
  }
});

describe('machineIdMatches', () => {
  const id = '0123456789abcdef0123456789abcdef';
  const cases: Array<[requirement: string, machineId: string, matches: boolean]> = [
    [id, id, true],
    ['01234567', id, true],
    ['0123456', id, false],
    ['012345678', id, false],
    ['', id, false],
    ['fedcba98', id, false],
    ['XXX', 'XXX', true],
    ['01234567', '', false],
  ];
  for (const [requirement, machineId, matches] of cases) {
    it(`${matches ? 'matches' : 'rejects'} ${JSON.stringify(requirement)} for ${JSON.stringify(machineId)}`, () => {
      assert.equal(machineIdMatches(requirement, machineId), matches);
    });
  }
});
