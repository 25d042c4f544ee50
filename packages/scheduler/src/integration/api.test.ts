import assert from 'node:assert/strict';
import { EtcdServer, startEtcd } from '@berth/testkit';
import { requestJson, Replica, startReplica } from '../test-support/scheduler-process';
import { TestAgent } from '../test-support/test-agent';

const API_TOKEN = 'api-secret-77d2';
const MACHINE = 'c0ffee00000000000000000000000001';
const WEB_TEXT = '[Unit]\nDescription=web\n\n[Container]\nImage=docker.io/library/busybox:latest\nExec=httpd -f\nMemory=64M\nCPUs=0.5\n';

describe('HTTP API of a real scheduler process', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let replica: Replica;
  let agent: TestAgent;
  const write = (method: string, path: string, body?: unknown) => requestJson(replica, method, path, body, API_TOKEN);

  before(async () => {
    etcd = await startEtcd();
    replica = await startReplica({ etcdEndpoint: etcd.endpoint, replicaId: 'api', apiToken: API_TOKEN });
    agent = new TestAgent(replica.grpcAddress, undefined, { machineId: MACHINE, metadata: { role: 'web', zone: 'a' }, cpus: 2 });
    agent.startHeartbeats(1000);
    await agent.until(() => agent.messages.some((m) => m.assignmentSet), 'registered');
  });

  after(async () => {
    agent?.end();
    await replica?.stop();
    await etcd?.stop();
  });

  it('writes without token get 401', async () => {
    const response = await requestJson(replica, 'PUT', '/v1/units/a.service', { text: WEB_TEXT });
    const wrong = await requestJson(replica, 'PUT', '/v1/units/a.service', { text: WEB_TEXT }, 'nope');

    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'unauthorized');
    assert.equal(wrong.status, 401);
  });

  it('unit lifecycle create, conflict, replace, destroy', async () => {
    const created = await write('PUT', '/v1/units/web.service', { text: WEB_TEXT, desiredState: 'launched' });
    const again = await write('PUT', '/v1/units/web.service', { text: WEB_TEXT });
    const other = await write('PUT', '/v1/units/web.service', { text: WEB_TEXT + 'Environment=A=1\n' });
    const replaced = await write('PUT', '/v1/units/web.service', { text: WEB_TEXT + 'Environment=A=1\n', replace: true });

    assert.equal(created.status, 201);
    assert.equal(created.body.desiredState, 'launched');
    assert.equal(again.status, 200);
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'conflict');
    assert.equal(replaced.status, 200);
    assert.notEqual(replaced.body.hash, created.body.hash);
    await agent.until(() => agent.desired.get('web.service')?.hash === replaced.body.hash, 'replaced hash delivered');

    const detail = await replica.getJson('/v1/units/web.service');
    assert.equal(detail.body.machineId, MACHINE);
    assert.equal(typeof detail.body.generation, 'number');
    assert.match(detail.body.text, /Environment=A=1/);

    const machines = await replica.getJson('/v1/machines');
    assert.equal(machines.body.machines[0].units, 1);
    assert.deepEqual(machines.body.machines[0].allocated, { cpus: 0.5, memoryBytes: 64 * 1024 * 1024 });

    const destroyed = await write('DELETE', '/v1/units/web.service');
    assert.equal(destroyed.status, 204);
    assert.equal((await replica.getJson('/v1/units/web.service')).status, 404);
    await agent.until(() => !agent.desired.has('web.service'), 'web.service removed');
  });

  it('invalid unit returns diagnostics', async () => {
    const response = await write('PUT', '/v1/units/bad.service', { text: '[Container]\nExec=true\n' });

    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'invalid_argument');
    assert.ok(response.body.error.details.diagnostics.length > 0);
    assert.match(response.body.error.message, /bad\.service/);
  });

  it('instance copies template text', async () => {
    const missing = await write('PUT', '/v1/units/job@1.service', { desiredState: 'launched' });
    await write('PUT', '/v1/units/job@.service', { text: WEB_TEXT });
    const templateLaunch = await write('PATCH', '/v1/units/job@.service', { desiredState: 'launched' });
    const instance = await write('PUT', '/v1/units/job@1.service', { desiredState: 'loaded' });

    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /job@\.service/);
    assert.equal(templateLaunch.status, 400);
    assert.equal(instance.status, 201);
    assert.equal(instance.body.text, WEB_TEXT);
    await agent.until(() => agent.desired.get('job@1.service')?.desiredState === 'DESIRED_STATE_LOADED', 'instance loaded');
    const list = await replica.getJson('/v1/units');
    assert.deepEqual(list.body.units.map((u: any) => u.name), ['job@.service', 'job@1.service']);
    assert.equal(list.body.units[0].machineId, null, 'a template was placed');
  });

  it('unplaceable unit shows reason', async () => {
    await write('PUT', '/v1/units/db.service', { text: '[X-Fleet]\nMachineMetadata=role=db\n\n[Container]\nImage=docker.io/library/busybox:latest\n', desiredState: 'launched' });

    let unit: any;
    for (let i = 0; i < 100 && !unit?.reason; i++) {
      unit = (await replica.getJson('/v1/units/db.service')).body;
      await new Promise((r) => setTimeout(r, 50));
    }

    assert.equal(unit.reason, 'MachineMetadata=role=db excluded 1 of 1 machine');
  });

  it('machine metadata patch re-places', async () => {
    const patched = await write('PATCH', `/v1/machines/${MACHINE}/metadata`, { set: { role: 'db' }, delete: ['zone'] });
    const bad = await write('PATCH', `/v1/machines/${MACHINE}/metadata`, { set: { 'bad key': 'x' } });

    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.metadata, { role: 'db' });
    assert.equal(bad.status, 400);
    await agent.until(() => agent.desired.has('db.service'), 'db.service placed after metadata change');
    const machines = await replica.getJson('/v1/machines');
    assert.deepEqual(machines.body.machines[0].metadata, { role: 'db' });
  });

  it('journal relayed to agent', async () => {
    agent.onLogRequest = (request) => {
      agent.write({ logChunk: { requestId: request.requestId, lines: [`line for ${request.unit}`, `lines=${request.lines}`], eof: false } });
      agent.write({ logChunk: { requestId: request.requestId, lines: [], eof: true } });
    };

    const response = await fetch(`${replica.httpUrl}/v1/units/db.service/journal?lines=5`);

    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'line for db.service\nlines=5\n');
  });

  it('state, healthz and metrics', async () => {
    agent.write({ unitState: { name: 'db.service', hash: 'h', loadState: 'loaded', activeState: 'failed', subState: 'failed', exitCode: 3, timestampMs: String(Date.now()) } });
    let states: any[] = [];
    for (let i = 0; i < 100 && states.length === 0; i++) {
      states = (await replica.getJson('/v1/state?unit=db.service')).body.states;
      await new Promise((r) => setTimeout(r, 50));
    }
    const health = await replica.getJson('/healthz');
    const metrics = await (await fetch(`${replica.httpUrl}/metrics`)).text();
    const unknown = await replica.getJson('/v1/units/nothing.service');

    assert.equal(states[0].exitCode, 3);
    assert.equal((await replica.getJson('/v1/units/db.service')).body.state.activeState, 'failed');
    assert.deepEqual(health.body, { status: 'ok', leader: true, leaderId: 'api', etcd: 'ok' });
    for (const name of ['berth_scheduler_placements_total', 'berth_scheduler_reconcile_duration_seconds', 'berth_scheduler_agents_connected 1', 'berth_scheduler_etcd_errors_total']) {
      assert.ok(metrics.includes(name), `metrics lack ${name}`);
    }
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.body.error).sort(), ['code', 'details', 'message']);
  });
});
