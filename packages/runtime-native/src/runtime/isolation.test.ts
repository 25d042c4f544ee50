import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';

import { DEFAULT_CAPABILITIES } from './default-spec';
import { CAPABILITIES } from './kernel-constants';
import { makeBusyboxBundle, TestBundle } from './testing/busybox-bundle';
import { leftoverTestCgroups, noSwapLimit, parseProbe, RunResult, testCgroupsPath, TestRuntime } from './testing/container-run';

const PROBE = `
echo "pid=$$"
echo "procs=$(ls /proc | grep -c '^[0-9]')"
echo "hostpid=$(test -e /proc/HOSTPID && echo visible || echo invisible)"
echo "hostname=$(hostname)"
echo "mounts=$(cut -d' ' -f5 /proc/self/mountinfo | tr '\\n' ' ')"
echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"
echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "sigign=$(grep SigIgn /proc/self/status | cut -f2)"
for f in kcore keys timer_list; do echo "mask_$f=$(test -e /proc/$f && cat /proc/$f | wc -c || echo absent)"; done
echo "sysrq=$(test -e /proc/sysrq-trigger && (echo h 2>&1 > /proc/sysrq-trigger || echo denied) || echo absent)"
echo "procsys=$(echo probe 2>&1 > /proc/sys/kernel/domainname || echo denied)"
echo "sys=$(mkdir /sys/fs/berth-probe 2>&1 || echo denied)"
echo "seccomp=$(unshare -U true 2>&1 || echo denied)"
echo "fds=$(ls /proc/self/fd | tr '\\n' ' ')"
echo "cwd=$(pwd)"
`;

