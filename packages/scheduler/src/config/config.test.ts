import assert from 'node:assert/strict';
import { DEFAULT_GRPC_LISTEN, DEFAULT_HTTP_LISTEN, parseConfig } from './config';

describe('parseConfig', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (key.startsWith('BERTH_') && !(key in saved)) delete process.env[key];
  });

  it('defaults', () => {
    const config = parseConfig([]);

    assert.equal(`${config.httpListen.host}:${config.httpListen.port}`, DEFAULT_HTTP_LISTEN);
    assert.equal(`${config.grpcListen.host}:${config.grpcListen.port}`, DEFAULT_GRPC_LISTEN);
    assert.equal(config.prefix, '/berth');
    assert.equal(config.presenceTtlS, 15);
    assert.equal(config.joinToken, '');
    assert.equal(config.tls, undefined);
  });

  it('flags override environment', () => {
    process.env.BERTH_PREFIX = '/from-env';
    process.env.BERTH_PRESENCE_TTL = '30';

    const config = parseConfig(['--prefix', '/from-flag/', '--etcd-endpoints', 'http://a:2379, http://b:2379']);

    assert.equal(config.prefix, '/from-flag');
    assert.equal(config.presenceTtlS, 30);
    assert.deepEqual(config.etcdEndpoints, ['http://a:2379', 'http://b:2379']);
  });

  it('invalid values name the option', () => {
    assert.throws(() => parseConfig(['--presence-ttl', '0.5']), /--presence-ttl expects whole seconds/);
    assert.throws(() => parseConfig(['--http-listen', 'nope']), /expected HOST:PORT/);
    assert.throws(() => parseConfig(['--tls-cert', '/x.pem']), /--tls-cert and --tls-key must be given together/);
  });
});
