import assert from 'node:assert/strict';
import { existsSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { detectCgroupLayout } from './cgroup-layout';
import { InvalidSpecError, NativeError } from './errors';
import { Runtime } from './runtime';
import { OciSpec } from './oci-types';
import { makeBusyboxBundle, TestBundle } from './testing/busybox-bundle';
import { leftoverTestCgroups, testCgroupsPath, TestRuntime } from './testing/container-run';

describe('runtime hardening', function () {
  this.timeout(60000);
  const rt = new TestRuntime();
  const bundles: TestBundle[] = [];
  const bundle = (options: Parameters<typeof makeBusyboxBundle>[0]) => {
    const b = makeBusyboxBundle(options);
    bundles.push(b);
    return b;
  };
  const editSpec = (b: TestBundle, edit: (spec: OciSpec) => void) => {
    const spec = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as OciSpec;
    edit(spec);
    b.writeConfig(spec);
  };

  after(async () => {
    await rt.dispose();
    for (const b of bundles) b.remove();
    assert.deepEqual(leftoverTestCgroups(), [], 'cgroups left behind');
  });

  it('rejects a rootfs whose /proc is a symlink', async () => {
    const id = rt.nextId('procsym');
    const b = bundle({ args: ['true'], cgroupsPath: testCgroupsPath(id) });
    rmSync(join(b.rootfs, 'proc'), { recursive: true });
    symlinkSync('/tmp', join(b.rootfs, 'proc'));
    await assert.rejects(rt.runtime.create(id, b.dir), (error: NativeError) => error.code === 'ELOOP' && /\/proc/.test(error.message));
    assert.deepEqual(await rt.runtime.list(), []);
  });

  it('rejects a rootfs whose /dev/null is a symlink', async () => {
    const id = rt.nextId('nullsym');
    const b = bundle({ args: ['true'], cgroupsPath: testCgroupsPath(id) });
    editSpec(b, (spec) => {
      spec.mounts = spec.mounts?.filter((m) => !m.destination.startsWith('/dev'));
    });
    symlinkSync('/etc/passwd', join(b.rootfs, 'dev', 'null'));
    await assert.rejects(rt.runtime.create(id, b.dir), (error: NativeError) => error.code === 'ELOOP' && /\/dev\/null/.test(error.message));
  });

  it('keeps a mount behind a symlink inside the root', async () => {
    const id = rt.nextId('escape');
    const name = `berth-escape-${id}`;
    const b = bundle({ args: ['sh', '-c', `grep -c " /tmp/${name} " /proc/self/mountinfo`], cgroupsPath: testCgroupsPath(id) });
    // From the host this leads to the host's /tmp; inside the root ".." stops at / and it is the rootfs /tmp.
    symlinkSync('../../../../../../../../tmp', join(b.rootfs, 'volume'));
    editSpec(b, (spec) => spec.mounts?.push({ destination: `/volume/${name}`, type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] }));
    try {
      const { state, stdout } = await rt.runToExit(b, id);
      assert.equal(state.exitCode, 0);
      assert.equal(stdout.trim(), '1');
      assert.equal(existsSync(join('/tmp', name)), false, 'the mount target was created on the host');
      assert.equal(existsSync(join(b.rootfs, 'tmp', name)), true);
    } finally {
      rmSync(join('/tmp', name), { recursive: true, force: true });
    }
  });

  it('reaches no host directory through /proc/self/fd as working directory', async () => {
    // A descriptor of a host directory still open at chdir time would put the program outside
    // its root (runc CVE-2024-21626). Every low fd is tried; none may lead outside.
    for (let fd = 3; fd <= 8; fd++) {
      const id = rt.nextId('cwd');
      const b = bundle({ args: ['pwd'], cwd: `/proc/self/fd/${fd}`, cgroupsPath: testCgroupsPath(id) });
      try {
        const { stdout } = await rt.runToExit(b, id);
        assert.match(stdout, /^\//, `cwd through fd ${fd} gave ${stdout}`);
        assert.doesNotMatch(stdout, /unreachable/);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.match((error as Error).message, /chdir|outside the container root/);
      }
    }
  });

  it('rejects a sysctl that is not namespaced', async () => {
    const id = rt.nextId('sysctl');
    const b = bundle({ args: ['true'], cgroupsPath: testCgroupsPath(id) });
    editSpec(b, (spec) => (spec.linux!.sysctl = { 'kernel.core_pattern': '|/evil' }));
    await assert.rejects(rt.runtime.create(id, b.dir), InvalidSpecError);
  });

  it('writes a sysctl value without splitting it', async () => {
    const id = rt.nextId('sysval');
    const before = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const b = bundle({ args: ['true'], cgroupsPath: testCgroupsPath(id) });
    editSpec(b, (spec) => (spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1+kernel.core_pattern=|/evil' }));
    await assert.rejects(rt.runtime.create(id, b.dir), (error: NativeError) => error.code === 'EINVAL');
    assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
  });

  it('applies a namespaced sysctl inside the container', async () => {
    const id = rt.nextId('sysok');
    const b = bundle({ args: ['cat', '/proc/sys/net/ipv4/ip_forward'], cgroupsPath: testCgroupsPath(id) });
    editSpec(b, (spec) => (spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }));
    const { stdout } = await rt.runToExit(b, id);
    assert.equal(stdout.trim(), '1');
  });

  it('runs the monitor from a sealed memfd that cannot be reopened for writing', async () => {
    const id = rt.nextId('exe');
    const b = bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(id) });
    await rt.runtime.run(id, b.dir);
    const proc = JSON.parse(readFileSync(join(rt.runDir, id, 'process.json'), 'utf8')) as { monitorPid: number };
    try {
      assert.match(readlinkSync(`/proc/${proc.monitorPid}/exe`), /^\/memfd:berth-runtime-helper/);
      assert.throws(() => openSync(`/proc/${proc.monitorPid}/exe`, 'r+'), /ETXTBSY|EPERM|EACCES/);
    } finally {
      await rt.runtime.delete(id, { force: true });
    }
  });

  it('enforces a seccomp program read from the cache', async () => {
    const script = 'unshare -U true 2>&1; grep Seccomp: /proc/self/status';
    for (let round = 0; round < 2; round++) {
      const id = rt.nextId('cache');
      const { stdout } = await rt.runToExit(bundle({ args: ['sh', '-c', script], cgroupsPath: testCgroupsPath(id) }), id);
      assert.match(stdout, /Operation not permitted/, `round ${round}`);
      assert.match(stdout, /Seccomp:\s+2/, `round ${round}`);
    }
    const cached = readdirSync(join(rt.runDir, '.seccomp-cache'));
    assert.equal(cached.length, 1, cached.join(' '));
    assert.match(cached[0], /^[0-9a-f]{64}\.bpf$/);
  });

  it('enforces device rules with an eBPF program on cgroup v2', async () => {
    // This host has v1 controllers plus a cgroup2 mount, which accepts device programs. Driving
    // only that mount exercises the v2 path; v1's devices controller is then not involved.
    const layout = detectCgroupLayout();
    assert.ok(layout.unifiedMount, 'this host has no cgroup2 mount to test the v2 device program on');
    const v2 = new Runtime({ runDir: join(rt.runDir, 'v2'), cgroupLayout: { mode: 'v2', v1: [], unifiedMount: layout.unifiedMount } });
    const id = rt.nextId('bpf');
    const script = 'mknod /tmp/mem c 1 1; head -c 1 /tmp/mem; echo "null=$(head -c 1 /dev/null | wc -c)"; grep -c berth /proc/self/cgroup';
    const b = bundle({ args: ['sh', '-c', script], cgroupsPath: testCgroupsPath(id) });
    const out = join(b.dir, 'bpf.out');
    const err = join(b.dir, 'bpf.err');
    await v2.run(id, b.dir, { stdoutPath: out, stderrPath: err });
    const final = await v2.waitExit(id);
    await v2.delete(id);
    assert.equal(final.exitCode, 0, readFileSync(err, 'utf8'));
    assert.match(readFileSync(err, 'utf8'), /head: \/tmp\/mem: Operation not permitted/);
    assert.match(readFileSync(out, 'utf8'), /^null=0$/m);
    assert.match(readFileSync(out, 'utf8'), /^1$/m, 'the container joined its cgroup on the cgroup2 mount');
    assert.equal(existsSync(join(layout.unifiedMount, testCgroupsPath(id))), false, 'v2 cgroup left behind');
  });
});
