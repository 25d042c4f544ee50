import assert from 'node:assert/strict';
import { EtcdServer, startEtcd, waitFor } from '@berth/testkit';
import { requestJson, Replica, startReplica } from '../test-support/scheduler-process';
import { TestAgent } from '../test-support/test-agent';

const PRESENCE_TTL_S = 4;
const SESSION_LEASE_TTL_S = 5;
const MACHINE = 'dddd0000000000000000000000000001';
const OTHER = 'eeee0000000000000000000000000002';
const TEXT = '[Container]\nImage=docker.io/library/busybox:latest\n';

describe('scheduler restart after machine leases expired', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let replica: Replica | undefined;
  const agents: TestAgent[] = [];

  before(async () => {
    etcd = await startEtcd();
  });

  after(async () => {
    for (const agent of agents) agent.end();
    await replica?.stop();
    await etcd?.stop();
  });

  const start = () => startReplica({ etcdEndpoint: etcd.endpoint, replicaId: 'solo', presenceTtlS: PRESENCE_TTL_S, leaderTtlS: 2 });

  it('units kept while agents reconnect', async () => {
    replica = await start();
    const first = new TestAgent(replica.grpcAddress, undefined, { machineId: MACHINE });
    agents.push(first);
    first.startHeartbeats(300);
    await requestJson(replica, 'PUT', '/v1/units/keep.service', { text: TEXT, desiredState: 'launched' });
    await first.until(() => first.desired.has('keep.service'), 'keep.service assigned');

    // The only replica crashes and stays down longer than the presence TTL and longer than the
    // 5 s session lease that holds the machine's connection claim.
    await replica.kill();
    first.end();
    await new Promise((resolve) => setTimeout(resolve, (Math.max(PRESENCE_TTL_S, SESSION_LEASE_TTL_S) + 1) * 1000));
    replica = await start();
    const spare = new TestAgent(replica.grpcAddress, undefined, { machineId: OTHER });
    agents.push(spare);
    spare.startHeartbeats(300);
    await spare.until(() => spare.messages.some((m) => m.assignmentSet), 'spare registered');
    const during = (await replica.getJson('/v1/units/keep.service')).body;
    const back = new TestAgent(replica.grpcAddress, undefined, { machineId: MACHINE });
    agents.push(back);
    back.startHeartbeats(300);
    await back.until(() => back.messages.some((m) => m.assignmentSet), 'machine reconnected');

    assert.equal(during.machineId, MACHINE, 'the unit left its absent machine during the grace period');
    assert.ok(back.desired.has('keep.service'), 'the reconnected agent lost its unit');
    assert.ok(!spare.desired.has('keep.service'), 'the unit was placed twice');
    await new Promise((resolve) => setTimeout(resolve, PRESENCE_TTL_S * 1000 + 500));
    assert.equal((await replica.getJson('/v1/units/keep.service')).body.machineId, MACHINE);
  });

  it('absent machine units moved after grace', async () => {
    const back = agents[2];
    back.end();

    const spare = agents[1];
    await waitFor(async () => spare.desired.has('keep.service'), {
      timeoutMs: 15_000,
      describe: () => `keep.service did not move to ${OTHER} after its machine left`,
    });
  });
});
