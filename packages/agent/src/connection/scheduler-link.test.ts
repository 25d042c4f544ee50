import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import pino from 'pino';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, makeTempDir, removeTempDir, runCommand } from '@berth/testkit';
import { Backoff } from './backoff';
import { ConnectionState } from './connection-state';
import { AgentMessage, loadAgentGateway, PROTO_PATH, SchedulerMessage } from './proto';
import { SchedulerLink } from './scheduler-link';

type Stream = grpc.ServerDuplexStream<AgentMessage, SchedulerMessage>;

/** Starts a scheduler stand-in that welcomes each stream and records what agents send. */
async function startFakeScheduler(token: string, tls?: { cert: Buffer; key: Buffer }): Promise<{ port: number; received: AgentMessage[]; streams: Stream[]; server: grpc.Server }> {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { berth: { v1: { AgentGateway: { service: grpc.ServiceDefinition } } } };
  const received: AgentMessage[] = [];
  const streams: Stream[] = [];
  const server = new grpc.Server();
  server.addService(loaded.berth.v1.AgentGateway.service, {
    Connect: (stream: Stream) => {
      if (stream.metadata.get('authorization')[0] !== `Bearer ${token}`) {
        stream.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'join token rejected', metadata: new grpc.Metadata() });
        return;
      }
      streams.push(stream);
      stream.on('data', (message: AgentMessage) => {
        received.push(message);
        if (message.hello) stream.write({ welcome: { machine: { id: message.hello.machineId }, heartbeatIntervalMs: 50, schedulerId: 'fake' } });
      });
      stream.on('error', () => undefined);
    },
  });
  const port = await findFreePort();
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, tls ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }]) : grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
  return { port, received, streams, server };
}

function capturingLogger(): { log: pino.Logger; lines: () => Array<{ msg: string }> } {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk, _encoding, done) => { lines.push(chunk.toString()); done(); } });
  return { log: pino({ level: 'info' }, destination), lines: () => lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line)) };
}

function hello(): NonNullable<AgentMessage['hello']> {
  return { machineId: 'ab'.repeat(16), address: '127.0.0.1', metadata: {}, capacity: { cpus: 1, memoryBytes: '1' }, agentVersion: 'test', running: [] };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SchedulerLink', () => {
  it('fails over to the next endpoint and logs each failure once', async () => {
    const scheduler = await startFakeScheduler('secret');
    const closedPort = await findFreePort();
    const { log, lines } = capturingLogger();
    let connects = 0;
    const link = new SchedulerLink({
      endpoints: [`127.0.0.1:${closedPort}`, `127.0.0.1:${closedPort}`, `127.0.0.1:${scheduler.port}`],
      joinToken: 'secret',
      client: loadAgentGateway(),
      log,
      hello,
      onMessage: () => undefined,
      onConnected: () => connects++,
      backoff: new Backoff({ initialMs: 10, maxMs: 20, jitter: 0 }),
    });
    try {
      link.start();
      await until(() => link.state === ConnectionState.Connected, 'the link to connect');
      await until(() => scheduler.received.some((message) => message.heartbeat), 'a heartbeat');
      assert.equal(connects, 1);
      assert.equal(scheduler.received[0].hello?.machineId, 'ab'.repeat(16));
      const failures = lines().filter((line) => line.msg.startsWith('connection to scheduler'));
      assert.equal(failures.length, 1, `one failure line for the closed endpoint: ${JSON.stringify(failures)}`);
      assert.match(failures[0].msg, /UNAVAILABLE/);
      assert.ok(lines().some((line) => line.msg === 'connection backoff -> connecting'));
    } finally {
      link.close();
      scheduler.server.forceShutdown();
    }
  });

  it('reconnects after the scheduler drops the stream and passes messages on', async () => {
    const scheduler = await startFakeScheduler('secret');
    const messages: SchedulerMessage[] = [];
    let connects = 0;
    const link = new SchedulerLink({
      endpoints: [`127.0.0.1:${scheduler.port}`],
      joinToken: 'secret',
      client: loadAgentGateway(),
      log: pino({ level: 'silent' }),
      hello,
      onMessage: (message) => messages.push(message),
      onConnected: () => connects++,
      backoff: new Backoff({ initialMs: 10, maxMs: 20, jitter: 0 }),
    });
    try {
      link.start();
      await until(() => connects === 1, 'the first Welcome');
      scheduler.streams[0].write({ assignmentSet: { generation: '7', assignments: [] } });
      await until(() => messages.length === 1, 'the assignment set');
      assert.equal(messages[0].assignmentSet?.generation, '7');

      assert.equal(link.disconnectedSinceMs(), undefined);
      scheduler.streams[0].end();
      await until(() => connects === 2, 'the second Welcome');
      assert.equal(link.disconnectedSinceMs(), undefined);
      assert.equal(scheduler.received.filter((message) => message.hello).length, 2);
      assert.equal(link.send({ drain: { reason: 'test' } }), true);
    } finally {
      link.close();
      scheduler.server.forceShutdown();
    }
  });

  it('keeps retrying a rejected join token', async () => {
    const scheduler = await startFakeScheduler('secret');
    const { log, lines } = capturingLogger();
    const link = new SchedulerLink({
      endpoints: [`127.0.0.1:${scheduler.port}`],
      joinToken: 'wrong',
      client: loadAgentGateway(),
      log,
      hello,
      onMessage: () => undefined,
      onConnected: () => undefined,
      backoff: new Backoff({ initialMs: 10, maxMs: 20, jitter: 0 }),
    });
    try {
      link.start();
      await until(() => lines().filter((line) => line.msg === 'connection backoff -> connecting').length >= 3, 'three attempts');
      const failures = lines().filter((line) => line.msg.startsWith('connection to scheduler'));
      assert.equal(failures.length, 1);
      assert.match(failures[0].msg, /UNAUTHENTICATED/);
      assert.ok(link.disconnectedSinceMs()! <= Date.now(), 'a link that never connected counts as disconnected');
    } finally {
      link.close();
      scheduler.server.forceShutdown();
    }
  });

  it('talks TLS when given the scheduler CA', async () => {
    const dir = makeTempDir('agent-tls');
    try {
      await runCommand('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=berth-test',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
      const cert = readFileSync(join(dir, 'cert.pem'));
      const scheduler = await startFakeScheduler('secret', { cert, key: readFileSync(join(dir, 'key.pem')) });
      let connects = 0;
      const link = new SchedulerLink({
        endpoints: [`127.0.0.1:${scheduler.port}`],
        joinToken: 'secret',
        ca: cert.toString(),
        client: loadAgentGateway(),
        log: pino({ level: 'silent' }),
        hello,
        onMessage: () => undefined,
        onConnected: () => connects++,
        backoff: new Backoff({ initialMs: 10, maxMs: 20, jitter: 0 }),
      });
      try {
        link.start();
        await until(() => connects === 1, 'a Welcome over TLS');
      } finally {
        link.close();
        scheduler.server.forceShutdown();
      }
    } finally {
      removeTempDir(dir);
    }
  });
});
