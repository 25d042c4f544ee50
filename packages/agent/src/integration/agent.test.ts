import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '@berth/runtime-native';
import { makeTempDir, removeTempDir, runCommand, waitFor } from '@berth/testkit';
import { AGENT_MAIN, AgentCluster } from './agent-cluster';

/** Units used below; each test uses its own so they do not interfere. */
function unitText(image: string, lines: string[]): string {
  return ['[Unit]', 'Description=agent integration test', '', '[Container]', `Image=${image}`, ...lines, ''].join('\n');
}

function runtimeOf(cluster: AgentCluster): Runtime {
  return new Runtime({ runDir: join(cluster.runDir, 'runtime') });
}

async function pidOf(cluster: AgentCluster, containerId: string): Promise<number | undefined> {
  return (await runtimeOf(cluster).state(containerId)).pid;
}

/** Names of the veths attached to the agent's container bridge in the host namespace. */
async function bridgePorts(cluster: AgentCluster): Promise<string[]> {
  const output = await cluster.ipInHost(['-o', 'link', 'show', 'master', 'berth0']);
  return output.split('\n').filter(Boolean).map((line) => line.split(':')[1].trim());
}

describe('agent with real etcd, registry, scheduler and runtime', function () {
  this.timeout(240_000);
  let dir: string;
  let cluster: AgentCluster;
  let image: string;

  before(async () => {
    dir = makeTempDir('agent-it');
    cluster = new AgentCluster(dir);
    await cluster.start();
    image = await cluster.pushImage('ticker', ['/bin/sh', '-c', 'while true; do echo tick; sleep 1; done']);
  });

  after(async () => {
    await cluster?.destroy();
    removeTempDir(dir);
  });

  it('pulls, starts and reports a unit active/running', async () => {
    // sh as PID 1 ignores SIGTERM, so stops end with SIGKILL after TimeoutStopSec=.
    await cluster.submit('ticker.service', unitText(image, ['', '[Service]', 'TimeoutStopSec=2s']), 'launched');
    const state = await cluster.waitForState('ticker.service', 'active/running', (s) => s.activeState === 'active' && s.subState === 'running');
    assert.equal(state.loadState, 'loaded');
    assert.match(state.imageDigest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(state.containerId.startsWith('ticker-'), `container id ${state.containerId}`);
    assert.ok((await pidOf(cluster, state.containerId))! > 0);
  });

  it('serves the unit journal through the scheduler', async () => {
    // The ticker prints once a second; wait until the journal contains more lines than requested.
    await waitFor(async () => (await cluster.journal('ticker.service', 5)).trim().split('\n').length >= 4, {
      timeoutMs: 30_000,
      describe: () => `journal of ticker.service has fewer than 4 lines\n${cluster.agentOutput()}`,
    });
    const lines = (await cluster.journal('ticker.service', 3)).trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z stdout tick$/);
  });

  it('restarts a crashing unit and fails it at the start limit', async () => {
    const crasher = unitText(image, ['Exec=/bin/sh -c "echo crashing; exit 3"', '', '[Service]', 'Restart=on-failure', 'RestartSec=100ms', 'StartLimitBurst=3', 'StartLimitIntervalSec=60s']);
    await cluster.submit('crasher.service', crasher, 'launched');
    const state = await cluster.waitForState('crasher.service', 'failed', (s) => s.activeState === 'failed' && s.lastError !== null && s.lastError !== '');
    assert.equal(state.subState, 'failed');
    assert.equal(state.exitCode, 3);
    assert.equal(state.restarts, 2);
    assert.match(state.lastError ?? '', /start limit hit: 3 starts within 60000 ms/);
  });

  it('reports a failing health check', async () => {
    const unhealthy = unitText(image, ['HealthCmd=/bin/test -f /tmp/ready', 'HealthInterval=500ms', 'HealthTimeout=2s', 'HealthRetries=2', '', '[Service]', 'TimeoutStopSec=2s']);
    await cluster.submit('unhealthy.service', unhealthy, 'launched');
    const state = await cluster.waitForState('unhealthy.service', 'unhealthy', (s) => s.health === 'unhealthy');
    assert.equal(state.activeState, 'active');
    assert.match(state.lastError ?? '', /health check failed: HealthCmd exited with 1/);
  });

  it('reports a passing HTTP check from the host', async () => {
    const web = await cluster.pushImage('web', ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'], { applets: ['httpd'], files: { 'www/index.html': 'ok\n' } });
    await cluster.submit('web.service', unitText(web, ['HealthHttp=8080/index.html', 'HealthInterval=500ms', 'HealthTimeout=2s', '', '[Service]', 'TimeoutStopSec=2s']), 'launched');
    const state = await cluster.waitForState('web.service', 'healthy', (s) => s.health === 'healthy');
    assert.equal(state.subState, 'running');
    assert.equal(state.lastError ?? '', '');
  });

  it('reports an OOM kill', async () => {
    // Doubling a shell variable allocates until the 16 MiB memory limit kills the shell.
    const hog = unitText(image, ['Memory=16M', 'Exec=/bin/sh -c "x=0123456789; while true; do x=$x$x; done"']);
    await cluster.submit('hog.service', hog, 'launched');
    const state = await cluster.waitForState('hog.service', 'failed by OOM kill', (s) => s.activeState === 'failed');
    assert.equal(state.oomKilled, true, JSON.stringify(state));
    assert.equal(state.signal, 'SIGKILL');
  });

  it('keeps the container and its state across SIGKILL of the agent', async () => {
    const before = await cluster.waitForState('ticker.service', 'active/running', (s) => s.subState === 'running');
    const pidBefore = await pidOf(cluster, before.containerId);

    await cluster.killAgent();
    assert.equal(await pidOf(cluster, before.containerId), pidBefore, 'container must keep running while the agent is down');
    const restartedAt = Date.now();
    await cluster.startAgent();

    const after = await cluster.waitForState('ticker.service', 'reported by the new agent', (s) => Date.parse(s.updatedAt) >= restartedAt);
    assert.equal(after.activeState, 'active');
    assert.equal(after.subState, 'running');
    assert.equal(after.containerId, before.containerId);
    assert.equal(await pidOf(cluster, after.containerId), pidBefore);
    assert.equal(after.restarts, before.restarts);
    assert.equal(after.hash, before.hash);
  });

  it('changes nothing on the host while the scheduler is down for a minute', async () => {
    const before = await cluster.waitForState('ticker.service', 'running', (s) => s.subState === 'running');
    const pidBefore = await pidOf(cluster, before.containerId);
    await cluster.stopScheduler();

    await new Promise((resolve) => setTimeout(resolve, 60_000));
    assert.equal(await pidOf(cluster, before.containerId), pidBefore);
    assert.equal((await runtimeOf(cluster).state(before.containerId)).status, 'running');

    const restartedAt = Date.now();
    await cluster.startScheduler();
    const after = await cluster.waitForState('ticker.service', 'reported after the outage', (s) => Date.parse(s.updatedAt) >= restartedAt);
    assert.equal(after.subState, 'running');
    assert.equal(after.containerId, before.containerId);
    assert.equal(await pidOf(cluster, after.containerId), pidBefore);
  });

  it('destroy leaves no container, mount, cgroup, veth or log behind', async () => {
    const before = await cluster.waitForState('ticker.service', 'running', (s) => s.subState === 'running');
    const id = before.containerId;
    const bridgePortsBefore = await bridgePorts(cluster);
    assert.ok(bridgePortsBefore.length >= 1, 'the running container has a veth on the bridge');

    await cluster.destroyUnit('ticker.service');
    await waitFor(async () => (await cluster.state('ticker.service')) === undefined, {
      timeoutMs: 60_000,
      describe: () => `ticker.service still has a state\n${cluster.agentOutput()}`,
    });

    assert.deepEqual((await runtimeOf(cluster).list()).filter((state) => state.id === id), []);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(id), false, 'no mount names the container');
    const cgroups = (await runCommand('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-name', id])).stdout.trim();
    assert.equal(cgroups, '', `cgroups left: ${cgroups}`);
    assert.equal((await bridgePorts(cluster)).length, bridgePortsBefore.length - 1, 'its veth is gone');
    assert.equal(existsSync(join(cluster.stateDir, 'logs', 'ticker.service')), false, 'journal removed');
    assert.equal(existsSync(join(cluster.stateDir, 'rootfs', id)), false, 'root filesystem removed');
    assert.equal(existsSync(join(cluster.runDir, 'containers', id)), false, 'run directory removed');
  });

  it('drain tells the scheduler, stops every unit and exits', async () => {
    const state = await cluster.waitForState('unhealthy.service', 'running', (s) => s.subState === 'running');
    const { stdout } = await runCommand(process.execPath, [AGENT_MAIN, 'drain', '--run-dir', cluster.runDir], { timeoutMs: 120_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['draining', 'drained']);
    await waitFor(async () => cluster.agent!.child.exitCode !== null, { timeoutMs: 10_000, describe: () => 'agent did not exit after drain' });
    assert.deepEqual(await runtimeOf(cluster).list(), []);
    assert.deepEqual(await bridgePorts(cluster), []);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(state.containerId), false);
    assert.match(cluster.agentOutput(), /draining: telling the scheduler/);
  });
});
