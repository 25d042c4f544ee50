import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { RegistryError, TransientRegistryError } from '@berth/runtime-native/dist/images/errors';
import {
  createOciLayout, makeTempDir, newImage, pushImage, RegistryServer, removeOciLayout, removeTempDir, startRegistry, waitFor, writeBusyboxTree,
} from '@berth/testkit';
import { PullProcessError } from '../errors';
import type { PullProgress } from './ports';
import { PullProcessImagePort } from './pull-process-port';

const PULL_TIMEOUT_MS = 60_000;

/** How the test proxy handles a request to the registry. */
type ProxyMode = 'pass' | 'manifest-503' | 'stall-blobs';

/**
 * A loopback proxy in front of the registry. `stall-blobs` sends the headers and half of every
 * layer blob and then keeps the connection open, so that a pull hangs in the middle of a layer.
 */
class RegistryProxy {
  mode: ProxyMode = 'pass';
  readonly requests: string[] = [];
  private readonly server: Server;
  private readonly stalled: ServerResponse[] = [];

  constructor(private readonly upstream: string) {
    this.server = createServer((incoming, response) => this.handle(incoming, response));
  }

  get host(): string {
    const address = this.server.address();
    return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const response of this.stalled) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(incoming: IncomingMessage, response: ServerResponse): void {
    const url = incoming.url ?? '';
    this.requests.push(`${incoming.method} ${url}`);
    if (this.mode === 'manifest-503' && url.includes('/manifests/')) {
      response.writeHead(503).end();
      return;
    }
    const stall = this.mode === 'stall-blobs' && incoming.method === 'GET' && url.includes('/blobs/');
    const headers = { ...incoming.headers };
    delete headers.host;
    const outgoing = request(`${this.upstream}${url}`, { method: incoming.method, headers }, (upstreamResponse) => {
      const chunks: Buffer[] = [];
      upstreamResponse.on('data', (chunk: Buffer) => chunks.push(chunk));
      upstreamResponse.on('end', () => {
        const body = Buffer.concat(chunks);
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        if (!stall || body.length < 1024) {
          response.end(body);
          return;
        }
        response.write(body.subarray(0, body.length >> 1));
        this.stalled.push(response);
      });
    });
    outgoing.on('error', () => response.destroy());
    incoming.pipe(outgoing);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('PullProcessImagePort', function () {
  this.timeout(120_000);
  let dir: string;
  let registry: RegistryServer;
  let proxy: RegistryProxy;
  let port: PullProcessImagePort;

  before(async () => {
    registry = await startRegistry();
    const layout = await createOciLayout();
    try {
      await newImage(layout, 'busybox', (rootfs) => writeBusyboxTree(rootfs));
      await pushImage(layout, 'busybox', `${registry.host}/test/busybox:1`);
    } finally {
      removeOciLayout(layout);
    }
    proxy = new RegistryProxy(registry.url);
    await proxy.start();
  });

  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  beforeEach(() => {
    dir = makeTempDir('agent-pull-process');
    proxy.mode = 'pass';
    proxy.requests.length = 0;
    // Loopback registries are reached over plain http without being listed as insecure.
    port = new PullProcessImagePort({ stateDir: dir, registry: {} });
  });

  afterEach(() => {
    port.close();
    removeTempDir(dir);
  });

  it('pulls with progress and exits after', async () => {
    const reference = `${proxy.host}/test/busybox:1`;
    const progress: PullProgress[] = [];
    let pid: number | undefined;

    const image = await port.pull(reference, (update) => {
      progress.push(update);
      pid ??= port.pullProcessId;
    });

    assert.equal(image.reference, reference);
    assert.match(image.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(image.layerDirs.length, 1);
    assert.ok(existsSync(join(image.layerDirs[0]!, 'bin', 'busybox')), `busybox missing in ${image.layerDirs[0]}`);
    assert.ok(progress.length > 0, 'no progress reported');
    const last = progress[progress.length - 1]!;
    assert.equal(last.reference, reference);
    assert.ok(last.totalBytes > 0, `total bytes ${last.totalBytes}`);
    assert.equal(last.completedBytes, last.totalBytes);
    assert.equal(port.pullProcessId, undefined, 'the pull process is still recorded after the pull');
    assert.ok(pid !== undefined, 'no pull process during the pull');
    await waitFor(async () => !isAlive(pid!), { timeoutMs: 10_000, describe: () => `pull process ${pid} still runs after the pull` });
  });

  it('lookup finds a pulled image', async () => {
    const reference = `${proxy.host}/test/busybox:1`;
    assert.equal(await port.lookup(reference), undefined);

    const pulled = await port.pull(reference, () => undefined);
    const found = await port.lookup(reference);

    // The pulled image crossed IPC as JSON, which drops fields that are undefined.
    assert.deepEqual(JSON.parse(JSON.stringify(found)), pulled);
  });

  it('shares concurrent pulls of one image', async () => {
    const reference = `${proxy.host}/test/busybox:1`;

    const [first, second] = await Promise.all([port.pull(reference, () => undefined), port.pull(reference, () => undefined)]);

    assert.deepEqual(first, second);
    const manifestRequests = proxy.requests.filter((line) => line.startsWith('GET') && line.includes('/manifests/'));
    assert.equal(manifestRequests.length, 1, manifestRequests.join('\n'));
  });

  it('rejects a missing tag with RegistryError', async () => {
    const reference = `${proxy.host}/test/busybox:missing`;

    const error = await port.pull(reference, () => undefined).then(() => undefined, (caught: unknown) => caught);

    assert.ok(error instanceof RegistryError, `expected RegistryError, got ${String(error)}`);
    assert.equal(error.status, 404);
    assert.equal(error.retryable, false);
    assert.match(error.message, /busybox:missing/);
  });

  it('rejects a failing registry as retryable', async () => {
    proxy.mode = 'manifest-503';

    const error = await port.pull(`${proxy.host}/test/busybox:1`, () => undefined).then(() => undefined, (caught: unknown) => caught);

    assert.ok(error instanceof TransientRegistryError, `expected TransientRegistryError, got ${String(error)}`);
    assert.equal(error.retryable, true);
    assert.match(error.message, /503/);
  });

  it('rejects pulls of a killed process', async () => {
    proxy.mode = 'stall-blobs';
    const reference = `${proxy.host}/test/busybox:1`;
    const pulling = port.pull(reference, () => undefined).then(() => undefined, (caught: unknown) => caught);
    await waitFor(async () => proxy.requests.some((line) => line.includes('/blobs/') && !line.startsWith('HEAD')), {
      timeoutMs: PULL_TIMEOUT_MS,
      describe: () => `the pull never requested a blob:\n${proxy.requests.join('\n')}`,
    });
    const pid = port.pullProcessId;
    assert.ok(pid !== undefined, 'no pull process while a pull is pending');

    process.kill(pid, 'SIGKILL');
    const error = await pulling;

    assert.ok(error instanceof PullProcessError, `expected PullProcessError, got ${String(error)}`);
    assert.equal(error.retryable, true);
    assert.match(error.message, /killed by SIGKILL/);
    assert.ok(error.message.includes(reference), error.message);
    await waitFor(async () => !isAlive(pid), { timeoutMs: 10_000, describe: () => `pull process ${pid} still runs` });

    proxy.mode = 'pass';
    const image = await port.pull(reference, () => undefined);
    assert.equal(image.layerDirs.length, 1);
    const leftovers = readdirSync(join(dir, 'images', 'tmp'));
    assert.deepEqual(leftovers, [], 'the killed pull left work in the store');
  });

  it('close rejects a pending pull', async () => {
    proxy.mode = 'stall-blobs';
    const pulling = port.pull(`${proxy.host}/test/busybox:1`, () => undefined).then(() => undefined, (caught: unknown) => caught);
    await waitFor(async () => proxy.requests.some((line) => line.includes('/blobs/') && !line.startsWith('HEAD')), {
      timeoutMs: PULL_TIMEOUT_MS,
      describe: () => `the pull never requested a blob:\n${proxy.requests.join('\n')}`,
    });

    port.close();
    const error = await pulling;

    assert.ok(error instanceof PullProcessError, `expected PullProcessError, got ${String(error)}`);
    assert.equal(error.retryable, true);
  });
});
