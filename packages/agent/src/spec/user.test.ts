import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRootfsFile, resolveInRoot } from './rootfs-file';
import { resolveUser } from './user';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000:web:/home/web:/bin/sh\nbroken line\nnobody:x:65534:65534::/:/bin/false\n';
const GROUP = 'root:x:0:\nweb:x:1000:\nstaff:x:50:web,other\naudio:x:29:web\n';

describe('resolveUser', () => {
  const cases: Array<{ name: string; user?: string; expected: { uid: number; gid: number; additionalGids: number[]; home: string } }> = [
    { name: 'empty means root', user: undefined, expected: { uid: 0, gid: 0, additionalGids: [], home: '/root' } },
    { name: 'name', user: 'web', expected: { uid: 1000, gid: 1000, additionalGids: [50, 29], home: '/home/web' } },
    { name: 'uid with entry', user: '1000', expected: { uid: 1000, gid: 1000, additionalGids: [50, 29], home: '/home/web' } },
    { name: 'uid without entry', user: '4242', expected: { uid: 4242, gid: 0, additionalGids: [], home: '/' } },
    { name: 'name and group name', user: 'web:staff', expected: { uid: 1000, gid: 50, additionalGids: [29], home: '/home/web' } },
    { name: 'uid and gid', user: '5:6', expected: { uid: 5, gid: 6, additionalGids: [], home: '/' } },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      assert.deepEqual(resolveUser('web.service', testCase.user, { passwd: PASSWD, group: GROUP }), testCase.expected);
    });
  }

  const failures: Array<{ name: string; user: string; message: RegExp }> = [
    { name: 'unknown user name', user: 'ghost', message: /User=ghost: no such user/ },
    { name: 'unknown group name', user: 'web:ghosts', message: /group "ghosts"/ },
    { name: 'too many colons', user: 'a:b:c', message: /invalid/ },
    { name: 'empty group', user: 'web:', message: /invalid/ },
  ];
  for (const testCase of failures) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(() => resolveUser('web.service', testCase.user, { passwd: PASSWD, group: GROUP }), testCase.message);
    });
  }

  it('works without account files for numeric users', () => {
    assert.deepEqual(resolveUser('u', '7', {}), { uid: 7, gid: 0, additionalGids: [], home: '/' });
  });
});

describe('readRootfsFile', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-agent-rootfs-'));
    outside = mkdtempSync(join(tmpdir(), 'berth-agent-outside-'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(outside, 'secret'), 'host secret');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads a plain file', () => {
    writeFileSync(join(root, 'etc', 'passwd'), PASSWD);
    assert.equal(readRootfsFile(root, '/etc/passwd'), PASSWD);
  });

  it('keeps absolute symlinks inside the root', () => {
    writeFileSync(join(root, 'etc', 'real'), 'inside');
    symlinkSync(join(outside, 'secret'), join(root, 'etc', 'passwd'));
    assert.equal(readRootfsFile(root, '/etc/passwd'), undefined);
    symlinkSync('/etc/real', join(root, 'etc', 'group'));
    assert.equal(readRootfsFile(root, '/etc/group'), 'inside');
  });

  it('does not climb above the root with ..', () => {
    const depth = root.split('/').length + 2;
    symlinkSync(`${'../'.repeat(depth)}${outside.slice(1)}/secret`, join(root, 'etc', 'passwd'));
    assert.equal(readRootfsFile(root, '/etc/passwd'), undefined);
    mkdirSync(join(root, outside), { recursive: true });
    writeFileSync(join(root, outside, 'secret'), 'copy inside the root');
    assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, outside, 'secret'));
    assert.equal(readRootfsFile(root, '/etc/passwd'), 'copy inside the root');
  });

  it('returns undefined for a missing file and fails on a loop', () => {
    assert.equal(readRootfsFile(root, '/etc/shadow'), undefined);
    symlinkSync('/etc/b', join(root, 'etc', 'a'));
    symlinkSync('/etc/a', join(root, 'etc', 'b'));
    assert.throws(() => readRootfsFile(root, '/etc/a'), /too many symbolic links/);
  });
});
