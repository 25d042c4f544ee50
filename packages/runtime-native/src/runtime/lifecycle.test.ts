import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { ContainerExistsError, ContainerStateError, InvalidArgumentError, InvalidSpecError } from './errors';
import { nativeRuntime } from './native';
import { Runtime } from './runtime';
import { makeBusyboxBundle, TestBundle } from './testing/busybox-bundle';
import { leftoverTestCgroups, testCgroupsPath, TestRuntime } from './testing/container-run';

describe('runtime lifecycle', function () {
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

  it('goes created, running, stopped', async () => {
    const id = rt.nextId('life');
    const b = bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(id) });
    const created = await rt.runtime.create(id, b.dir);
    assert.equal(created.status, 'created');
    assert.ok((created.pid ?? 0) > 0, 'a created container has a pid');
    await rt.runtime.start(id);
    assert.equal((await rt.runtime.state(id)).status, 'running');
    await assert.rejects(rt.runtime.start(id), ContainerStateError);
    await rt.runtime.kill(id, 'KILL');
    const stopped = await rt.runtime.waitExit(id);
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.exitSignal, 9);
    assert.equal(stopped.exitCode, 137);
    await rt.runtime.delete(id);
    await assert.rejects(rt.runtime.state(id), /not found/);
  });

  it('records the exit code', async () => {
    const id = rt.nextId('code');
    const { state } = await rt.runToExit(bundle({ args: ['sh', '-c', 'exit 42'], cgroupsPath: testCgroupsPath(id) }), id);
    assert.equal(state.exitCode, 42);
    assert.equal(state.exitSignal, 0);
    assert.equal(state.oomKilled, false);
  });

  it('deletes a created container without start', async () => {
    const id = rt.nextId('nostart');
    await rt.runtime.create(id, bundle({ args: ['true'], cgroupsPath: testCgroupsPath(id) }).dir);
    await rt.runtime.delete(id);
    assert.deepEqual((await rt.runtime.list()).map((s) => s.id).filter((x) => x === id), []);
  });

  it('refuses to delete a running container without force', async () => {
    const id = rt.nextId('busy');
    await rt.runtime.run(id, bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(id) }).dir);
    await assert.rejects(rt.runtime.delete(id), ContainerStateError);
    await rt.runtime.delete(id, { force: true });
  });

  it('rejects a duplicate id and leaves the first container intact', async () => {
    const id = rt.nextId('dup');
    const b = bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(id) });
    const first = await rt.runtime.create(id, b.dir);
    await assert.rejects(rt.runtime.create(id, b.dir), ContainerExistsError);
    const state = await rt.runtime.state(id);
    assert.equal(state.status, 'created');
    assert.equal(state.pid, first.pid);
    await rt.runtime.delete(id, { force: true });
  });

  it('keeps the encoded spec out of the state directory', async () => {
    const id = rt.nextId('nospec');
    const b = bundle({ args: ['sleep', '30'], env: ['PATH=/bin', 'TOKEN=not-on-disk'], cgroupsPath: testCgroupsPath(id) });
    await rt.runtime.create(id, b.dir);
    const dir = join(rt.runDir, id);
    assert.deepEqual(readdirSync(dir).sort(), ['exec.fifo', 'meta.json', 'process.json']);
    for (const name of ['meta.json', 'process.json']) assert.doesNotMatch(readFileSync(join(dir, name), 'utf8'), /not-on-disk/);
    await rt.runtime.delete(id, { force: true });
    assert.equal(existsSync(dir), false);
  });

  it('rejects option values of the wrong type', async () => {
    const b = bundle({ args: ['true'] });
    await assert.rejects(rt.runtime.create(rt.nextId('opt'), b.dir, { stdoutFd: -1 }), /stdoutFd: expected an integer from 0 to 2147483647, got number -1/);
    await assert.rejects(rt.runtime.create(rt.nextId('opt'), b.dir, { stdoutPath: 7 as unknown as string }), /stdoutPath: expected a non-empty string, got number 7/);
    await assert.rejects(rt.runtime.kill(rt.nextId('opt'), 'SIGNOPE'), /signal: expected a signal name/);
  });

  it('names the bundle when config.json is missing or not a file', async () => {
    const b = bundle({ args: ['true'] });
    rmSync(join(b.dir, 'config.json'));
    await assert.rejects(rt.runtime.create(rt.nextId('nocfg'), b.dir), (e: Error) => e instanceof InvalidSpecError && e.message.includes(join(b.dir, 'config.json')) && /no such file/.test(e.message));
    mkdirSync(join(b.dir, 'config.json'));
    await assert.rejects(rt.runtime.create(rt.nextId('dircfg'), b.dir), (e: Error) => e instanceof InvalidSpecError && /EISDIR|is a directory/i.test(e.message));
  });

  it('rejects ids that could escape the run directory', async () => {
    await assert.rejects(rt.runtime.create('../x', '/nonexistent'), /config.json|container id/);
    await assert.rejects(rt.runtime.state('../x'), InvalidArgumentError);
  });

  it('reports a missing program with ENOENT in stderr', async () => {
    const id = rt.nextId('noprog');
    const { state, stderr } = await rt.runToExit(bundle({ args: ['no-such-program'], cgroupsPath: testCgroupsPath(id) }), id);
    assert.equal(state.exitCode, 127);
    assert.match(stderr, /execve no-such-program: not found in PATH/);
  });

  it('reaps orphans with the minimal init', async () => {
    const id = rt.nextId('init');
    const b = bundle({ args: ['sh', '-c', '(sleep 0.2 &); sleep 1; ps -o pid,stat,comm'], cgroupsPath: testCgroupsPath(id) });
    const out = join(b.dir, 'init.out');
    await rt.runtime.run(id, b.dir, { stdoutPath: out, init: true });
    await rt.runtime.waitExit(id);
    await rt.runtime.delete(id);
    const ps = readFileSync(out, 'utf8');
    assert.match(ps, /^\s*1\s+\S+\s+berth-init$/m);
    assert.doesNotMatch(ps, /\sZ\s/);
  });

  it('keeps a container running after its creator is killed', async () => {
    const id = rt.nextId('orphan');
    const b = bundle({ args: ['sleep', '300'], cgroupsPath: testCgroupsPath(id) });
    const child = spawn(process.execPath, [join(__dirname, 'testing', 'create-and-hang.js'), rt.runDir, id, b.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.includes('ready') && resolve());
      child.once('exit', () => reject(new Error(`creator exited early: ${output}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const fresh = new Runtime({ runDir: rt.runDir });
    const listed = (await fresh.list()).find((s) => s.id === id);
    assert.equal(listed?.status, 'running');
    const [, initPid, serverPid] = output.match(/ready (\d+) (\d+)/) ?? [];
    assert.equal(String(listed?.pid), initPid);
    // The creator's helper server ends with it (parent-death signal), the container does not.
    assert.ok(Number(serverPid) > 0, output);
    await waitUntilGone(Number(serverPid));
    await fresh.kill(id, 'SIGKILL');
    assert.equal((await fresh.waitExit(id)).exitSignal, 9);
    await fresh.delete(id);
  });

  it('creates containers concurrently through one server', async () => {
    const ids = [1, 2, 3, 4, 5, 6].map(() => rt.nextId('many'));
    const states = await Promise.all(ids.map((id) => rt.runtime.create(id, bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(id) }).dir)));
    assert.equal(new Set(states.map((s) => s.pid)).size, ids.length);
    for (const state of states) assert.equal((await rt.runtime.state(state.id)).status, 'created');
    await Promise.all(ids.map((id) => rt.runtime.delete(id, { force: true })));
  });

  it('starts a new helper server after the old one died', async () => {
    const first = rt.nextId('srv');
    await rt.runtime.create(first, bundle({ args: ['true'], cgroupsPath: testCgroupsPath(first) }).dir);
    const server = nativeRuntime().helperServerPid();
    assert.ok(server > 0);
    process.kill(server, 'SIGKILL');
    await waitUntilGone(server);
    const second = rt.nextId('srv');
    const created = await rt.runtime.create(second, bundle({ args: ['true'], cgroupsPath: testCgroupsPath(second) }).dir);
    assert.ok((created.pid ?? 0) > 0);
    const replacement = nativeRuntime().helperServerPid();
    assert.notEqual(replacement, server);
    // Only /dev/null on 0-2 and the request socket: nothing of this process stays open in it.
    assert.deepEqual(readdirSync(`/proc/${replacement}/fd`).sort(), ['0', '1', '2', '3']);
    // The container created before the server died is unaffected.
    assert.equal((await rt.runtime.state(first)).status, 'created');
    await rt.runtime.delete(first);
    await rt.runtime.delete(second);
  });

  it('joins an existing network namespace by path', async () => {
    const name = `berth-test-join-${process.pid}`;
    execFileSync('ip', ['netns', 'add', name]);
    try {
      const id = rt.nextId('netjoin');
      const b = bundle({ args: ['sh', '-c', 'stat -L -c %i /proc/self/ns/net'], networkNamespacePath: `/run/netns/${name}`, cgroupsPath: testCgroupsPath(id) });
      const { state, stdout } = await rt.runToExit(b, id);
      assert.equal(state.exitCode, 0);
      assert.equal(stdout.trim(), String(statSync(`/run/netns/${name}`).ino));
    } finally {
      execFileSync('ip', ['netns', 'delete', name]);
    }
  });

  it('joins the pid namespace of another container', async () => {
    const first = rt.nextId('pidns');
    await rt.runtime.run(first, bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(first) }).dir);
    try {
      const pid = (await rt.runtime.state(first)).pid as number;
      const id = rt.nextId('pidjoin');
      const b = bundle({ args: ['sh', '-c', 'ps -o pid,comm'], cgroupsPath: testCgroupsPath(id) });
      const spec = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
      spec.linux.namespaces = spec.linux.namespaces.map((ns: { type: string }) => (ns.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : ns));
      b.writeConfig(spec);
      const { stdout } = await rt.runToExit(b, id);
      assert.match(stdout, /^\s*1\s+sleep$/m, 'the first container is PID 1 of the shared namespace');
      assert.match(stdout, /^\s*\d+\s+ps$/m);
    } finally {
      await rt.runtime.delete(first, { force: true });
    }
  });

  it('joins the user namespace of another container', async () => {
    const first = rt.nextId('userns');
    const a = bundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(first) });
    const specA = JSON.parse(readFileSync(join(a.dir, 'config.json'), 'utf8'));
    specA.linux.namespaces.push({ type: 'user' });
    specA.linux.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
    specA.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
    a.writeConfig(specA);
    chmodSync(a.dir, 0o755);
    await rt.runtime.run(first, a.dir);
    try {
      const pid = (await rt.runtime.state(first)).pid as number;
      const id = rt.nextId('userjoin');
      const b = bundle({ args: ['sh', '-c', 'cat /proc/self/uid_map; id -u; sleep 30'], cgroupsPath: testCgroupsPath(id) });
      const spec = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
      spec.linux.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` });
      b.writeConfig(spec);
      chmodSync(b.dir, 0o755);
      const out = join(b.dir, 'userjoin.out');
      const state = await rt.runtime.run(id, b.dir, { stdoutPath: out });
      const status = readFileSync(`/proc/${state.pid}/status`, 'utf8');
      for (let attempt = 0; attempt < 200 && !/^0$/m.test(readFileSync(out, 'utf8')); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const sameNs = statSync(`/proc/${state.pid}/ns/user`).ino === statSync(`/proc/${pid}/ns/user`).ino;
      await rt.runtime.delete(id, { force: true });
      assert.ok(sameNs, 'the second container is in the first one\'s user namespace');
      assert.match(status, /^Uid:\s+300000\s+300000\s+300000\s+300000$/m);
      assert.match(readFileSync(out, 'utf8'), /^\s*0\s+300000\s+65536$/m);
      assert.match(readFileSync(out, 'utf8'), /^0$/m, 'id -u inside the second container');
    } finally {
      await rt.runtime.delete(first, { force: true });
    }
  });
});

/** Resolves once `pid` no longer exists (a zombie counts as gone); fails after 10 s. */
async function waitUntilGone(pid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (/\) Z /.test(stat)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`process ${pid} still runs after 10 s`);
}
