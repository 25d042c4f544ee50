import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeTempDir, runCommand } from '@berth/testkit';
import { RegistryError } from './errors';
import { HttpResponse, NodeHttpTransport } from './http-transport';
import { isNetworkError } from './retry';

/** Short enough that timeout cases finish quickly, long enough for loopback round trips under load. */
const TEST_IDLE_TIMEOUT_MS = 300;
const TEST_MAX_TEXT_BYTES = 1024;

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback server whose handler each case sets, recording requests and connections. */
class TestServer {
  readonly seen: SeenRequest[] = [];
  connections = 0;
  handler: Handler = (_request, response) => void response.end();
  private readonly server: Server;

  constructor() {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        this.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
        this.handler(request, response);
      });
    });
    this.server.on('connection', () => this.connections++);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function readAll(response: HttpResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function assertRetryableTimeout(error: Error): true {
  assert.equal((error as { code?: string }).code, 'ETIMEDOUT', `${error.name}: ${error.message}`);
  assert.match(error.message, new RegExp(`timed out after ${TEST_IDLE_TIMEOUT_MS} ms without receiving data`));
  assert.equal(isNetworkError(error), true);
  return true;
}

describe('NodeHttpTransport', function () {
  this.timeout(20_000);
  let server: TestServer;
  const transport = new NodeHttpTransport({ idleTimeoutMs: TEST_IDLE_TIMEOUT_MS, maxTextBytes: TEST_MAX_TEXT_BYTES });

  beforeEach(async () => {
    server = new TestServer();
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('returns status, headers and body', async () => {
    server.handler = (_request, response) => response.writeHead(201, { 'X-Registry': 'test', 'content-type': 'text/plain' }).end('hello');
    const response = await transport.request(server.url('/v2/'));
    assert.equal(response.status, 201);
    assert.equal(response.ok, true);
    assert.equal(response.url, server.url('/v2/'));
    assert.equal(response.headers.get('x-registry'), 'test');
    assert.equal(response.headers.get('X-REGISTRY'), 'test');
    assert.equal(response.headers.get('docker-content-digest'), null);
    assert.equal((await readAll(response)).toString(), 'hello');
  });

  it('reports a 4xx status as not ok', async () => {
    server.handler = (_request, response) => response.writeHead(404).end();
    const response = await transport.request(server.url());
    assert.equal(response.status, 404);
    assert.equal(response.ok, false);
    response.cancel();
  });

  it('joins repeated headers like fetch', async () => {
    server.handler = (_request, response) => {
      response.setHeader('www-authenticate', ['Basic realm="a"', 'Bearer realm="http://b/token"']);
      response.setHeader('x-multi', ['1', '2', '3']);
      response.end();
    };
    const response = await transport.request(server.url());
    assert.equal(response.headers.get('WWW-Authenticate'), 'Basic realm="a", Bearer realm="http://b/token"');
    assert.equal(response.headers.get('x-multi'), '1, 2, 3');
    await readAll(response);
  });

  it('sends its headers and asks for identity', async () => {
    const response = await transport.request(server.url(), { headers: { accept: 'application/json', range: 'bytes=5-' } });
    await readAll(response);
    const [seen] = server.seen;
    assert.equal(seen?.method, 'GET');
    assert.equal(seen?.headers.accept, 'application/json');
    assert.equal(seen?.headers.range, 'bytes=5-');
    assert.equal(seen?.headers['accept-encoding'], 'identity');
    assert.match(seen?.headers['user-agent'] ?? '', /^berth-image-puller\//);
  });

  it('passes a gzip Content-Encoding body through undecoded', async () => {
    const layer = gzipSync(Buffer.from('a layer tar, compressed once by the image builder'));
    server.handler = (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': layer.length }).end(layer);
    const response = await transport.request(server.url('/blob'));
    assert.equal(response.headers.get('content-encoding'), 'gzip');
    assert.deepEqual(await readAll(response), layer);
  });

  it('returns a redirect without following it', async () => {
    server.handler = (request, response) => {
      if (request.url === '/moved') return void response.writeHead(307, { location: '/target' }).end();
      response.end('target');
    };
    const response = await transport.request(server.url('/moved'));
    assert.equal(response.status, 307);
    assert.equal(response.headers.get('location'), '/target');
    response.cancel();
    assert.deepEqual(server.seen.map((request) => request.url), ['/moved']);
  });

  it('sends a POST body with its length', async () => {
    const form = new URLSearchParams({ grant_type: 'refresh_token', scope: 'repository:a/b:pull' }).toString();
    const response = await transport.request(server.url('/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    await readAll(response);
    const [seen] = server.seen;
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(seen?.headers['content-length'], String(form.length));
    assert.equal(seen?.body, form);
  });

  it('times out waiting for response headers', async () => {
    server.handler = () => undefined;
    await assert.rejects(transport.request(server.url()), assertRetryableTimeout);
  });

  it('times out waiting for body bytes', async () => {
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('first ten.');
    };
    const response = await transport.request(server.url());
    await assert.rejects(readAll(response), assertRetryableTimeout);
  });

  it('does not count time the caller spends not reading', async () => {
    const body = Buffer.alloc(256 * 1024, 7);
    server.handler = (_request, response) => response.writeHead(200, { 'content-length': body.length }).end(body);
    const response = await transport.request(server.url());
    await sleep(TEST_IDLE_TIMEOUT_MS * 3);
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      chunks.push(chunk);
      if (chunks.length === 1) await sleep(TEST_IDLE_TIMEOUT_MS * 2);
    }
    assert.deepEqual(Buffer.concat(chunks), body);
  });

  it('fails a body cut short with a network error', async () => {
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-length': '100000' });
      response.write(Buffer.alloc(1000), () => response.socket?.destroy());
    };
    const response = await transport.request(server.url());
    await assert.rejects(readAll(response), (error: Error) => {
      assert.equal(isNetworkError(error), true, `${(error as { code?: string }).code} ${error.message}`);
      return true;
    });
  });

  it('fails a refused connection with a network error', async () => {
    const url = server.url();
    await server.stop();
    await assert.rejects(transport.request(url), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'ECONNREFUSED');
      assert.equal(isNetworkError(error), true);
      return true;
    });
    server = new TestServer();
    await server.start();
  });

  it('rejects a protocol other than http and https', async () => {
    await assert.rejects(transport.request('ftp://127.0.0.1/blob'), (error: Error) => error instanceof RegistryError && /protocol ftp: is not supported/.test(error.message));
  });

  it('rejects an untrusted TLS certificate', async () => {
    const dir = makeTempDir('http-transport-tls');
    const tlsServer = createHttpsServer();
    try {
      await runCommand('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=berth-test',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
      tlsServer.setSecureContext({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) });
      tlsServer.on('request', (_request, response) => response.end('secret'));
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/v2/`;

      await assert.rejects(transport.request(url), (error: Error) => {
        assert.equal((error as { code?: string }).code, 'DEPTH_ZERO_SELF_SIGNED_CERT', error.message);
        assert.equal(isNetworkError(error), false);
        return true;
      });
    } finally {
      tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      removeTempDir(dir);
    }
  });

  describe('text and json', () => {
    const cases: { name: string; body: string; read: (response: HttpResponse) => Promise<unknown>; expected?: unknown; error?: RegExp }[] = [
      { name: 'text within the limit', body: 'denied', read: (response) => response.text(), expected: 'denied' },
      { name: 'json within the limit', body: '{"errors":[{"code":"DENIED"}]}', read: (response) => response.json(), expected: { errors: [{ code: 'DENIED' }] } },
      { name: 'text over the limit', body: 'x'.repeat(TEST_MAX_TEXT_BYTES + 1), read: (response) => response.text(), error: /larger than 1024 bytes/ },
      { name: 'json over the limit', body: `"${'x'.repeat(TEST_MAX_TEXT_BYTES)}"`, read: (response) => response.json(), error: /larger than 1024 bytes/ },
      { name: 'json that does not parse', body: '<html>', read: (response) => response.json(), error: /not valid JSON/ },
    ];
    for (const testCase of cases) {
      it(testCase.name, async () => {
        server.handler = (_request, response) => response.writeHead(403).end(testCase.body);
        const response = await transport.request(server.url());
        if (testCase.error) {
          await assert.rejects(testCase.read(response), (error: Error) => error instanceof RegistryError && testCase.error!.test(error.message));
        } else {
          assert.deepEqual(await testCase.read(response), testCase.expected);
        }
      });
    }
  });

  describe('connection reuse', () => {
    it('reuses the connection after a body read to the end', async () => {
      server.handler = (_request, response) => response.end('small');
      await readAll(await transport.request(server.url()));
      await readAll(await transport.request(server.url()));
      assert.equal(server.seen.length, 2);
      assert.equal(server.connections, 1);
    });

    it('closes the connection of a cancelled body', async () => {
      const large = Buffer.alloc(4 * 1024 * 1024, 1);
      let largeSocket: Socket | undefined;
      server.handler = (request, response) => {
        if (request.url === '/large') largeSocket = request.socket;
        response.end(request.url === '/large' ? large : 'small');
      };
      const response = await transport.request(server.url('/large'));
      const first = await response.body[Symbol.asyncIterator]().next();
      assert.equal(first.done, false);
      response.cancel();
      // The server's end of the connection closes. A cancel that kept the socket would hang here.
      if (!largeSocket!.closed) await new Promise((resolve) => largeSocket!.once('close', resolve));
      await readAll(await transport.request(server.url('/small')));
      assert.equal(server.connections, 2);
    });
  });
});
