import assert from 'node:assert/strict';
import { makeTempDir, removeTempDir, waitFor } from '@berth/testkit';
import { agentIndexOf, isRunning, listStates, listUnits, waitForStates } from '../harness/api';
import { Cluster } from '../harness/cluster';
import { leftoversOf, runtimeContainers } from '../harness/host-inspect';
import { buildAndPushImage, webImage } from '../harness/images';
import { unitText } from '../harness/units';

describe('destroy', function () {
  this.timeout(300_000);
  let dir: string;
  let cluster: Cluster;

  before(async () => {
    dir = makeTempDir('it-destroy');
    cluster = await Cluster.start({ dir, hostMetadata: ['role=web', 'role=web'], schedulerCount: 1 });
  });

  after(async () => {
    if (cluster) await cluster.destroy();
    removeTempDir(dir);
  });

  it('leaves nothing of a web unit behind', async () => {
    const image = await buildAndPushImage(cluster.registryHost, webImage('v1'));
    const path = cluster.writeUnit('site.service', unitText({
      image,
      container: ['PublishPort=8080:8080', 'Memory=64M', 'PidsLimit=32'],
    }));
    const started = await cluster.berthctl(['start', '--block-attempts', '30', path]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);

    const [state] = await waitForStates(cluster, 'site.service running', (all) => all.some((entry) => entry.name === 'site.service' && isRunning(entry)));
    const agent = cluster.agents[agentIndexOf(cluster, state.machineId)];
    const page = await (await fetch(`http://${agent.address}:8080/`)).text();
    assert.match(page, /berth web v1/);
    const container = (await runtimeContainers(agent)).find((entry) => entry.id === state.containerId);
    assert.ok(container?.pid, 'the runtime lists the container with its pid');

    const destroyed = await cluster.berthctl(['destroy', 'site.service']);
    assert.equal(destroyed.code, 0, `${destroyed.stdout}${destroyed.stderr}`);
    assert.deepEqual((await listUnits(cluster)).map((unit) => unit.name), []);
    await waitFor(async () => (await listStates(cluster)).length === 0, {
      timeoutMs: 60_000,
      describe: () => `agents still report units after destroy\n${cluster.logTail()}`,
    });

    assert.deepEqual(await leftoversOf(agent, [state.containerId], [container.pid]), []);
  });
});
