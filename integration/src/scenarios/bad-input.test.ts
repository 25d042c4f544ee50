import assert from 'node:assert/strict';
import { makeTempDir, removeTempDir } from '@berth/testkit';
import { isRunning, statesOf, UnitState } from '../harness/api';
import { Cluster } from '../harness/cluster';
import { buildAndPushImage, tickerImage } from '../harness/images';
import { SLEEPER_EXEC, unitText } from '../harness/units';

const CREDENTIALS = { username: 'deployer', password: 'correct-horse', agentPassword: 'wrong-battery' };

describe('bad input reported through berthctl', function () {
  this.timeout(300_000);
  let dir: string;
  let cluster: Cluster;
  let image: string;
  let bystander: UnitState;

  before(async () => {
    dir = makeTempDir('it-bad-input');
    cluster = await Cluster.start({ dir, hostMetadata: ['role=any', 'role=any'], schedulerCount: 1, authRegistry: CREDENTIALS });
    image = await buildAndPushImage(cluster.registryHost, tickerImage('v1'));
    const path = cluster.writeUnit('bystander.service', unitText({ image, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '30', path]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);
    [bystander] = await statesOf(cluster, 'bystander.service');
  });

  afterEach(async () => {
    const [now] = await statesOf(cluster, 'bystander.service');
    assert.ok(now, 'the bystander unit reports a state');
    assert.ok(isRunning(now), 'the bystander unit keeps running');
    assert.equal(now.containerId, bystander.containerId);
    assert.equal(now.restarts, bystander.restarts);
  });

  after(async () => {
    if (cluster) {
      await cluster.berthctl(['destroy', 'bystander', 'bad-ref', 'missing-image', 'private-image']);
      await cluster.destroy();
    }
    removeTempDir(dir);
  });

  it('malformed unit file names file and line', async () => {
    const path = cluster.writeUnit('broken.service', '[Unit]\nDescription=broken\n[Container\nImage=x\n');
    const submitted = await cluster.berthctl(['submit', path]);
    assert.equal(submitted.code, 1);
    assert.match(`${submitted.stdout}${submitted.stderr}`, /broken\.service:3:\d+: error:/);
    const listed = await cluster.berthctl(['list-unit-files', '--no-legend']);
    assert.doesNotMatch(listed.stdout, /broken\.service/);
  });

  it('bad image reference is rejected with the reference', async () => {
    const path = cluster.writeUnit('bad-ref.service', unitText({ image: `${cluster.registryHost}/Berth/UPPER CASE:v1`, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '20', path]);
    assert.notEqual(started.code, 0);
    assert.match(`${started.stdout}${started.stderr}`, /Berth\/UPPER CASE|invalid image reference|image reference/i);
  });

  it('missing image fails start with not found', async () => {
    const reference = `${cluster.registryHost}/berth/missing:v1`;
    const path = cluster.writeUnit('missing-image.service', unitText({ image: reference, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '20', path]);
    assert.equal(started.code, 1);
    assert.match(`${started.stdout}${started.stderr}`, /not found|unknown/i);
    assert.match(`${started.stdout}${started.stderr}`, /berth\/missing/);
  });

  it('wrong registry password fails start as unauthorized', async () => {
    const reference = await buildAndPushImage(cluster.authRegistry!.host, tickerImage('v1'), { credentials: CREDENTIALS });
    const path = cluster.writeUnit('private-image.service', unitText({ image: reference, exec: SLEEPER_EXEC }));
    const started = await cluster.berthctl(['start', '--block-attempts', '20', path]);
    assert.equal(started.code, 1);
    const output = `${started.stdout}${started.stderr}`;
    assert.match(output, /unauthori[sz]ed|authentication|credentials/i);
    assert.doesNotMatch(output, new RegExp(CREDENTIALS.agentPassword));
  });
});
