import { strict as assert } from 'node:assert';

import { normalizeUnitName, parseUnitName, validateUnitName } from './unit-name';

describe('parseUnitName', () => {
  const cases: Array<{ name: string; prefix: string; instance: string; suffix: string; template: string; isTemplate: boolean; isInstance: boolean }> = [
    { name: 'foo.service', prefix: 'foo', instance: '', suffix: 'service', template: '', isTemplate: false, isInstance: false },
    { name: 'foo@.service', prefix: 'foo', instance: '', suffix: 'service', template: 'foo@.service', isTemplate: true, isInstance: false },
    { name: 'foo@bar.service', prefix: 'foo', instance: 'bar', suffix: 'service', template: 'foo@.service', isTemplate: false, isInstance: true },
    { name: 'foo@bar@baz.service', prefix: 'foo', instance: 'bar@baz', suffix: 'service', template: 'foo@.service', isTemplate: false, isInstance: true },
    { name: 'foo.1@.service', prefix: 'foo.1', instance: '', suffix: 'service', template: 'foo.1@.service', isTemplate: true, isInstance: false },
    { name: 'foo.1@2.service', prefix: 'foo.1', instance: '2', suffix: 'service', template: 'foo.1@.service', isTemplate: false, isInstance: true },
    { name: 'ssh@.socket', prefix: 'ssh', instance: '', suffix: 'socket', template: 'ssh@.socket', isTemplate: true, isInstance: false },
    { name: 'ssh@1.socket', prefix: 'ssh', instance: '1', suffix: 'socket', template: 'ssh@.socket', isTemplate: false, isInstance: true },
    { name: 'foo@bar.waldo', prefix: 'foo', instance: 'bar', suffix: 'waldo', template: 'foo@.waldo', isTemplate: false, isInstance: true },
  ];
  for (const c of cases) {
    it(`splits ${c.name}`, () => {
      assert.deepEqual(parseUnitName(c.name), c);
    });
  }

  for (const name of ['foo', 'bar@baz']) {
    it(`returns undefined for ${name} without a dot`, () => {
      assert.equal(parseUnitName(name), undefined);
    });
  }
});

describe('validateUnitName', () => {
  const name256 = `${'a'.repeat(248)}.service`;
  const valid = [
    'foo.service',
    'hello.mount',
    'foo@123.service',
    'foo@.service',
    'yo.yo.service',
    'hello@world.path',
    'hello:world.service',
    'yes@no\\.service',
    'foo-bar.mount',
    'jalapano_chips.service',
    name256,
    'foo@1.path',
    'foo@1.service',
    'foo@1.socket',
    'foo@1.target',
    'foo@1.timer',
    'foo@bar@baz.service',
  ];
  for (const name of valid) {
    it(`accepts ${name.length > 40 ? `a ${name.length}-byte name` : name}`, () => {
      assert.equal(name.length <= 256, true);
      assert.equal(validateUnitName(name), undefined);
    });
  }

  const invalid: Array<[name: string, message: RegExp]> = [
    ['', /empty/],
    [`a${name256}`, /257 bytes/],
    ['fooservice', /no suffix/],
    ['barmount', /no suffix/],
    ['bar@foo', /no suffix/],
    ['foo.', /no suffix/],
    ['foo.service.', /no suffix/],
    ['foo@foo.service.', /no suffix/],
    ['foo.bar', /unknown suffix "\.bar"/],
    ['hello.cerveza', /unknown suffix/],
    ['foo.servICE', /unknown suffix "\.servICE"/],
    ['foo%.service', /contains "%"/],
    ['foo$asd.service', /contains "\$"/],
    ['hello##.mount', /contains "#"/],
    ['yes/no.service', /contains "\/"/],
    ['this+that.mount', /contains "\+"/],
    ['dog=woof@.mount', /"@"/],
    ['@foo.service', /starts with "@"/],
    ['@this.mount', /"@"/],
    ['foo@1.automount', /only .* may use/],
    ['foo@1.busname', /only/],
    ['foo@1.device', /only/],
    ['foo@1.mount', /only/],
    ['foo@1.scope', /only/],
    ['foo@1.slice', /only/],
    ['foo@1.snapshot', /only/],
    ['foo@1.swap', /only/],
    ['foo@{1,3}.service', /contains "\{"/],
    ['café.service', /contains "é"/],
  ];
  for (const [name, message] of invalid) {
    it(`rejects ${name === '' ? 'the empty name' : name.length > 40 ? `a ${name.length}-byte name` : name}`, () => {
      const problem = validateUnitName(name);
      assert.notEqual(problem, undefined);
      assert.match(problem as string, message);
    });
  }
});

describe('normalizeUnitName', () => {
  const cases: Array<[argument: string, name: string]> = [
    ['foo', 'foo.service'],
    ['foo.service', 'foo.service'],
    ['foo.1', 'foo.1.service'],
    ['foo/bar.socket', 'bar.socket'],
    ['/etc/units/web@.service', 'web@.service'],
    ['units/web@1', 'web@1.service'],
    ['foo.link', 'foo.link.service'],
    ['x.target', 'x.target.service'],
    ['x.swap', 'x.swap.service'],
    ['a.timer', 'a.timer'],
    ['a.path', 'a.path'],
    ['a.device', 'a.device'],
    ['a.mount', 'a.mount'],
    ['a.automount', 'a.automount'],
    ['dir/', 'dir.service'],
  ];
  for (const [argument, name] of cases) {
    it(`maps ${argument} to ${name}`, () => {
      assert.equal(normalizeUnitName(argument), name);
    });
  }
});
