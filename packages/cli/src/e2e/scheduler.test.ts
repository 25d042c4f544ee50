import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { findFreePort, makeTempDir, removeTempDir, waitFor } from '@berth/testkit';
import { assertGolden } from '../test-support/golden';
import { BERTHCTL_MAIN, BerthctlResult, describeResult, runBerthctl } from '../test-support/run-berthctl';
import { SchedulerCluster, startSchedulerCluster } from '../test-support/scheduler-cluster';
import { CRASHING_IMAGE_SUFFIX, SimulatedAgent } from '../test-support/simulated-agent';

const MACHINE_A = 'a1'.repeat(16);
const MACHINE_B = 'b2'.repeat(16);

// Each instance of web@.service lands on the machine whose slot matches its instance name, and
// db.service needs the ssd machine, so every placement (and so every table) is deterministic.
const UNIT_FILES: Record<string, string> = {
  'web@.service': '[Unit]\nDescription=Web server %i\n\n[Container]\nImage=127.0.0.1:5000/berth/web:1\n\n[X-Fleet]\nMachineMetadata=slot=%i\n',
  'db.service': '[Unit]\nDescription=Database\n\n[Container]\nImage=127.0.0.1:5000/berth/db:1\n\n[X-Fleet]\nMachineMetadata=disk=ssd\n',
  'cache.service': '[Unit]\nDescription=Cache\n\n[Container]\nImage=127.0.0.1:5000/berth/cache:1\n\n[X-Fleet]\nMachineMetadata=role=cache\n',
  'monitor.service': '[Unit]\nDescription=Node monitor\n\n[Container]\nImage=127.0.0.1:5000/berth/monitor:1\n\n[X-Fleet]\nGlobal=true\n',
  'api.service': '[Unit]\nDescription=API\n\n[Container]\nImage=127.0.0.1:5000/berth/api:1\nHealthCmd=/bin/check\n\n[X-Fleet]\nMachineMetadata=slot=1\n',
  'crash.service': `[Container]\nImage=127.0.0.1:5000/berth${CRASHING_IMAGE_SUFFIX}\n\n[Service]\nRestart=no\n\n[X-Fleet]\nMachineMetadata=slot=2\n`,
};

/** Replaces ISO 8601 times the scheduler stamps, which differ between runs. */
function withoutTimes(text: string): string {
  return text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, 'TIME');
}

function sortedLines(text: string): string[] {
  return text.trimEnd().split('\n').sort();
}

