import assert from 'node:assert/strict';
import { makeTempDir, removeTempDir } from '@berth/testkit';
import { agentIndexOf, isRunning, listUnits, statesOf, waitForStates } from '../harness/api';
import { Cluster } from '../harness/cluster';
import { buildAndPushImage, tickerImage } from '../harness/images';
import { SLEEPER_EXEC, unitText } from '../harness/units';

describe('placement across three hosts', function () {
  this.timeout(300_000);
  let dir: string;
  let cluster: Cluster;
  let image: string;

  before(async () => {
    dir = makeTempDir('it-placement');
    cluster = await Cluster.start({ dir, hostMetadata: ['role=web', 'role=web', 'role=db'], schedulerCount: 1 });
    image = await buildAndPushImage(cluster.registryHost, tickerImage('v1'));
  });

  after(async () => {
    if (cluster) {
      await cluster.berthctl(['destroy', 'app@1', 'app@2', 'app@3', 'app@.service', 'agent-probe', 'db', 'db-sidecar']);
      await cluster.destroy();
    }
    removeTempDir(dir);
  });

  it('spreads Conflicts instances and explains the leftover', async () => {
    const template = cluster.writeUnit('app@.service', unitText({
      image,
      exec: SLEEPER_EXEC,
      fleet: ['MachineMetadata=role=web', 'Conflicts=app@*.service'],
    }));
    const submitted = await cluster.berthctl(['submit', template]);
    assert.equal(submitted.code, 0, submitted.stderr);

    const started = await cluster.berthctl(['start', '--block-attempts', '20', 'app@1', 'app@2', 'app@3']);
    assert.equal(started.code, 1, `start of an unplaceable instance must fail:\n${started.stdout}${started.stderr}`);
    assert.match(started.stderr, /Conflicts=app@\*\.service/);

    const states = await waitForStates(cluster, 'app@1 and app@2 running', (all) =>
      ['app@1.service', 'app@2.service'].every((name) => all.some((state) => state.name === name && isRunning(state))));
    const machines = ['app@1.service', 'app@2.service'].map((name) => states.find((state) => state.name === name)!.machineId);
    assert.notEqual(machines[0], machines[1]);
    for (const machineId of machines) assert.equal(cluster.agents[agentIndexOf(cluster, machineId)].metadata, 'role=web');

    const leftover = (await listUnits(cluster)).find((unit) => unit.name === 'app@3.service');
    assert.ok(leftover, 'app@3.service is listed');
    assert.equal(leftover.machineId, null);
    assert.match(leftover.reason ?? '', /Conflicts=app@\*\.service excluded 2 of 3 machines|Conflicts=app@\*\.service/);
  });

  it('runs a Global unit on each matching host', async () => {
    const path = cluster.writeUnit('agent-probe.service', unitText({
      image,
      exec: SLEEPER_EXEC,
      fleet: ['Global=true', 'MachineMetadata=role=web'],
    }));
    const started = await cluster.berthctl(['start', '--block-attempts', '30', path]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);

    const states = await waitForStates(cluster, 'agent-probe on both web hosts', (all) =>
      all.filter((state) => state.name === 'agent-probe.service' && isRunning(state)).length === 2);
    const hosts = states
      .filter((state) => state.name === 'agent-probe.service')
      .map((state) => agentIndexOf(cluster, state.machineId))
      .sort();
    assert.deepEqual(hosts, [0, 1]);
  });

  it('co-locates a MachineOf pair on the db host', async () => {
    const db = cluster.writeUnit('db.service', unitText({ image, exec: SLEEPER_EXEC, fleet: ['MachineMetadata=role=db'] }));
    const sidecar = cluster.writeUnit('db-sidecar.service', unitText({ image, exec: SLEEPER_EXEC, fleet: ['MachineOf=db.service'] }));
    const started = await cluster.berthctl(['start', '--block-attempts', '30', db, sidecar]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);

    const [dbState] = await statesOf(cluster, 'db.service');
    const [sidecarState] = await statesOf(cluster, 'db-sidecar.service');
    assert.ok(dbState, 'db.service reports a state');
    assert.ok(isRunning(dbState), 'db.service runs');
    assert.ok(sidecarState, 'db-sidecar.service reports a state');
    assert.ok(isRunning(sidecarState), 'db-sidecar.service runs');
    assert.equal(sidecarState.machineId, dbState.machineId);
    assert.equal(agentIndexOf(cluster, dbState.machineId), 2);
  });
});
