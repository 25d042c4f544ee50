import assert from 'node:assert/strict';
import { makeTempDir, removeTempDir, waitFor } from '@berth/testkit';
import { agentIndexOf, isRunning, statesOf, UnitState, waitForStates } from '../harness/api';
import { Cluster } from '../harness/cluster';
import { processExists, runtimeContainers } from '../harness/host-inspect';
import { buildAndPushImage, tickerImage } from '../harness/images';
import { SLEEPER_EXEC, unitText } from '../harness/units';

const PRESENCE_TTL_S = 6;
const LEADER_TTL_S = 5;

/** Returns the single running state of `name`, failing the test when there is none or several. */
async function runningState(cluster: Cluster, name: string): Promise<UnitState> {
  const states = (await statesOf(cluster, name)).filter(isRunning);
  assert.equal(states.length, 1, `${name} runs exactly once: ${JSON.stringify(states)}`);
  return states[0];
}

/** PID of a unit's container process, read from the runtime of the host that runs it. */
async function containerPid(cluster: Cluster, state: UnitState): Promise<number> {
  const agent = cluster.agents[agentIndexOf(cluster, state.machineId)];
  const container = (await runtimeContainers(agent)).find((entry) => entry.id === state.containerId);
  assert.ok(container?.pid, `runtime of host ${agent.index + 1} lists container ${state.containerId} with a pid`);
  return container.pid;
}

describe('resilience of running units', function () {
  this.timeout(300_000);
  let dir: string;
  let cluster: Cluster;
  let image: string;

  before(async () => {
    dir = makeTempDir('it-resilience');
    cluster = await Cluster.start({
      dir,
      hostMetadata: ['zone=a', 'zone=b', 'zone=c'],
      schedulerCount: 2,
      presenceTtlS: PRESENCE_TTL_S,
      leaderTtlS: LEADER_TTL_S,
    });
    image = await buildAndPushImage(cluster.registryHost, tickerImage('v1'));
  });

  after(async () => {
    if (cluster) {
      await cluster.berthctl(['destroy', 'steady.service', 'second.service', 'mover.service']);
      await cluster.destroy();
    }
    removeTempDir(dir);
  });

  it('agent restart leaves containers untouched', async () => {
    const path = cluster.writeUnit('steady.service', unitText({ image, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '30', path]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);
    const before = await runningState(cluster, 'steady.service');
    const pid = await containerPid(cluster, before);
    const host = agentIndexOf(cluster, before.machineId);

    await cluster.killAgent(host, 'SIGKILL');
    assert.ok(processExists(pid), 'the container outlives its agent');
    await cluster.startAgent(host);
    await waitForStates(cluster, 'steady.service reported again after the agent restart', (all) =>
      all.some((state) => state.name === 'steady.service' && isRunning(state) && state.containerId === before.containerId));

    const after = await runningState(cluster, 'steady.service');
    assert.equal(after.containerId, before.containerId);
    assert.equal(after.restarts, before.restarts);
    assert.equal(await containerPid(cluster, after), pid);
  });

  it('leader loss restarts no unit', async () => {
    const before = await runningState(cluster, 'steady.service');
    const health = await Promise.all(cluster.schedulers.map(async (scheduler) =>
      (await (await fetch(`${scheduler.httpEndpoint}/healthz`)).json()) as { leader: boolean }));
    const leader = health.findIndex((entry) => entry.leader);
    assert.ok(leader >= 0, `one replica is leader: ${JSON.stringify(health)}`);

    await cluster.killScheduler(leader);
    const survivor = cluster.schedulers[1 - leader];
    await waitFor(async () => ((await (await fetch(`${survivor.httpEndpoint}/healthz`)).json()) as { leader: boolean }).leader, {
      timeoutMs: (LEADER_TTL_S + 15) * 1000,
      describe: () => `${survivor.replicaId} did not become leader after ${cluster.schedulers[leader].replicaId} was killed`,
    });

    const path = cluster.writeUnit('second.service', unitText({ image, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '40', path]);
    assert.equal(started.code, 0, `the new leader places new units:\n${started.stdout}${started.stderr}`);

    const after = await runningState(cluster, 'steady.service');
    assert.equal(after.containerId, before.containerId);
    assert.equal(after.restarts, before.restarts);
  });

  it('lost host units move and return stops them', async () => {
    const path = cluster.writeUnit('mover.service', unitText({ image, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '30', path]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);
    const before = await runningState(cluster, 'mover.service');
    const lostHost = agentIndexOf(cluster, before.machineId);
    const oldPid = await containerPid(cluster, before);

    await cluster.killAgent(lostHost, 'SIGKILL');
    await waitForStates(cluster, 'mover.service running on another host', (all) =>
      all.some((state) => state.name === 'mover.service' && isRunning(state) && state.machineId !== before.machineId),
    (PRESENCE_TTL_S + 30) * 1000);

    await cluster.startAgent(lostHost);
    const agent = cluster.agents[lostHost];
    await waitFor(async () => !(await runtimeContainers(agent)).some((entry) => entry.id === before.containerId), {
      timeoutMs: 60_000,
      describe: () => `container ${before.containerId} still exists on host ${lostHost + 1} after its agent returned\n${cluster.logTail()}`,
    });
    assert.equal(processExists(oldPid), false, 'the old container process is gone');
    const now = (await statesOf(cluster, 'mover.service')).filter(isRunning);
    assert.equal(now.length, 1, `mover.service runs once: ${JSON.stringify(now)}`);
    assert.notEqual(now[0].machineId, before.machineId);
  });
});
