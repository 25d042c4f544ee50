import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createIndex, createOciLayout, makeTempDir, newImage, OciLayout, pushImage, RegistryServer, removeOciLayout, removeTempDir,
  retagForPlatform, runCommand, startRegistry, writeBusyboxTree,
} from '@berth/testkit';
import { AuthenticationError, DigestMismatchError, PlatformMismatchError, RegistryError } from './errors';
import { ImageStore } from './image-store';
import { startRegistryProxy } from './testing/proxy';

const USER = 'berth';
const PASSWORD = 'pull-secret-7';

function blobRequest(url: string | undefined): boolean {
  return /\/blobs\/sha256:/.test(url ?? '');
}

describe('registry protocol', function () {
  this.timeout(180_000);
  let registry: RegistryServer;
  let layout: OciLayout;
  let work: string;
  let layerDigest: string;

  before(async () => {
    registry = await startRegistry();
    layout = await createOciLayout();
    await newImage(layout, 'base', writeBusyboxTree);
    await retagForPlatform(layout, 'base', 'base-arm64', 'arm64');
    createIndex(layout, 'index', [{ tag: 'base-arm64', architecture: 'arm64', variant: 'v8' }, { tag: 'base', architecture: 'amd64' }]);
    await pushImage(layout, 'base', `${registry.host}/fixtures/base:1`);
    await pushImage(layout, 'index', `${registry.host}/fixtures/base:multi`, { all: true });
    const manifest = JSON.parse((await runCommand('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/fixtures/base:1`])).stdout) as { layers: { digest: string }[] };
    layerDigest = manifest.layers[0]!.digest;
  });
  after(async () => {
    await registry?.stop();
    if (layout) removeOciLayout(layout);
  });
  beforeEach(() => {
    work = makeTempDir('registry-client');
  });
  afterEach(() => removeTempDir(work));

  function newStore(): ImageStore {
    return new ImageStore({ stateDir: join(work, 'state') });
  }

  function storedFiles(): string[] {
    const blobs = readdirSync(join(work, 'state', 'images', 'blobs', 'sha256'));
    const snapshots = readdirSync(join(work, 'state', 'images', 'snapshots', 'sha256'));
    return [...blobs, ...snapshots];
  }

  it('detects a layer tampered with by a proxy', async () => {
    const proxy = await startRegistryProxy(registry.url, (request) => (request.url?.includes(layerDigest) ? { kind: 'tamper' } : { kind: 'pass' }));
    try {
      await assert.rejects(newStore().pull(`${proxy.host}/fixtures/base:1`), (error: Error) => {
        assert.ok(error instanceof DigestMismatchError, `${error.name}: ${error.message}`);
        assert.ok(error.message.includes(`expected blob ${layerDigest}`), error.message);
        assert.match(error.message, /content hashes to sha256:[0-9a-f]{64}/);
        return true;
      });
      assert.equal(storedFiles().some((name) => layerDigest.endsWith(name)), false, 'the tampered blob is not stored');
      assert.equal(readdirSync(join(work, 'state', 'images', 'snapshots', 'sha256')).length, 0);
    } finally {
      await proxy.stop();
    }
  });

  it('detects a tampered manifest pulled by digest', async () => {
    const digest = JSON.parse((await runCommand('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/fixtures/base:1`])).stdout).Digest as string;
    const proxy = await startRegistryProxy(registry.url, (request) => (request.url?.includes('/manifests/') ? { kind: 'tamper' } : { kind: 'pass' }));
    try {
      await assert.rejects(newStore().pull(`${proxy.host}/fixtures/base@${digest}`), /digest mismatch, requested sha256:[0-9a-f]{64} but the registry sent content hashing to/);
    } finally {
      await proxy.stop();
    }
  });

  it('resumes a cut blob download with Range', async () => {
    let cut = false;
    const proxy = await startRegistryProxy(registry.url, (request) => {
      if (request.url?.includes(layerDigest) && !cut) {
        cut = true;
        return { kind: 'reset', bytes: 100_000 };
      }
      return { kind: 'pass' };
    });
    try {
      const image = await newStore().pull(`${proxy.host}/fixtures/base:1`);
      assert.equal(image.layers.length, 1);
      const ranged = proxy.requests.filter((request) => request.url.includes(layerDigest) && request.range);
      // The cut may lose bytes still in flight, so the resume point is at most the bytes sent.
      assert.equal(ranged.length, 1, 'one resumed request');
      const start = Number(/^bytes=(\d+)-$/.exec(ranged[0]!.range!)?.[1]);
      assert.ok(start > 0 && start <= 100_000, `resumed from byte ${start}`);
    } finally {
      await proxy.stop();
    }
  });

  it('retries 5xx answers but not 4xx', async () => {
    let failures = 0;
    const flaky = await startRegistryProxy(registry.url, (request) => (blobRequest(request.url) && failures++ < 2 ? { kind: 'status', status: 503 } : { kind: 'pass' }));
    try {
      await newStore().pull(`${flaky.host}/fixtures/base:1`);
      assert.equal(failures >= 2, true);
    } finally {
      await flaky.stop();
    }
    const forbidden = await startRegistryProxy(registry.url, (request) => (blobRequest(request.url) ? { kind: 'status', status: 404 } : { kind: 'pass' }));
    try {
      await assert.rejects(newStore().pull(`${forbidden.host}/fixtures/base:1`), (error: Error) => error instanceof RegistryError && /not found \(404\)/.test(error.message));
      assert.equal(forbidden.requests.filter((request) => blobRequest(request.url)).length, 1, 'a 404 is not retried');
    } finally {
      await forbidden.stop();
    }
  });

  it('selects the platform from a multi-platform index', async () => {
    const store = newStore();
    const amd64 = await store.pull(`${registry.host}/fixtures/base:multi`, { platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = await store.pull(`${registry.host}/fixtures/base:multi`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(amd64.config.architecture, 'amd64');
    assert.equal(arm64.config.architecture, 'arm64');
    assert.equal(amd64.digest, arm64.digest, 'both resolve through the same index');
    assert.notEqual(amd64.manifestDigest, arm64.manifestDigest);
    await assert.rejects(
      store.pull(`${registry.host}/fixtures/base:multi`, { platform: { os: 'linux', architecture: 'riscv64' } }),
      (error: Error) => error instanceof PlatformMismatchError && error.message.includes('the index offers linux/arm64/v8, linux/amd64'),
    );
  });

  it('reports an unknown tag as not found', async () => {
    await assert.rejects(newStore().pull(`${registry.host}/fixtures/base:nope`), /manifest .*fixtures\/base:nope: not found \(404\)/);
  });

  describe('with Basic authentication (htpasswd)', () => {
    let secured: RegistryServer;
    let htpasswdDir: string;

    before(async () => {
      htpasswdDir = makeTempDir('htpasswd');
      const entry = (await runCommand('htpasswd', ['-Bbn', USER, PASSWORD])).stdout;
      writeFileSync(join(htpasswdDir, 'htpasswd'), entry);
      secured = await startRegistry({ htpasswdFile: join(htpasswdDir, 'htpasswd') });
      await pushImage(layout, 'base', `${secured.host}/fixtures/base:1`, { credentials: { username: USER, password: PASSWORD } });
    });
    after(async () => {
      await secured?.stop();
      if (htpasswdDir) removeTempDir(htpasswdDir);
    });

    it('rejects a pull without credentials', async () => {
      const store = new ImageStore({ stateDir: join(work, 'state'), registry: { dockerConfigPath: join(work, 'missing.json') } });
      await assert.rejects(store.pull(`${secured.host}/fixtures/base:1`), (error: Error) => {
        assert.ok(error instanceof AuthenticationError, `${error.name}: ${error.message}`);
        assert.ok(!error.message.includes(PASSWORD));
        return true;
      });
    });

    it('pulls with credentials from the pull options', async () => {
      const image = await newStore().pull(`${secured.host}/fixtures/base:1`, { auth: { [secured.host]: { username: USER, password: PASSWORD } } });
      assert.equal(image.layers.length, 1);
    });

    it('pulls with credentials from a docker config file', async () => {
      const configPath = join(work, 'docker-config.json');
      writeFileSync(configPath, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
      const image = await newStore().pull(`${secured.host}/fixtures/base:1`, { dockerConfigPath: configPath });
      assert.equal(image.layers.length, 1);
    });

    it('keeps the password out of the error for wrong credentials', async () => {
      await assert.rejects(newStore().pull(`${secured.host}/fixtures/base:1`, { auth: { [secured.host]: { username: USER, password: 'wrong-secret' } } }), (error: Error) => {
        assert.ok(error instanceof AuthenticationError, `${error.name}: ${error.message}`);
        assert.ok(!error.message.includes('wrong-secret'));
        return true;
      });
    });
  });

  it('obtains and caches a Bearer token from a token server', async () => {
    const issued: string[] = [];
    let proxyHost = '';
    const proxy = await startRegistryProxy(registry.url, (request) => {
      if (request.url?.startsWith('/token')) {
        return {
          kind: 'respond',
          handler: (incoming, response) => {
            const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
            if (incoming.headers.authorization !== expected) return void response.writeHead(401).end();
            const url = new URL(incoming.url!, 'http://token');
            const token = `token-${issued.length}`;
            issued.push(`${url.searchParams.get('service')} ${url.searchParams.get('scope')} ${token}`);
            response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
          },
        };
      }
      const valid = issued.some((line) => request.headers.authorization === `Bearer ${line.split(' ')[2]}`);
      if (valid) return { kind: 'pass' };
      return {
        kind: 'respond',
        handler: (_incoming, response) => {
          response.writeHead(401, {
            'www-authenticate': `Bearer realm="http://${proxyHost}/token",service="berth-test",scope="repository:fixtures/base:pull"`,
          }).end();
        },
      };
    });
    proxyHost = proxy.host;
    try {
      const store = newStore();
      await store.pull(`${proxy.host}/fixtures/base:1`, { auth: { [proxy.host]: { username: USER, password: PASSWORD } } });
      await store.pull(`${proxy.host}/fixtures/base:1`, { auth: { [proxy.host]: { username: USER, password: PASSWORD } } });
      assert.deepEqual(issued, ['berth-test repository:fixtures/base:pull token-0']);
      const tokenRequests = proxy.requests.filter((request) => request.url.startsWith('/token'));
      assert.equal(tokenRequests.length, 1, 'the token is cached across pulls');
    } finally {
      await proxy.stop();
    }
  });

  it('writes nothing under a final name when a pull fails', async () => {
    mkdirSync(join(work, 'state'), { recursive: true });
    const proxy = await startRegistryProxy(registry.url, (request) => (request.url?.includes(layerDigest) ? { kind: 'reset', bytes: 10 } : { kind: 'pass' }));
    try {
      await assert.rejects(newStore().pull(`${proxy.host}/fixtures/base:1`), /download failed 5 times/);
      assert.deepEqual(readdirSync(join(work, 'state', 'images', 'tmp')), []);
      assert.equal(readdirSync(join(work, 'state', 'images', 'snapshots', 'sha256')).length, 0);
    } finally {
      await proxy.stop();
    }
  });

  it('drops credentials on a redirect to another host', async () => {
    const storage = await startRegistryProxy(registry.url, () => ({ kind: 'pass' }));
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const front = await startRegistryProxy(registry.url, (request) => {
      if (request.headers.authorization !== basic) {
        return { kind: 'respond', handler: (_incoming, response) => void response.writeHead(401, { 'www-authenticate': 'Basic realm="front"' }).end() };
      }
      if (!blobRequest(request.url)) return { kind: 'pass' };
      return { kind: 'respond', handler: (incoming, response) => void response.writeHead(307, { location: `http://${storage.host}${incoming.url}` }).end() };
    });
    try {
      const image = await newStore().pull(`${front.host}/fixtures/base:1`, { auth: { [front.host]: { username: USER, password: PASSWORD } } });
      assert.equal(image.layers.length, 1);
      const redirected = storage.requests.filter((request) => blobRequest(request.url));
      assert.ok(redirected.length >= 2, 'config and layer were fetched from the redirect target');
      assert.deepEqual(redirected.filter((request) => request.authorization !== undefined), []);
    } finally {
      await front.stop();
      await storage.stop();
    }
  });

  it('obtains a token with an identity token over OAuth2', async () => {
    const forms: string[] = [];
    let proxyHost = '';
    const proxy = await startRegistryProxy(registry.url, (request) => {
      if (request.url?.startsWith('/token') && request.method === 'POST') {
        return {
          kind: 'respond',
          handler: (incoming, response) => {
            let body = '';
            incoming.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
            incoming.on('end', () => {
              const form = new URLSearchParams(body);
              forms.push(`${form.get('grant_type')} ${form.get('service')} ${form.get('scope')}`);
              if (form.get('refresh_token') !== 'refresh-secret') return void response.writeHead(401).end();
              response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'oauth-token', expires_in: 300 }));
            });
          },
        };
      }
      if (request.headers.authorization === 'Bearer oauth-token') return { kind: 'pass' };
      return {
        kind: 'respond',
        handler: (_incoming, response) => void response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${proxyHost}/token",service="berth-test"` }).end(),
      };
    });
    proxyHost = proxy.host;
    try {
      const configPath = join(work, 'docker-config.json');
      writeFileSync(configPath, JSON.stringify({ auths: { [proxy.host]: { identitytoken: 'refresh-secret' } } }));
      const image = await newStore().pull(`${proxy.host}/fixtures/base:1`, { dockerConfigPath: configPath });
      assert.equal(image.layers.length, 1);
      assert.deepEqual(forms, ['refresh_token berth-test repository:fixtures/base:pull']);
    } finally {
      await proxy.stop();
    }
  });
});
