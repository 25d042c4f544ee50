import assert from 'node:assert/strict';

import { parseCgroupLayout } from './cgroup-layout';
import { defaultSpec } from './default-spec';
import { InvalidSpecError } from './errors';
import { planMount } from './mount-options';
import { OciSpec } from './oci-types';
import { checkSysctl, encodeSpec } from './spec-encode';

const LAYOUT = parseCgroupLayout('32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n35 30 0:31 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices');

function encode(edit: (spec: OciSpec) => void = () => undefined) {
  const spec = defaultSpec({ args: ['true'] });
  edit(spec);
  return encodeSpec({ id: 'c1', stateDir: '/run/x/c1', bundle: '/bundle', spec, layout: LAYOUT });
}

describe('sysctl allowlist', () => {
  const own = new Map([['ipc', ''], ['uts', ''], ['network', '']]);
  const shared = new Map([['ipc', '/proc/1/ns/ipc']]);
  const cases: { key: string; namespaces: Map<string, string>; allowed: boolean }[] = [
    { key: 'net.ipv4.ip_forward', namespaces: own, allowed: true },
    { key: 'net.ipv4.conf.eth0.rp_filter', namespaces: own, allowed: true },
    { key: 'kernel.shmmax', namespaces: own, allowed: true },
    { key: 'fs.mqueue.msg_max', namespaces: own, allowed: true },
    { key: 'kernel.shmmax', namespaces: shared, allowed: false },
    { key: 'net.ipv4.ip_forward', namespaces: shared, allowed: false },
    { key: 'kernel.core_pattern', namespaces: own, allowed: false },
    { key: 'vm.overcommit_memory', namespaces: own, allowed: false },
    { key: 'net/../kernel.core_pattern', namespaces: own, allowed: false },
    { key: 'net.ipv4.ip_forward=1+kernel.core_pattern', namespaces: own, allowed: false },
  ];
  for (const c of cases) {
    it(`${c.allowed ? 'accepts' : 'rejects'} ${c.key}${c.namespaces === shared ? ' with shared namespaces' : ''}`, () => {
      assert.equal(checkSysctl(c.key, c.namespaces) === undefined, c.allowed);
    });
  }
});

describe('mount option planning', () => {
  const cases: { name: string; type: string; options: string[]; expected: Partial<ReturnType<typeof planMount>> }[] = [
    { name: 'read-only rbind', type: 'none', options: ['rbind', 'ro', 'nosuid'], expected: { kind: 'rbind', attr: 0x3, data: '' } },
    { name: 'tmpfs data options', type: 'tmpfs', options: ['nosuid', 'mode=755', 'size=1m'], expected: { kind: 'fs', attr: 0x2, data: 'mode=755,size=1m' } },
    { name: 'strictatime', type: 'tmpfs', options: ['strictatime'], expected: { attr: 0x20, setAtime: true } },
    { name: 'rslave propagation', type: 'bind', options: ['rslave'], expected: { kind: 'bind', propagation: 1 << 19, propagationRecursive: true } },
  ];
  for (const c of cases) {
    it(`plans ${c.name}`, () => {
      const plan = planMount(c.type, c.options);
      for (const [key, value] of Object.entries(c.expected)) assert.equal(plan[key as keyof typeof plan], value, key);
    });
  }
  it('rejects an unsupported flag', () => {
    assert.throws(() => planMount('tmpfs', ['sync']), /"sync" is not supported/);
  });
  it('rejects data options on a bind', () => {
    assert.throws(() => planMount('bind', ['rbind', 'mode=755']), /bind mounts take no filesystem options/);
  });
});