describe('berthctl against a real scheduler', function () {
  this.timeout(120_000);
  let cluster: SchedulerCluster;
  let agents: SimulatedAgent[] = [];
  let unitsDir: string;
  let emptyDir: string;
  let tempDir: string;

  const berthctl = (args: string[], options: { cwd?: string; token?: string | null } = {}): Promise<BerthctlResult> => {
    const env: Record<string, string> = { BERTHCTL_ENDPOINT: cluster.endpoint };
    if (options.token !== null) env.BERTHCTL_TOKEN = options.token ?? cluster.apiToken;
    return runBerthctl(args, { cwd: options.cwd ?? unitsDir, env });
  };

  before(async () => {
    tempDir = makeTempDir('cli-e2e');
    unitsDir = join(tempDir, 'units');
    emptyDir = join(tempDir, 'empty');
    mkdirSync(unitsDir);
    mkdirSync(emptyDir);
    for (const [name, text] of Object.entries(UNIT_FILES)) writeFileSync(join(unitsDir, name), text);

    cluster = await startSchedulerCluster();
    const common = { gateway: cluster.gateway, joinToken: cluster.joinToken };
    agents = [
      new SimulatedAgent({ ...common, machineId: MACHINE_A, address: '10.88.0.2', metadata: { role: 'web', slot: '1' } }),
      new SimulatedAgent({ ...common, machineId: MACHINE_B, address: '10.88.0.3', metadata: { role: 'web', slot: '2', disk: 'ssd' } }),
    ];
    await waitFor(async () => {
      const response = await fetch(`${cluster.endpoint}/v1/machines`);
      return ((await response.json()) as { machines: unknown[] }).machines.length === 2;
    }, {
      timeoutMs: 20_000,
      describe: () => `the simulated agents did not register; scheduler output:\n${cluster.scheduler.output()}\nagent A received: ${agents[0].received.join(', ')}`,
    });
  });

  after(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await cluster?.stop();
    removeTempDir(tempDir);
  });

  it('list-machines matches golden table', async () => {
    const result = await berthctl(['list-machines', '--fields', 'machine,ip,metadata,units,version']);
    assert.equal(result.status, 0, describeResult(result));
    assertGolden('e2e-list-machines.txt', result.stdout);
  });

  it('submit stores template inactive', async () => {
    const result = await berthctl(['submit', 'web@.service']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, 'Unit web@.service inactive\n');
  });

  it('start uses local and cluster templates', async () => {
    const local = await berthctl(['start', 'web@1']);
    assert.equal(local.status, 0, describeResult(local));
    assert.equal(local.stdout, `Unit web@1.service launched on a1a1a1a1.../10.88.0.2\n`);

    const fromCluster = await berthctl(['start', 'web@2'], { cwd: emptyDir });
    assert.equal(fromCluster.status, 0, describeResult(fromCluster));
    assert.equal(fromCluster.stdout, `Unit web@2.service launched on b2b2b2b2.../10.88.0.3\n`);
  });

  it('load waits for loaded state', async () => {
    const result = await berthctl(['load', 'db']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, 'Unit db.service loaded on b2b2b2b2.../10.88.0.3\n');
  });

  it('start of unplaceable unit fails with reason', async () => {
    const result = await berthctl(['start', 'cache.service']);
    assert.equal(result.status, 1, describeResult(result));
    assert.equal(result.stdout, '', describeResult(result));

    const response = await fetch(`${cluster.endpoint}/v1/units/cache.service`);
    const unit = (await response.json()) as { reason: string | null };
    assert.notEqual(unit.reason, null, `the scheduler reports no reason for cache.service: ${JSON.stringify(unit)}`);
    assert.notEqual(unit.reason, '', `the scheduler reports an empty reason for cache.service`);
    assert.equal(result.stderr, `berthctl: unit cache.service cannot start: not placed: ${unit.reason}\n`);
  });

  it('start waits for health check', async () => {
    const result = await berthctl(['start', 'api']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, 'Unit api.service launched on a1a1a1a1.../10.88.0.2\n');

    const status = await berthctl(['status', '--lines', '0', 'api']);
    assert.match(status.stdout, /Health: healthy\n/, describeResult(status));
  });

  it('start of failing unit prints agent error', async () => {
    const result = await berthctl(['start', 'crash']);
    assert.equal(result.status, 1, describeResult(result));
    assert.equal(
      result.stderr,
      'berthctl: unit crash.service cannot start: failed on b2b2b2b2... (last exit: code 1) and Restart=no does not restart it: ' +
        'container exited with code 1: /bin/crash: configuration file /etc/crash.conf not found\n',
    );
  });

  it('start of global unit does not wait', async () => {
    const result = await berthctl(['start', 'monitor']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, 'Triggered global unit monitor.service start\n');

    await waitFor(async () => {
      const response = await fetch(`${cluster.endpoint}/v1/state?unit=monitor.service`);
      return ((await response.json()) as { states: unknown[] }).states.length === 2;
    }, { timeoutMs: 20_000, describe: () => 'monitor.service was not reported by both machines' });
    const status = await berthctl(['status', '--lines', '1', 'monitor']);
    assert.equal(status.status, 0, describeResult(status));
    assertGolden('e2e-status-monitor.txt', withoutTimes(status.stdout));
  });

  it('endpoint list skips unreachable replica', async () => {
    const closed = `http://127.0.0.1:${await findFreePort()}`;
    const result = await runBerthctl(['--endpoint', `${closed},${cluster.endpoint}`, 'list-machines', '--no-legend', '--fields', 'ip']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, '10.88.0.2\n10.88.0.3\n');
  });

  it('endpoint list skips replica without etcd', async () => {
    // A replica that lost etcd returns 503 with the API's error body.
    const lostEtcd = createServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'unavailable', message: 'etcd at http://127.0.0.1:1 is unreachable; retrying is safe', details: {} } }));
    });
    await new Promise<void>((resolve) => lostEtcd.listen(0, '127.0.0.1', resolve));
    const address = lostEtcd.address();
    const stub = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    try {
      const skipped = await runBerthctl(['--endpoint', `${stub},${cluster.endpoint}`, 'list-machines', '--no-legend', '--fields', 'ip']);
      assert.equal(skipped.status, 0, describeResult(skipped));
      assert.equal(skipped.stdout, '10.88.0.2\n10.88.0.3\n');

      const only = await runBerthctl(['--endpoint', stub, 'list-machines']);
      assert.equal(only.status, 1, describeResult(only));
      assert.equal(only.stderr, 'berthctl: etcd at http://127.0.0.1:1 is unreachable; retrying is safe\n');
    } finally {
      await new Promise((resolve) => lostEtcd.close(resolve));
    }
  });

  it('list-units matches golden tables', async () => {
    const defaults = await berthctl(['list-units']);
    assert.equal(defaults.status, 0, describeResult(defaults));
    assertGolden('e2e-list-units.txt', defaults.stdout);

    const full = await berthctl(['list-units', '--full', '--no-legend', '--fields', 'unit,load,active,sub,machine,hash,health,restarts']);
    assert.equal(full.status, 0, describeResult(full));
    assertGolden('e2e-list-units-full.txt', full.stdout);
  });

  it('list-unit-files matches golden table', async () => {
    const result = await berthctl(['list-unit-files', '--fields', 'unit,hash,dstate,state,target,global,desc']);
    assert.equal(result.status, 0, describeResult(result));
    assertGolden('e2e-list-unit-files.txt', result.stdout);
  });

  it('status shows state and journal', async () => {
    const running = await berthctl(['status', 'web@1']);
    assert.equal(running.status, 0, describeResult(running));
    assertGolden('e2e-status-web-1.txt', withoutTimes(running.stdout));

    const unplaced = await berthctl(['status', 'cache']);
    assert.equal(unplaced.status, 1, describeResult(unplaced));
    assertGolden('e2e-status-cache.txt', withoutTimes(unplaced.stdout));
  });

  it('cat prints the submitted text', async () => {
    const result = await berthctl(['cat', 'db.service']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, UNIT_FILES['db.service']);
  });

  it('journal prints the last lines', async () => {
    const result = await berthctl(['journal', '-n', '2', 'web@2']);
    assert.equal(result.status, 0, describeResult(result));
    assert.deepEqual(result.stdout.trimEnd().split('\n'), [
      '2026-12-04T21:00:01.000Z stdout web@2.service line 2',
      '2026-12-04T21:00:02.000Z stdout web@2.service line 3',
    ]);
  });

  it('journal follow streams new lines', async () => {
    const child = spawn(process.execPath, [BERTHCTL_MAIN, 'journal', '-f', '-n', '1', 'web@1'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BERTHCTL_ENDPOINT: cluster.endpoint },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    try {
      await waitFor(async () => stdout.includes('followed line 2\n'), {
        timeoutMs: 20_000,
        describe: () => `journal -f printed no followed lines; stdout:\n${stdout}\nstderr:\n${stderr}`,
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines[0], '2026-12-04T21:00:02.000Z stdout web@1.service line 3');
    assert.equal(lines[1], '2026-12-04T21:01:00.000Z stdout web@1.service followed line 1');
    assert.equal(lines[2], '2026-12-04T21:01:00.000Z stdout web@1.service followed line 2');

    // Closing the client's connection must make the scheduler cancel the agent's stream.
    await waitFor(async () => agents[0].cancelledFollows.length === 1, {
      timeoutMs: 10_000,
      describe: () => 'the scheduler did not cancel the followed journal after berthctl exited',
    });
  });

  it('journal picks a machine of a global unit', async () => {
    const unnamed = await berthctl(['journal', '-n', '1', 'monitor']);
    assert.equal(unnamed.status, 0, describeResult(unnamed));
    assert.match(unnamed.stderr, /^berthctl: showing monitor\.service on machine [0-9a-f]{32}; it runs on 2 machines, pick one with --machine ID\n$/);

    for (const machine of [MACHINE_A, MACHINE_B]) {
      const response = await fetch(`${cluster.endpoint}/v1/units/monitor.service/journal?lines=1&machine=${machine.slice(0, 8)}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-berth-machine-id'), machine);
      await response.text();
    }

    const chosen = await berthctl(['journal', '-n', '1', '--machine', MACHINE_B.slice(0, 8), 'monitor']);
    assert.equal(chosen.status, 0, describeResult(chosen));
    assert.equal(chosen.stderr, '');
    assert.equal(chosen.stdout, '2026-12-04T21:00:02.000Z stdout monitor.service line 3\n');

    const elsewhere = await berthctl(['journal', '--machine', 'ffffffff', 'monitor']);
    assert.equal(elsewhere.status, 1, describeResult(elsewhere));
    assert.match(elsewhere.stderr, /unit "monitor\.service" does not run on machine "ffffffff"; it runs on /);
  });

  it('stop of unknown unit says so', async () => {
    const result = await berthctl(['stop', 'nope']);
    assert.equal(result.status, 1, describeResult(result));
    assert.equal(result.stderr, 'berthctl: unit nope.service not found in the cluster; see berthctl list-unit-files\n');
  });

  it('write without token is rejected', async () => {
    const result = await berthctl(['stop', 'web@1'], { token: null });
    assert.equal(result.status, 1, describeResult(result));
    assert.match(result.stderr, /pass the API token with --token or BERTHCTL_TOKEN/);
  });

  it('stop waits for stopped container', async () => {
    const result = await berthctl(['stop', 'web@2']);
    assert.equal(result.status, 0, describeResult(result));
    assert.equal(result.stdout, 'Unit web@2.service loaded on b2b2b2b2.../10.88.0.3\n');
  });

  it('restart stops and starts units', async () => {
    // web@1 is launched, so it is stopped first; web@2 was stopped above, so it is only started.
    const result = await berthctl(['restart', 'web@1', 'web@2', 'nope']);
    assert.equal(result.status, 1, describeResult(result));
    assert.deepEqual(sortedLines(result.stdout), [
      'Unit web@1.service launched on a1a1a1a1.../10.88.0.2',
      'Unit web@2.service launched on b2b2b2b2.../10.88.0.3',
    ]);
    assert.equal(result.stderr, 'berthctl: unit nope.service not found in the cluster; see berthctl list-unit-files\n');
  });

  it('unload and destroy clear the cluster', async () => {
    const unload = await berthctl(['unload', 'db']);
    assert.equal(unload.status, 0, describeResult(unload));
    assert.equal(unload.stdout, 'Unit db.service inactive\n');

    const destroy = await berthctl(['destroy', 'web@1', 'web@2', 'db', 'cache', 'api', 'crash', 'monitor', 'web@.service', 'nope']);
    assert.equal(destroy.status, 0, describeResult(destroy));
    assert.deepEqual(sortedLines(destroy.stdout), [
      'Destroyed api.service',
      'Destroyed cache.service',
      'Destroyed crash.service',
      'Destroyed db.service',
      'Destroyed monitor.service',
      'Destroyed web@.service',
      'Destroyed web@1.service',
      'Destroyed web@2.service',
    ]);
    assert.equal(destroy.stderr, 'berthctl: unit nope.service not found; nothing to destroy\n');

    const states = await berthctl(['list-units', '--json']);
    assert.equal(states.status, 0, describeResult(states));
    assert.deepEqual(JSON.parse(states.stdout), []);
  });
});
