import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeBusyboxBundle, TestBundle } from '../runtime/testing/busybox-bundle';
import { leftoverTestCgroups, testCgroupsPath } from '../runtime/testing/container-run';

const CLI = join(__dirname, 'runtime-cli.js');

describe('berth-runtime CLI', function () {
  this.timeout(60000);
  const root = mkdtempSync(join(tmpdir(), 'berth-cli-run-'));
  const bundles: TestBundle[] = [];
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, '--root', root, ...args], { encoding: 'utf8' });

  after(() => {
    for (const b of bundles) b.remove();
    rmSync(root, { recursive: true, force: true });
    assert.deepEqual(leftoverTestCgroups(), [], 'cgroups left behind');
  });

  it('runs a container and exits with its code', () => {
    const id = `cli-run-${process.pid}`;
    const b = makeBusyboxBundle({ args: ['sh', '-c', 'echo from-container; exit 7'], cgroupsPath: testCgroupsPath(id) });
    bundles.push(b);
    const out = join(b.dir, 'out');
    const result = cli('run', id, '--bundle', b.dir, '--stdout', out);
    assert.equal(result.status, 7, result.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'from-container\n');
    assert.equal(cli('state', id).status, 1, 'run deletes the container');
  });

  it('connects run to its own stdout and stderr', () => {
    const id = `cli-stdio-${process.pid}`;
    const b = makeBusyboxBundle({ args: ['sh', '-c', 'echo to-stdout; echo to-stderr >&2'], cgroupsPath: testCgroupsPath(id) });
    bundles.push(b);
    const result = cli('run', id, '--bundle', b.dir);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'to-stdout\n');
    assert.equal(result.stderr, 'to-stderr\n');
  });

  it('creates, lists, kills and deletes', () => {
    const id = `cli-life-${process.pid}`;
    const b = makeBusyboxBundle({ args: ['sleep', '30'], cgroupsPath: testCgroupsPath(id) });
    bundles.push(b);
    assert.equal(cli('create', id, '--bundle', b.dir).status, 0);
    assert.equal(JSON.parse(cli('state', id).stdout).status, 'created');
    assert.equal(cli('start', id).status, 0);
    const list = cli('list');
    assert.match(list.stdout, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED$/m);
    assert.match(list.stdout, new RegExp(`^${id}\\s+\\d+\\s+running\\s`, 'm'));
    const busy = cli('delete', id);
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, /is running/);
    assert.equal(cli('kill', id, 'KILL').status, 0);
    assert.equal(cli('delete', id, '--force').status, 0);
    assert.equal(JSON.parse(cli('list', '--format', 'json').stdout).length, 0);
  });

  it('explains a usage error', () => {
    const result = cli('create', 'x');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /missing --bundle DIR/);
  });

  it('names the errno of a native failure', () => {
    const result = cli('kill', 'no-such-container');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /container "no-such-container" not found/);
  });
});