describe('spec encoding', () => {
  const rejects: { name: string; edit: (spec: OciSpec) => void; field: RegExp }[] = [
    { name: 'hooks', edit: (s) => Object.assign(s, { hooks: { prestart: [{ path: '/bin/true' }] } }), field: /hooks: is not supported/ },
    { name: 'an AppArmor profile', edit: (s) => Object.assign(s.process!, { apparmorProfile: 'docker-default' }), field: /apparmorProfile/ },
    { name: 'terminal mode', edit: (s) => (s.process!.terminal = true), field: /process.terminal/ },
    { name: 'empty args', edit: (s) => (s.process!.args = []), field: /process.args/ },
    { name: 'a relative cwd', edit: (s) => (s.process!.cwd = 'tmp'), field: /process.cwd/ },
    { name: 'an unknown capability', edit: (s) => (s.process!.capabilities!.bounding = ['CAP_FLY']), field: /capabilities.bounding/ },
    { name: 'a missing mount namespace', edit: (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount')), field: /mount namespace is required/ },
    { name: 'a hostname without uts namespace', edit: (s) => { s.hostname = 'x'; s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts'); }, field: /hostname/ },
    { name: 'a namespace listed twice', edit: (s) => s.linux!.namespaces!.push({ type: 'pid', path: '/proc/1/ns/pid' }), field: /listed twice/ },
    { name: 'mappings for a joined user namespace', edit: (s) => { s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' }); s.linux!.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]; }, field: /a joined one keeps its own/ },
    { name: 'a new user namespace with a joined one', edit: (s) => { s.linux!.namespaces!.push({ type: 'user' }); s.linux!.namespaces!.push({ type: 'cgroup', path: '/proc/1/ns/cgroup' }); }, field: /together with a new user namespace/ },
    { name: 'a user namespace without mappings', edit: (s) => s.linux!.namespaces!.push({ type: 'user' }), field: /uidMappings/ },
    { name: 'an unknown seccomp action', edit: (s) => (s.linux!.seccomp!.defaultAction = 'SCMP_ACT_MAYBE'), field: /seccomp/ },
    { name: 'a device outside /dev', edit: (s) => (s.linux!.devices = [{ path: '/etc/x', type: 'c', major: 1, minor: 3 }]), field: /linux.devices/ },
    { name: 'an unknown rlimit', edit: (s) => (s.process!.rlimits = [{ type: 'RLIMIT_FUN', soft: 1, hard: 1 }]), field: /rlimits/ },
  ];
  for (const r of rejects) {
    it(`rejects ${r.name}`, () => {
      assert.throws(() => encode(r.edit), (error: Error) => error instanceof InvalidSpecError && r.field.test(error.message));
    });
  }

  it('accepts an empty hooks object', () => {
    assert.doesNotThrow(() => encode((s) => Object.assign(s, { hooks: { prestart: [] } })));
  });

  it('encodes records as netstrings', () => {
    const text = encode().blob.toString('utf8');
    assert.ok(text.startsWith('2:id,2:c1,'));
    assert.ok(text.includes('3:arg,4:true,'));
  });

  it('keeps values with separators intact', () => {
    const text = encode((s) => (s.process!.env = ['A=1,2:3'])).blob.toString('utf8');
    assert.ok(text.includes('3:env,7:A=1,2:3,'));
  });

  it('adds the default devices', () => {
    const text = encode().blob.toString('utf8');
    for (const dev of ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']) assert.ok(text.includes(dev), dev);
  });

  it('encodes a profile seen before the same way as the first time', () => {
    const withCache = (edit: (spec: OciSpec) => void = () => undefined) =>
      encodeSpec({ id: 'c1', stateDir: '/run/x/c1', bundle: '/bundle', spec: spec(edit), layout: LAYOUT, seccompCacheDir: '/run/x/.seccomp' }).blob.toString('utf8');
    const spec = (edit: (spec: OciSpec) => void) => {
      const s = defaultSpec({ args: ['true'] });
      edit(s);
      return s;
    };
    const first = withCache();
    assert.equal(withCache(), first);
    // A changed rule must change the records and the cache key, not reuse the earlier encoding.
    const changed = withCache((s) => s.linux!.seccomp!.syscalls!.push({ names: ['reboot'], action: 'SCMP_ACT_KILL' }));
    assert.notEqual(changed, first);
    const key = (text: string) => /seccompCache,\d+:([^,]+),/.exec(text)?.[1];
    assert.match(key(first) ?? '', /^\/run\/x\/\.seccomp\/[0-9a-f]{64}\.bpf$/);
    assert.notEqual(key(changed), key(first));
    assert.ok(changed.includes('6:reboot,'));
    // Invalid profiles are still rejected after a valid one was remembered.
    assert.throws(() => withCache((s) => (s.linux!.seccomp!.defaultAction = 'SCMP_ACT_NOPE')), InvalidSpecError);
  });
});
