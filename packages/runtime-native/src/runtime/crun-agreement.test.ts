import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DefaultSpecOptions } from './default-spec';
import { OciSpec } from './oci-types';
import { makeBusyboxBundle, TestBundle } from './testing/busybox-bundle';
import { leftoverTestCgroups, noSwapLimit, parseProbe, testCgroupsPath, TestRuntime } from './testing/container-run';

/** One bundle run under both runtimes; `script` prints key=value facts that must agree. */
interface AgreementCase {
  name: string;
  script: string;
  options?: Partial<DefaultSpecOptions>;
  edit?: (spec: OciSpec, bundleDir: string) => void;
}

const OOM_LIMIT_BYTES = 32 * 1024 * 1024;

const CASES: AgreementCase[] = [
  {
    name: 'default isolation',
    options: { hostname: 'agree' },
    script: `
      echo "pid=$$"
      echo "hostname=$(hostname)"
      echo "few_procs=$([ "$(ls /proc | grep -c '^[0-9]')" -le 6 ] && echo yes || echo no)"
      echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"
      echo "capbnd=$(grep CapBnd /proc/self/status | cut -f2)"
      echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"
      echo "seccomp=$(unshare -U true 2>&1 | grep -o 'Operation not permitted')"
      echo "keys=$(cat /proc/keys | wc -c)"
      echo "procsys=$(echo x 2>&1 > /proc/sys/kernel/domainname | grep -o 'Read-only file system')"
      echo "sys=$(mkdir /sys/fs/probe 2>&1 | grep -o 'Read-only file system')"
      echo "fds=$(ls /proc/self/fd | tr '\\n' ' ')"
      echo "devnull=$(stat -c %t:%T /dev/null)"
      echo "nofile=$(ulimit -n)"
    `,
  },
  { name: 'read-only root', options: { rootReadonly: true }, script: 'echo "touch=$(touch /x 2>&1 | grep -o "Read-only file system")"' },
  {
    name: 'pids limit',
    options: { pidsLimit: 8 },
    // ash exits on a failed fork, so the loop runs in a subshell and the sleeps are killed
    // before the next command needs a process of its own.
    script: '(i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done) 2>/tmp/err; kill -9 -1; wait; echo "fork=$(grep -c "can.t fork" /tmp/err)"',
  },
  { name: 'device cgroup', script: 'mknod /tmp/mem c 1 1; echo "open=$(head -c 1 /tmp/mem 2>&1 | grep -o "Operation not permitted")"' },
  { name: 'memory limit OOM kill', options: { memoryLimitBytes: OOM_LIMIT_BYTES, memorySwapBytes: noSwapLimit(OOM_LIMIT_BYTES) }, script: 'exec dd if=/dev/zero of=/dev/null bs=256M count=1' },
  {
    name: 'user, groups, umask, capabilities and oom score',
    options: { uid: 1000, gid: 1000, additionalGids: [10, 20], capabilities: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'] },
    edit: (spec) => {
      spec.process!.user!.umask = 0o027;
      spec.process!.oomScoreAdj = 500;
      spec.process!.capabilities!.ambient = ['CAP_NET_BIND_SERVICE'];
      spec.process!.capabilities!.inheritable = ['CAP_NET_BIND_SERVICE'];
      spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }];
    },
    script: `
      echo "id=$(id)"
      echo "umask=$(umask)"
      echo "oom=$(cat /proc/self/oom_score_adj)"
      for set in CapInh CapPrm CapEff CapBnd CapAmb; do echo "$set=$(grep $set /proc/self/status | cut -f2)"; done
      echo "nofile=$(ulimit -Sn)/$(ulimit -Hn)"
      echo "core=$(ulimit -c)"
    `,
  },
  {
    name: 'bind and tmpfs mount options',
    edit: (spec, bundleDir) => {
      const volume = join(bundleDir, 'volume');
      mkdirSync(volume);
      writeFileSync(join(volume, 'file'), 'from-host\n');
      spec.mounts!.push(
        { destination: '/data/ro', type: 'bind', source: volume, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
        { destination: '/data/rw', type: 'bind', source: volume, options: ['bind', 'rw', 'nosuid', 'rprivate'] },
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noatime', 'mode=1750', 'size=1m'] },
      );
    },
    script: `
      for m in /data/ro /data/rw /scratch; do echo "opts$m=$(grep " $m " /proc/self/mountinfo | cut -d' ' -f6)"; done
      echo "read=$(cat /data/ro/file)"
      echo "write_ro=$(touch /data/ro/x 2>&1 | grep -o 'Read-only file system')"
      echo "scratch_mode=$(stat -c %a /scratch)"
      echo "scratch_size=$(df -k /scratch | tail -1 | tr -s ' ' | cut -d' ' -f2)"
    `,
  },
  {
    name: 'user namespace',
    edit: (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    },
    script: 'echo "uidmap=$(cat /proc/self/uid_map | tr -s " ")"; echo "uid=$(id -u)"',
  },
];

interface Outcome {
  exitCode: number;
  facts: Map<string, string>;
}

/**
 * Runs crun 1.8 on the bundle. crun 1.8 refuses hybrid cgroup hosts, so it runs in a private mount
 * namespace where the cgroup2 mount at /sys/fs/cgroup/unified is detached; the host keeps it.
 */
function runUnderCrun(bundle: TestBundle, id: string, stateRoot: string): Promise<Outcome> {
  const script = `umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root "$0" run --bundle "$1" "$2"`;
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, stateRoot, bundle.dir, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => reject(new Error(`cannot run crun through unshare: ${error.message}`)));
    child.once('close', (code) => {
      if (/^crun: /m.test(stderr) && code !== 137) reject(new Error(`crun failed on ${bundle.dir}: ${stderr.trim()}`));
      else resolve({ exitCode: code ?? -1, facts: parseProbe(stdout) });
    });
  });
}

describe('agreement with crun on the same bundles', function () {
  this.timeout(60000);
  const rt = new TestRuntime();
  const crunRoot = mkdtempSync(join(tmpdir(), 'berth-crun-'));
  const bundles: TestBundle[] = [];

  after(async () => {
    await rt.dispose();
    for (const b of bundles) b.remove();
    rmSync(crunRoot, { recursive: true, force: true });
    assert.deepEqual(leftoverTestCgroups(), [], 'cgroups left behind');
  });

  for (const c of CASES) {
    it(`agrees on ${c.name}`, async () => {
      const id = rt.nextId('agree');
      const b = makeBusyboxBundle({ args: ['sh', '-c', c.script], cgroupsPath: testCgroupsPath(id), ...c.options });
      bundles.push(b);
      chmodSync(b.dir, 0o755);
      if (c.edit) {
        const spec = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as OciSpec;
        c.edit(spec, b.dir);
        b.writeConfig(spec);
      }

      const berth = await rt.runToExit(b, id);
      const crun = await runUnderCrun(b, id, crunRoot);

      assert.equal(berth.state.exitCode, crun.exitCode, `exit code; berth stderr: ${berth.stderr}`);
      assert.deepEqual(parseProbe(berth.stdout), crun.facts);
      // Agreement on nothing would prove nothing: every case prints facts or dies by SIGKILL.
      assert.ok(crun.facts.size > 0 || crun.exitCode === 137, `no facts from crun for ${c.name}`);
      for (const [key, value] of crun.facts) assert.notEqual(value, '', `fact ${key} is empty`);
    });
  }
});