async function waitForFile(path: string, pattern: RegExp): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (existsSync(path) && pattern.test(readFileSync(path, 'utf8'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} never matched ${pattern}: ${existsSync(path) ? readFileSync(path, 'utf8') : 'missing'}`);
}

function expectedCapMask(names: string[]): string {
  const mask = names.reduce((m, name) => m | (1n << BigInt(CAPABILITIES[name])), 0n);
  return mask.toString(16).padStart(16, '0');
}

describe('runtime isolation on a busybox container', function () {
  this.timeout(60000);
  const rt = new TestRuntime();
  const bundles: TestBundle[] = [];
  const bundle = (options: Parameters<typeof makeBusyboxBundle>[0]) => {
    const b = makeBusyboxBundle(options);
    bundles.push(b);
    return b;
  };

  after(async () => {
    await rt.dispose();
    for (const b of bundles) b.remove();
    assert.deepEqual(leftoverTestCgroups(), [], 'cgroups left behind');
  });

  describe('default container', () => {
    let result: RunResult;
    let facts: Map<string, string>;
    before(async () => {
      const id = rt.nextId('probe');
      const b = bundle({ args: ['sh', '-c', PROBE.replace('HOSTPID', String(process.pid))], hostname: 'probe-box', cgroupsPath: testCgroupsPath(id) });
      result = await rt.runToExit(b, id);
      facts = parseProbe(result.stdout);
    });

    it('exits with code 0', () => {
      assert.equal(result.state.exitCode, 0, result.stderr);
    });
    it('runs the program as PID 1', () => {
      assert.equal(facts.get('pid'), '1');
    });
    it('hides host processes', () => {
      assert.equal(facts.get('hostpid'), 'invisible');
      // sh, the command substitution's subshell, ls and grep, plus slack for a subshell that
      // has not been reaped yet; a host pid namespace would show hundreds.
      assert.ok(Number(facts.get('procs')) <= 6, `saw ${facts.get('procs')} processes`);
    });
    it('has its own hostname', () => {
      assert.equal(facts.get('hostname'), 'probe-box');
    });
    it('has its own mount table', () => {
      const mounts = (facts.get('mounts') ?? '').trim().split(' ');
      assert.equal(mounts[0], '/');
      assert.ok(!mounts.some((m) => m.startsWith('/work') || m.startsWith('/tmp/berth-bundle')), mounts.join(' '));
      for (const target of ['/proc', '/dev', '/sys']) assert.ok(mounts.includes(target), `${target} is mounted: ${mounts.join(' ')}`);
    });
    it('masks /proc/kcore and the other masked files', () => {
      // Kernels built without CONFIG_PROC_KCORE have no /proc/kcore; the same mask is then
      // checked on the masked files this kernel does have.
      const checked = ['kcore', 'keys', 'timer_list'].filter((f) => existsSync(`/proc/${f}`));
      assert.ok(checked.length > 0, 'none of /proc/kcore, /proc/keys, /proc/timer_list exists on this host');
      for (const f of checked) assert.equal(facts.get(`mask_${f}`), '0', `/proc/${f} readable`);
      if (!existsSync('/proc/kcore')) assert.equal(facts.get('mask_kcore'), 'absent');
    });
    it('makes /proc/sysrq-trigger and /proc/sys read-only', () => {
      // Without CONFIG_MAGIC_SYSRQ the file does not exist; /proc/sys gets the same treatment.
      if (existsSync('/proc/sysrq-trigger')) assert.match(facts.get('sysrq') ?? '', /Read-only file system/);
      else assert.equal(facts.get('sysrq'), 'absent');
      assert.match(facts.get('procsys') ?? '', /Read-only file system/);
    });
    it('makes /sys read-only', () => {
      assert.match(facts.get('sys') ?? '', /Read-only file system/);
    });
    it('sets CapEff to the configured set', () => {
      assert.equal(facts.get('capeff'), expectedCapMask(DEFAULT_CAPABILITIES));
    });
    it('sets NoNewPrivs', () => {
      assert.equal(facts.get('nnp'), '1');
    });
    it('starts the program with no signal ignored', () => {
      assert.equal(facts.get('sigign'), '0000000000000000');
    });
    it('denies unshare through seccomp with EPERM', () => {
      assert.match(facts.get('seccomp') ?? '', /Operation not permitted/);
    });
    it('passes no host descriptor to the program', () => {
      // ls itself opens one descriptor for the directory it lists.
      assert.deepEqual((facts.get('fds') ?? '').trim().split(' '), ['0', '1', '2', '3']);
    });
  });

  it('refuses writes on a read-only root', async () => {
    const id = rt.nextId('rofs');
    const b = bundle({ args: ['sh', '-c', 'touch /probe-file'], rootReadonly: true, cgroupsPath: testCgroupsPath(id) });
    const { state, stderr } = await rt.runToExit(b, id);
    assert.notEqual(state.exitCode, 0);
    assert.match(stderr, /Read-only file system/);
  });

  it('reports an OOM kill under a memory limit', async () => {
    const id = rt.nextId('oom');
    const limit = 32 * 1024 * 1024;
    const b = bundle({ args: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=256M', 'count=1'], memoryLimitBytes: limit, memorySwapBytes: noSwapLimit(limit), cgroupsPath: testCgroupsPath(id) });
    const { state } = await rt.runToExit(b, id);
    assert.equal(state.exitSignal, 9);
    assert.equal(state.oomKilled, true);
  });

  it('stops a fork bomb with a pids limit', async () => {
    const id = rt.nextId('pids');
    const script = 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo done';
    const b = bundle({ args: ['sh', '-c', script], pidsLimit: 8, cgroupsPath: testCgroupsPath(id) });
    const { stderr } = await rt.runToExit(b, id);
    assert.match(stderr, /can't fork/);
  });

  it('denies opening a device outside the allow list', async () => {
    const id = rt.nextId('dev');
    const b = bundle({ args: ['sh', '-c', 'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem'], cgroupsPath: testCgroupsPath(id) });
    const { state, stderr } = await rt.runToExit(b, id);
    assert.notEqual(state.exitCode, 0);
    assert.match(stderr, /Operation not permitted/);
  });

  it('maps user-namespaced root to an unprivileged host uid', async () => {
    const id = rt.nextId('userns');
    const b = bundle({ args: ['sh', '-c', 'cat /proc/self/uid_map; id -u; sleep 30'], cgroupsPath: testCgroupsPath(id) });
    const spec = JSON.parse(readFileSync(`${b.dir}/config.json`, 'utf8'));
    spec.linux.namespaces.push({ type: 'user' });
    spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    b.writeConfig(spec);
    // The mapped root (host uid 100000) must be able to traverse the bundle directory.
    chmodSync(b.dir, 0o755);

    const outPath = `${b.dir}/userns.out`;
    const state = await rt.runtime.run(id, b.dir, { stdoutPath: outPath, stderrPath: `${b.dir}/userns.err` });
    const status = readFileSync(`/proc/${state.pid}/status`, 'utf8');
    await waitForFile(outPath, /^0$/m);
    await rt.runtime.kill(id, 'SIGKILL');
    await rt.runtime.waitExit(id);
    await rt.runtime.delete(id);
    assert.match(status, /^Uid:\s+100000\s+100000\s+100000\s+100000$/m);
    const out = readFileSync(outPath, 'utf8');
    assert.match(out, /^\s*0\s+100000\s+65536$/m);
    assert.match(out, /^0$/m, 'id -u inside the container');
  });
});
