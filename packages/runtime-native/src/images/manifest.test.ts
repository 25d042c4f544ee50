import { strict as assert } from 'node:assert';
import { parseChallenges, TokenCache } from './auth';
import { NotSupportedError, PlatformMismatchError, RegistryError } from './errors';
import { RegistryClient } from './registry-client';
import { Descriptor, MEDIA_TYPES, parseManifestDocument, selectPlatform } from './manifest';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: DIGEST, size: 10 };
const config = { mediaType: MEDIA_TYPES.ociConfig, digest: DIGEST, size: 5 };

function document(value: object): Buffer {
  return Buffer.from(JSON.stringify(value));
}

describe('parseManifestDocument', () => {
  it('accepts an OCI manifest without mediaType', () => {
    const parsed = parseManifestDocument(document({ schemaVersion: 2, config, layers: [layer] }), MEDIA_TYPES.ociManifest, 'm');
    assert.equal(parsed.kind, 'manifest');
    assert.equal(parsed.mediaType, MEDIA_TYPES.ociManifest);
  });

  const rejected: { name: string; body: object; contentType: string; error: Function; message: RegExp }[] = [
    { name: 'ambiguous document', body: { schemaVersion: 2, manifests: [], layers: [layer], config }, contentType: MEDIA_TYPES.ociIndex, error: RegistryError, message: /ambiguous/ },
    { name: 'index served as manifest', body: { schemaVersion: 2, manifests: [] }, contentType: MEDIA_TYPES.ociManifest, error: RegistryError, message: /Content-Type .* disagrees/ },
    { name: 'mediaType against its shape', body: { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, config, layers: [] }, contentType: '', error: RegistryError, message: /does not match/ },
    { name: 'mediaType against Content-Type', body: { schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config, layers: [] }, contentType: MEDIA_TYPES.ociManifest, error: RegistryError, message: /disagrees with the document's mediaType/ },
    { name: 'schema 1', body: { schemaVersion: 1, fsLayers: [] }, contentType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', error: NotSupportedError, message: /schema 1/ },
    { name: 'invalid layer digest', body: { schemaVersion: 2, config, layers: [{ ...layer, digest: 'sha256:../../etc' }] }, contentType: MEDIA_TYPES.ociManifest, error: Error, message: /invalid digest/ },
    { name: 'negative size', body: { schemaVersion: 2, config, layers: [{ ...layer, size: -1 }] }, contentType: MEDIA_TYPES.ociManifest, error: RegistryError, message: /non-negative integer/ },
  ];
  for (const testCase of rejected) {
    it(`rejects ${testCase.name}`, () => {
      assert.throws(() => parseManifestDocument(document(testCase.body), testCase.contentType, 'm'), (error: Error) => error instanceof testCase.error && testCase.message.test(error.message));
    });
  }
});

describe('selectPlatform', () => {
  const entries: Descriptor[] = [
    { mediaType: MEDIA_TYPES.ociManifest, digest: DIGEST as Descriptor['digest'], size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: MEDIA_TYPES.ociManifest, digest: DIGEST as Descriptor['digest'], size: 2, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MEDIA_TYPES.ociManifest, digest: DIGEST as Descriptor['digest'], size: 3, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
  ];
  it('matches arm64 with or without variant', () => {
    assert.equal(selectPlatform(entries, { os: 'linux', architecture: 'arm64' }, 'i').size, 1);
  });
  it('matches amd64', () => {
    assert.equal(selectPlatform(entries, { os: 'linux', architecture: 'amd64' }, 'i').size, 2);
  });
  it('lists available platforms on mismatch', () => {
    assert.throws(() => selectPlatform(entries, { os: 'linux', architecture: 's390x' }, 'i'), (error: Error) => error instanceof PlatformMismatchError && /offers linux\/arm64\/v8, linux\/amd64$/.test(error.message));
  });
});

describe('parseChallenges', () => {
  it('reads quoted parameters containing commas', () => {
    const [challenge] = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"');
    assert.equal(challenge?.scheme, 'bearer');
    assert.deepEqual(challenge?.params, { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' });
  });
  it('reads several challenges', () => {
    const challenges = parseChallenges('Basic realm="x", Bearer realm="y",error="insufficient_scope"');
    assert.deepEqual(challenges.map((challenge) => challenge.scheme), ['basic', 'bearer']);
    assert.equal(challenges[1]?.params.error, 'insufficient_scope');
  });
});

describe('TokenCache', () => {
  it('expires tokens before their lifetime ends', () => {
    const cache = new TokenCache();
    cache.set('k', 'token', 60, undefined, 1_000_000);
    assert.equal(cache.get('k', 1_000_000 + 50_000), 'token');
    assert.equal(cache.get('k', 1_000_000 + 56_000), undefined);
  });
});

describe('RegistryClient.baseUrl', () => {
  const client = new RegistryClient({ insecureRegistries: ['registry.lan:5000'] });
  const cases: { registry: string; expected: string }[] = [
    { registry: 'registry.example.com', expected: 'https://registry.example.com/v2/' },
    { registry: 'registry.lan:5000', expected: 'http://registry.lan:5000/v2/' },
    { registry: 'registry.lan:5001', expected: 'https://registry.lan:5001/v2/' },
    { registry: '127.0.0.1:5000', expected: 'http://127.0.0.1:5000/v2/' },
    { registry: 'localhost:5000', expected: 'http://localhost:5000/v2/' },
    { registry: 'docker.io', expected: 'https://registry-1.docker.io/v2/' },
  ];
  for (const testCase of cases) {
    it(`uses ${testCase.expected.split(':')[0]} for ${testCase.registry}`, () => {
      assert.equal(client.baseUrl(testCase.registry), testCase.expected);
    });
  }
});
