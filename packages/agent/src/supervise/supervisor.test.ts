import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortInUseError } from '@berth/runtime-native';
import { silentLogger } from '../logger';
import { UnitStatus, systemdStates } from '../report/unit-status';
import { parseAssignment } from './desired-unit';
import { FakeHost } from './fake-host.test-support';
import { Supervisor } from './supervisor';

const IMAGE = '127.0.0.1:5000/test/app:1';
const MACHINE = { hostname: 'test-host', machineId: 'ab'.repeat(16) };

function entry(name: string, service: string[] = [], state = 'launched', container: string[] = []) {
  const text = ['[Container]', `Image=${IMAGE}`, ...container, '', '[Service]', ...service, ''].join('\n');
  return parseAssignment({ unitName: name, unitText: text, unitHash: `hash-${text.length}-${service.join()}`, desiredState: state }, MACHINE);
}

describe('Supervisor', () => {
  let dir: string;
  let host: FakeHost;
  let supervisor: Supervisor;
  let reports: UnitStatus[];

  function newSupervisor(): Supervisor {
    return new Supervisor({
      ports: host,
      stateDir: join(dir, 'state'),
      runDir: join(dir, 'run'),
      log: silentLogger(),
      logLimits: { maxBytes: 1024 * 1024, maxFiles: 1 },
      commandRunner: { run: async () => ({ exitCode: 0, output: '' }) },
      onStatus: (status) => reports.push(status),
    });
  }

  function latest(name: string): string {
    const status = [...reports].reverse().find((report) => report.name === name);
    if (!status) return 'none';
    const { activeState, subState } = systemdStates(status);
    return `${activeState}/${subState}`;
  }

  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; reports: ${JSON.stringify(reports.map((r) => `${r.name} ${r.phase} ${r.lastError}`))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-agent-supervisor-'));
    host = new FakeHost(dir);
    reports = [];
    supervisor = newSupervisor();
    await supervisor.recover();
    supervisor.start();
  });

  afterEach(() => {
    supervisor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pulls, creates and starts a launched unit', async () => {
    supervisor.setDesired([entry('web.service')]);
    await until(() => latest('web.service') === 'active/running', 'running');
    const phases = reports.map((report) => report.phase);
    assert.deepEqual(phases.slice(0, 4), ['pulling', 'creating', 'created', 'starting']);
    const status = reports[reports.length - 1];
    assert.equal(status.imageDigest, 'sha256:' + 'a'.repeat(64));
    assert.ok(host.containers.has(status.containerId));
  });

  it('asks for an init only with Init=true', async () => {
    supervisor.setDesired([entry('plain.service'), entry('init.service', [], 'launched', ['Init=true'])]);
    await until(() => latest('plain.service') === 'active/running' && latest('init.service') === 'active/running', 'both running');
    const creates = host.calls.filter((call) => call.startsWith('create'));
    assert.equal(creates.filter((call) => call.includes('plain-') && call.endsWith('with init')).length, 0);
    assert.equal(creates.filter((call) => call.includes('init-') && call.endsWith('with init')).length, 1);
  });

  it('creates a loaded unit without starting it', async () => {
    supervisor.setDesired([entry('web.service', [], 'loaded')]);
    await until(() => reports.some((report) => report.phase === 'created'), 'created');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(host.calls.filter((call) => call.startsWith('start')).length, 0);
    assert.equal(latest('web.service'), 'inactive/dead');
  });

  it('restarts per Restart= and fails at the start limit', async () => {
    supervisor.setDesired([entry('crash.service', ['Restart=on-failure', 'RestartSec=10ms', 'StartLimitBurst=3', 'StartLimitIntervalSec=60s'])]);
    for (let run = 1; run <= 3; run++) {
      await until(() => [...host.containers.values()].some((c) => c.info.status === 'running'), `run ${run}`);
      const running = [...host.containers.values()].find((c) => c.info.status === 'running')!;
      host.exit(running.info.id, { exitCode: 2, oomKilled: false });
      await until(() => !host.containers.get(running.info.id) || host.containers.get(running.info.id)!.info.status === 'stopped', 'the exit');
    }
    await until(() => latest('crash.service') === 'failed/failed', 'failed');
    const final = reports[reports.length - 1];
    assert.equal(final.restarts, 2);
    assert.equal(final.exitCode, 2);
    assert.match(final.lastError, /start limit hit/);
    assert.ok(reports.some((report) => report.phase === 'auto-restart'));
  });

  it('leaves a cleanly exited Restart=no unit inactive', async () => {
    supervisor.setDesired([entry('once.service')]);
    await until(() => latest('once.service') === 'active/running', 'running');
    const id = reports[reports.length - 1].containerId;
    host.exit(id, { exitCode: 0, oomKilled: false });
    await until(() => latest('once.service') === 'inactive/dead', 'dead');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(host.calls.filter((call) => call.startsWith('create')).length, 1);
  });

  it('retries a retryable pull failure', async () => {
    host.pullFailures = 1;
    supervisor.setDesired([entry('web.service')]);
    await until(() => reports.some((report) => report.lastError.includes('unavailable')), 'the failure report');
    await until(() => latest('web.service') === 'active/running', 'running after the retry');
    assert.equal(host.calls.filter((call) => call.startsWith('pull')).length, 2);
  });

  it('retries a host port still held', async () => {
    host.networkSetupErrors.push(new PortInUseError('tcp', 8080, 'container web-2-0a1b2c3d, which is stopping'));
    supervisor.setDesired([entry('web.service')]);
    await until(() => reports.some((report) => report.lastError.includes('8080/tcp is already in use')), 'the port report');
    await until(() => latest('web.service') === 'active/running', 'running after the port is free');
    assert.equal(host.calls.filter((call) => call.startsWith('create')).length, 1);
  });

  it('stops and removes an unassigned unit and reports the removal', async () => {
    supervisor.setDesired([entry('web.service')]);
    await until(() => latest('web.service') === 'active/running', 'running');
    const id = reports[reports.length - 1].containerId;
    supervisor.setDesired([]);
    await until(() => reports.some((report) => report.phase === 'removed'), 'removal');
    assert.ok(host.calls.includes(`kill ${id} SIGTERM`));
    assert.equal(host.containers.size, 0);
    assert.equal(host.networks.size, 0);
    assert.equal(existsSync(join(dir, 'state', 'units', 'web.service.json')), false);
    assert.equal(existsSync(join(dir, 'state', 'logs', 'web.service')), false);
    assert.deepEqual(supervisor.statuses(), []);
  });

  it('reports the exit of a stop', async function () {
    this.timeout(15_000);
    supervisor.setDesired([entry('web.service', [], 'launched', ['HealthCmd=/bin/true', 'HealthStartPeriod=0'])]);
    await until(() => latest('web.service') === 'active/running', 'running');
    supervisor.setDesired([entry('web.service', [], 'loaded', ['HealthCmd=/bin/true', 'HealthStartPeriod=0'])]);
    await until(() => reports.some((report) => report.phase === 'created' && report.signal === 'SIGTERM'), 'the stopped unit');
    const stopped = reports[reports.length - 1];
    assert.equal(stopped.health, 'none');
    assert.equal(stopped.signal, 'SIGTERM');
  });

  it('backs off a failing removal', async () => {
    supervisor.setDesired([entry('web.service')]);
    await until(() => latest('web.service') === 'active/running', 'running');
    host.deleteFailures = 1;
    supervisor.setDesired([]);
    await until(() => host.calls.some((call) => call.startsWith('delete')), 'the first removal');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(host.calls.filter((call) => call.startsWith('delete')).length, 1, 'no retry before the backoff delay');
    await until(() => reports.some((report) => report.phase === 'removed'), 'the removal after the backoff');
    assert.equal(host.containers.size, 0);
  });

  it('replaces the container when the unit hash changes', async () => {
    supervisor.setDesired([entry('web.service')]);
    await until(() => latest('web.service') === 'active/running', 'running');
    const first = reports[reports.length - 1].containerId;
    supervisor.setDesired([entry('web.service', ['TimeoutStopSec=1s'])]);
    await until(() => reports.some((report) => report.phase === 'running' && report.containerId !== first), 'the replacement');
    assert.equal(host.containers.has(first), false);
  });

  it('adopts running containers after a restart and removes orphans', async () => {
    supervisor.setDesired([entry('web.service')]);
    await until(() => latest('web.service') === 'active/running', 'running');
    const id = reports[reports.length - 1].containerId;
    const pid = host.containers.get(id)!.info.pid;
    supervisor.close();
    await host.runtime.create('orphan-1', host.runtime.defaultSpec(), { stdoutPath: '', stderrPath: '' });
    host.calls.length = 0;

    reports = [];
    supervisor = newSupervisor();
    supervisor.setDesired([entry('web.service')]);
    await supervisor.recover();
    supervisor.start();
    await until(() => latest('web.service') === 'active/running', 'adopted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(host.calls, ['delete orphan-1']);
    assert.equal(host.containers.get(id)!.info.pid, pid);
  });

  it('restarts a container that exited during downtime', async () => {
    supervisor.setDesired([entry('web.service', ['Restart=always', 'RestartSec=10ms'])]);
    await until(() => latest('web.service') === 'active/running', 'running');
    const id = reports[reports.length - 1].containerId;
    supervisor.close();
    host.exit(id, { exitCode: 1, oomKilled: false });

    reports = [];
    supervisor = newSupervisor();
    supervisor.setDesired([entry('web.service', ['Restart=always', 'RestartSec=10ms'])]);
    await supervisor.recover();
    supervisor.start();
    await until(() => reports.some((report) => report.phase === 'running' && report.containerId !== id), 'the restart');
    assert.equal(reports[reports.length - 1].restarts, 1);
  });

  it('reports a unit that cannot run with load state error', async () => {
    supervisor.setDesired([parseAssignment({ unitName: 'bad.service', unitText: '[Service]\nRestart=no\n', unitHash: 'h', desiredState: 'launched' }, MACHINE)]);
    await until(() => reports.some((report) => report.name === 'bad.service'), 'the report');
    assert.equal(reports[0].loadState, 'error');
    assert.match(reports[0].lastError, /no \[Container\] section/);
    assert.equal(host.calls.length, 0);
  });
});
