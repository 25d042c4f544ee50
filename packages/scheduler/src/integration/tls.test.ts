import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EtcdServer, makeTempDir, removeTempDir, runCommand, startEtcd } from '@berth/testkit';
import { loadBerthProto } from '../gateway/proto';
import { Replica, startReplica } from '../test-support/scheduler-process';

/** Creates a self-signed certificate for 127.0.0.1 with openssl; returns the PEM paths. */
async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await runCommand('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { cert, key };
}

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

describe('scheduler listeners with TLS', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let replica: Replica;
  let dir: string;
  let ca: Buffer;

  before(async () => {
    dir = makeTempDir('scheduler-tls');
    const files = await selfSigned(dir);
    ca = readFileSync(files.cert);
    etcd = await startEtcd();
    // The default readiness probe speaks plain HTTP, so this replica gets an HTTPS one.
    replica = await startReplica({
      etcdEndpoint: etcd.endpoint,
      replicaId: 'tls',
      extraArgs: ['--tls-cert', files.cert, '--tls-key', files.key],
      probe: (httpUrl) => httpsGet(`${httpUrl.replace('http:', 'https:')}/healthz`, ca).then((r) => r.status === 200),
    });
  });

  after(async () => {
    await replica?.stop();
    await etcd?.stop();
    if (dir) removeTempDir(dir);
  });

  it('HTTP API served over TLS', async () => {
    const response = await httpsGet(`${replica.httpUrl.replace('http:', 'https:')}/healthz`, ca);

    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.body).status, 'ok');
  });

  it('gateway served over TLS', async () => {
    const { AgentGateway } = loadBerthProto();
    const client = new AgentGateway(replica.grpcAddress, grpc.credentials.createSsl(ca));
    const call = (client as any).connect(new grpc.Metadata());
    const welcome = await new Promise<any>((resolve, reject) => {
      call.on('data', (m: any) => m.welcome && resolve(m.welcome));
      call.on('error', reject);
      call.write({ hello: { machineId: 'f00d0000000000000000000000000001', address: '127.0.0.1', capacity: { cpus: 1, memoryBytes: '1000' } } });
    });
    call.end();
    client.close();

    assert.equal(welcome.machine.id, 'f00d0000000000000000000000000001');
  });

  it('plaintext gateway call fails', async () => {
    const { AgentGateway } = loadBerthProto();
    const client = new AgentGateway(replica.grpcAddress, grpc.credentials.createInsecure());
    const call = (client as any).connect(new grpc.Metadata());
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('status', resolve);
      call.on('error', () => undefined);
      call.write({ hello: { machineId: 'f00d0000000000000000000000000002' } });
    });
    client.close();

    assert.equal(status.code, grpc.status.UNAVAILABLE);
  });
});
