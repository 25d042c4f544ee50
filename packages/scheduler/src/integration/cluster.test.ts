import assert from 'node:assert/strict';
import { EtcdServer, startEtcd, waitFor } from '@berth/testkit';
import { requestJson, Replica, startReplica } from '../test-support/scheduler-process';
import { TestAgent } from '../test-support/test-agent';

const LEADER_TTL_S = 2;
const MACHINES = ['m1000000000000000000000000000001', 'm2000000000000000000000000000002', 'm3000000000000000000000000000003'];
const APP_TEXT = '[X-Fleet]\nConflicts=app@*.service\n\n[Container]\nImage=docker.io/library/busybox:latest\nExec=sleep 1000\n';

describe('scheduler replicas with real etcd', function () {
  this.timeout(90_000);
  let etcd: EtcdServer;
  const replicas: Replica[] = [];
  const agents: TestAgent[] = [];

  before(async () => {
    etcd = await startEtcd();
    // A long presence TTL keeps the machine of the killed replica's agent present for every test.
    for (const id of ['r1', 'r2', 'r3']) {
      replicas.push(await startReplica({ etcdEndpoint: etcd.endpoint, replicaId: id, leaderTtlS: LEADER_TTL_S, presenceTtlS: 60 }));
    }
  });

  after(async () => {
    for (const agent of agents) agent.end();
    for (const replica of replicas) await replica.stop();
    await etcd?.stop();
  });

  const leaderOf = async (replica: Replica): Promise<string | null> => (await replica.getJson('/healthz')).body.leaderId;

  it('five conflicting units on three machines', async () => {
    // Each agent uses a different replica, so assignments must reach it from any leader.
    MACHINES.forEach((machineId, i) => {
      const agent = new TestAgent(replicas[i].grpcAddress, undefined, { machineId });
      agent.startHeartbeats(1000);
      agents.push(agent);
    });
    for (const agent of agents) await agent.until(() => agent.messages.some((m) => m.assignmentSet), 'registered');

    await requestJson(replicas[0], 'PUT', '/v1/units/app@.service', { text: APP_TEXT });
    for (let i = 1; i <= 5; i++) {
      const put = await requestJson(replicas[i % 3], 'PUT', `/v1/units/app@${i}.service`, { desiredState: 'launched' });
      assert.equal(put.status, 201, JSON.stringify(put.body));
    }

    let units: any[] = [];
    await waitFor(async () => {
      units = (await replicas[1].getJson('/v1/units')).body.units.filter((u: any) => u.name !== 'app@.service');
      return units.filter((u) => u.machineId).length === 3 && units.filter((u) => u.reason).length === 2;
    }, { timeoutMs: 20_000, describe: () => `placement did not settle: ${JSON.stringify(units)}` });

    const placed = units.filter((u) => u.machineId);
    assert.equal(new Set(placed.map((u) => u.machineId)).size, 3, 'two app instances share a machine');
    for (const u of units.filter((x) => x.reason)) {
      assert.equal(u.machineId, null);
      assert.equal(u.reason, 'Conflicts=app@*.service excluded 3 of 3 machines');
    }
    await waitFor(async () => agents.every((a) => a.desired.size === 1), {
      timeoutMs: 10_000,
      describe: () => `agents' sets: ${agents.map((a) => [...a.desired.keys()].join(',')).join(' | ')}`,
    });
  });

  it('journal relayed across replicas', async () => {
    const far = agents[2];
    const unit = [...far.desired.keys()][0];
    far.onLogRequest = (request) => {
      far.write({ logChunk: { requestId: request.requestId, lines: [`from ${far.hello.machineId}`], eof: true } });
    };

    const response = await fetch(`${replicas[0].httpUrl}/v1/units/${encodeURIComponent(unit)}/journal`);

    assert.equal(response.status, 200);
    assert.equal(await response.text(), `from ${far.hello.machineId}\n`);
  });

  it('killed leader replaced without duplicates', async () => {
    const leaderId = await leaderOf(replicas[0]);
    const leader = replicas.find((r) => r.id === leaderId);
    assert.ok(leader, `leader ${leaderId} is not one of the replicas`);
    const before = agents.map((a) => ({ generation: a.generation, units: [...a.desired.keys()].sort() }));
    const survivors = replicas.filter((r) => r !== leader);
    const survivingAgents = agents.filter((_, i) => replicas[i] !== leader);

    await leader.kill();
    replicas.splice(replicas.indexOf(leader), 1);
    const killedAt = Date.now();
    let newLeader: string | null = null;
    await waitFor(async () => {
      newLeader = await leaderOf(survivors[0]);
      return newLeader !== null && newLeader !== leaderId;
    }, { timeoutMs: LEADER_TTL_S * 1000 * 3, intervalMs: 50, describe: () => `no new leader after killing ${leaderId}` });
    const takeoverMs = Date.now() - killedAt;
    console.log(`      new leader ${newLeader} after ${takeoverMs} ms (leader lease TTL ${LEADER_TTL_S} s)`);

    // A change after the takeover proves the new leader places; nothing else may move.
    await requestJson(survivors[0], 'DELETE', '/v1/units/app@1.service');
    let units: any[] = [];
    await waitFor(async () => {
      units = (await survivors[0].getJson('/v1/units')).body.units.filter((u: any) => u.name !== 'app@.service');
      return units.filter((u) => u.machineId).length === 3;
    }, { timeoutMs: 20_000, describe: () => `new leader did not re-place: ${JSON.stringify(units)}` });

    const perUnit = units.map((u) => u.machineIds.length);
    assert.ok(perUnit.every((n) => n <= 1), `a unit is assigned twice: ${JSON.stringify(units)}`);
    assert.equal(new Set(units.filter((u) => u.machineId).map((u) => u.machineId)).size, 3);
    for (const [i, agent] of survivingAgents.entries()) {
      const previous = before[agents.indexOf(agent)];
      const kept = previous.units.filter((u) => u !== 'app@1.service');
      for (const unit of kept) assert.ok(agent.desired.has(unit), `agent ${i} lost ${unit} during the leader change`);
    }
  });

  it('paused leader steps down on resume', async () => {
    const leaderId = await leaderOf(replicas[0]);
    const paused = replicas.find((r) => r.id === leaderId)!;
    const other = replicas.find((r) => r !== paused)!;

    paused.process.child.kill('SIGSTOP');
    try {
      await waitFor(async () => (await leaderOf(other)) === other.id, {
        timeoutMs: LEADER_TTL_S * 1000 * 3,
        intervalMs: 50,
        describe: () => `${other.id} did not take over from paused ${paused.id}`,
      });
      await requestJson(other, 'DELETE', '/v1/units/app@2.service');
    } finally {
      paused.process.child.kill('SIGCONT');
    }

    let health: any;
    await waitFor(async () => {
      health = (await paused.getJson('/healthz')).body;
      return health.leader === false && health.leaderId === other.id;
    }, { timeoutMs: 10_000, describe: () => `paused replica did not step down: ${JSON.stringify(health)}` });
    let units: any[] = [];
    await waitFor(async () => {
      units = (await other.getJson('/v1/units')).body.units.filter((u: any) => u.name !== 'app@.service');
      return units.length === 3 && units.every((u) => u.machineIds.length === 1);
    }, { timeoutMs: 10_000, describe: () => `units did not settle: ${JSON.stringify(units)}` });
    assert.equal(new Set(units.map((u) => u.machineId)).size, 3, 'two app instances share a machine');
    assert.match(paused.process.output(), /election leader -> follower/);
  });
});
