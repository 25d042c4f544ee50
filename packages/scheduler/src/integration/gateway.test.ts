import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { EtcdServer, startEtcd, waitFor } from '@berth/testkit';
import { loadBerthProto } from '../gateway/proto';
import { requestJson, Replica, startReplica } from '../test-support/scheduler-process';
import { TestAgent } from '../test-support/test-agent';

const JOIN_TOKEN = 'join-secret-4f1c9a';
const MACHINE_A = 'aaaaaaaa000000000000000000000001';
const MACHINE_B = 'bbbbbbbb000000000000000000000002';
const UNIT_TEXT = '[Container]\nImage=docker.io/library/busybox:latest\nExec=sleep 1000\n';

describe('agent gateway with real etcd', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let replica: Replica;
  const agents: TestAgent[] = [];

  // null sends no token in call metadata (undefined would select the default).
  const connect = (hello: ConstructorParameters<typeof TestAgent>[2], token: string | null = JOIN_TOKEN) => {
    const agent = new TestAgent(replica.grpcAddress, token ?? undefined, hello);
    agents.push(agent);
    return agent;
  };

  before(async () => {
    etcd = await startEtcd();
    replica = await startReplica({ etcdEndpoint: etcd.endpoint, replicaId: 'gw', joinToken: JOIN_TOKEN, presenceTtlS: 2, leaderTtlS: 2 });
  });

  afterEach(() => {
    for (const agent of agents.splice(0)) agent.end();
  });

  after(async () => {
    await replica?.stop();
    await etcd?.stop();
  });

  it('wrong token rejected without logging it', async () => {
    const agent = connect({ machineId: MACHINE_A }, 'not-the-token');

    const status = await agent.ended();

    assert.equal(status.code, grpc.status.UNAUTHENTICATED);
    assert.match(status.details, /join token rejected/);
    assert.ok(!replica.process.output().includes('not-the-token'), 'the presented token appears in the log');
    assert.ok(!replica.process.output().includes(JOIN_TOKEN), 'the join token appears in the log');
  });

  it('token in Hello accepted', async () => {
    const agent = connect({ machineId: MACHINE_A, helloToken: JOIN_TOKEN }, null);

    await agent.until(() => agent.messages.some((m) => m.welcome), 'Welcome');

    assert.equal(agent.status, undefined);
  });

  it('missing token rejected', async () => {
    const agent = connect({ machineId: MACHINE_A }, null);

    const status = await agent.ended();

    assert.equal(status.code, grpc.status.UNAUTHENTICATED);
  });

  it('first message must be Hello', async () => {
    const { AgentGateway } = loadBerthProto();
    const client = new AgentGateway(replica.grpcAddress, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${JOIN_TOKEN}`);
    const call = (client as any).connect(metadata);

    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('status', resolve);
      call.on('error', () => undefined);
      call.write({ heartbeat: { sentAtMs: '1' } });
    });
    client.close();

    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status.details, /first message must be Hello/);
  });

  it('duplicate machine id refused', async () => {
    const first = connect({ machineId: MACHINE_A });
    await first.until(() => first.messages.some((m) => m.welcome), 'Welcome');

    const second = connect({ machineId: MACHINE_A });
    const status = await second.ended();

    assert.equal(status.code, grpc.status.ALREADY_EXISTS);
    assert.match(status.details, new RegExp(`machine id ${MACHINE_A} is already connected`));
    assert.equal(first.status, undefined, 'the first stream was closed');
  });

  it('assignment set and updates delivered', async () => {
    const agent = connect({ machineId: MACHINE_A, metadata: { role: 'web' } });
    agent.startHeartbeats(500);
    await agent.until(() => agent.messages.some((m) => m.assignmentSet), 'initial AssignmentSet');

    const put = await requestJson(replica, 'PUT', '/v1/units/hello.service', { text: UNIT_TEXT, desiredState: 'launched' });
    assert.equal(put.status, 201);
    await agent.until(() => agent.desired.get('hello.service')?.desiredState === 'DESIRED_STATE_LAUNCHED', 'hello.service launched');

    await requestJson(replica, 'PATCH', '/v1/units/hello.service', { desiredState: 'loaded' });
    await agent.until(() => agent.desired.get('hello.service')?.desiredState === 'DESIRED_STATE_LOADED', 'hello.service loaded');

    await requestJson(replica, 'DELETE', '/v1/units/hello.service');
    await agent.until(() => !agent.desired.has('hello.service'), 'hello.service removed');

    const welcome = agent.messages.find((m) => m.welcome).welcome;
    assert.equal(welcome.machine.id, MACHINE_A);
    assert.deepEqual(welcome.machine.metadata, { role: 'web' });
    assert.ok(welcome.heartbeatIntervalMs > 0);
    const generations = agent.messages.filter((m) => m.assignmentSet || m.assignmentUpdate).map((m) => Number((m.assignmentSet ?? m.assignmentUpdate).generation));
    assert.deepEqual(generations, [...generations].sort((a, b) => a - b), 'generations are not increasing');
  });

  it('presence expiry re-places units', async () => {
    const a = connect({ machineId: MACHINE_A });
    a.startHeartbeats(300);
    await a.until(() => a.messages.some((m) => m.assignmentSet), 'A registered');
    await requestJson(replica, 'PUT', '/v1/units/move.service', { text: UNIT_TEXT, desiredState: 'launched' });
    await a.until(() => a.desired.has('move.service'), 'move.service on A');

    const b = connect({ machineId: MACHINE_B });
    b.startHeartbeats(300);
    await b.until(() => b.messages.some((m) => m.assignmentSet), 'B registered');
    a.stopHeartbeats();

    await b.until(() => b.desired.has('move.service'), 'move.service moved to B');
    await a.until(() => !a.desired.has('move.service'), 'move.service removed from A');
    const units = await replica.getJson('/v1/units');
    assert.equal(units.body.units.find((u: any) => u.name === 'move.service').machineId, MACHINE_B);
    await requestJson(replica, 'DELETE', '/v1/units/move.service');
  });

  it('expired machine re-registers on heartbeat', async () => {
    const agent = connect({ machineId: MACHINE_A });
    agent.startHeartbeats(300);
    await agent.until(() => agent.messages.some((m) => m.assignmentSet), 'registered');
    const present = async () => (await replica.getJson('/v1/machines')).body.machines.some((m: any) => m.id === MACHINE_A);

    agent.stopHeartbeats();
    await waitFor(async () => !(await present()), { timeoutMs: 10_000, describe: () => 'machine did not expire' });
    agent.startHeartbeats(300);
    await waitFor(present, { timeoutMs: 10_000, describe: () => 'machine did not come back' });

    assert.equal(agent.messages.filter((m) => m.error).length, 0, JSON.stringify(agent.messages.filter((m) => m.error)));
    assert.equal(agent.status, undefined);
  });

  it('drain expires presence at once', async () => {
    const agent = connect({ machineId: MACHINE_B });
    agent.startHeartbeats(300);
    await agent.until(() => agent.messages.some((m) => m.assignmentSet), 'registered');

    agent.write({ drain: { reason: 'host shutdown' } });
    const status = await agent.ended();
    const machines = (await replica.getJson('/v1/machines')).body.machines;

    assert.equal(status.code, grpc.status.OK);
    assert.ok(!machines.some((m: any) => m.id === MACHINE_B), 'drained machine still present');
  });

  it('unit state reports stored', async () => {
    const agent = connect({ machineId: MACHINE_B });
    agent.startHeartbeats(300);
    await agent.until(() => agent.messages.some((m) => m.assignmentSet), 'registered');

    agent.write({ unitState: { name: 'x.service', hash: 'abc', loadState: 'loaded', activeState: 'active', subState: 'running', health: 'healthy', restarts: 2, containerId: 'c1', imageDigest: 'sha256:00', timestampMs: String(Date.now()) } });
    agent.write({ unitState: { name: 'y.service', loadState: 'bogus', activeState: 'active' } });

    await agent.until(() => agent.messages.some((m) => m.error), 'Error for the invalid report');
    const states = await replica.getJson(`/v1/state?machine=${MACHINE_B}`);
    assert.equal(states.body.states.length, 1);
    assert.equal(states.body.states[0].activeState, 'active');
    assert.equal(states.body.states[0].restarts, 2);
    assert.equal(states.body.states[0].exitCode, null);
    assert.match(agent.messages.find((m) => m.error).error.message, /load_state "bogus"/);
  });
});
