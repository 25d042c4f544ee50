import assert from 'node:assert/strict';
import { EtcdServer, startEtcd } from '@berth/testkit';
import pino from 'pino';
import { parseConfig } from '../config/config';
import { NotLeaderError } from '../errors';
import { MetricsService } from '../metrics/metrics.service';
import { EtcdStore } from '../store/etcd-store.service';

describe('fenced leader writes', function () {
  this.timeout(30_000);
  let etcd: EtcdServer;
  let store: EtcdStore;

  before(async () => {
    etcd = await startEtcd();
    const config = parseConfig(['--etcd-endpoints', etcd.endpoint, '--prefix', '/fence-test']);
    store = new EtcdStore(config, pino({ level: 'silent' }), new MetricsService());
    await store.startMirror();
  });

  after(async () => {
    await store?.onModuleDestroy();
    await etcd?.stop();
  });

  it('deposed leader write rejected', async () => {
    const oldLease = store.lease(5, true);
    const oldRevision = await store.createOnLease(store.keys.leader, { replicaId: 'old' }, oldLease);
    assert.ok(oldRevision !== undefined);
    const staleFence = { key: store.keys.leader, createRevision: oldRevision };
    await store.commitFenced(staleFence, [{ type: 'put', key: store.keys.reason('a.service'), value: { reason: 'x', since: 'now' } }]);

    // The old leader's lease ends (as after a pause longer than the TTL) and another replica wins.
    await oldLease.revoke();
    const newRevision = await store.createOnLease(store.keys.leader, { replicaId: 'new' }, store.lease(5, true));
    assert.ok(newRevision !== undefined);
    assert.notEqual(newRevision, oldRevision);

    const write = store.commitFenced(staleFence, [{ type: 'put', key: store.keys.assignment('m1', 'a.service'), value: { unit: 'a.service' } }]);

    await assert.rejects(write, NotLeaderError);
    assert.equal(await store.get(store.keys.assignment('m1', 'a.service')), undefined, 'the stale write landed');
    const fresh = { key: store.keys.leader, createRevision: newRevision };
    await store.commitFenced(fresh, [{ type: 'put', key: store.keys.assignment('m1', 'a.service'), value: { unit: 'a.service' } }]);
    assert.ok(await store.get(store.keys.assignment('m1', 'a.service')));
  });

  it('large plan split into fenced batches', async () => {
    const lease = store.lease(5, true);
    await store.delete(store.keys.leader);
    const revision = await store.createOnLease(store.keys.leader, { replicaId: 'bulk' }, lease);
    const ops = Array.from({ length: 1234 }, (_, i) => ({ type: 'put' as const, key: store.keys.reason(`bulk${i}.service`), value: { reason: 'r', since: 's' } }));

    await store.commitFenced({ key: store.keys.leader, createRevision: revision! }, ops);

    const { items } = await store.readPrefix(store.keys.dir('reasons'));
    assert.equal(items.filter((i) => i.key.includes('bulk')).length, 1234);
  });
});
