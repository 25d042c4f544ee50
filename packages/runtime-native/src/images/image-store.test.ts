import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addTreeLayer, createOciLayout, makeTempDir, OciLayout, pushImage, RegistryServer, removeOciLayout, removeTempDir, runCommand,
  startRegistry, umociUnpack,
} from '@berth/testkit';
import { ImageStore } from './image-store';
import { startRegistryProxy } from './testing/proxy';
import { buildMultiLayerImage, CAP_NET_RAW_EP, CAP_SETUID_EP } from './testing/fixtures';
import { describeCapabilities, describeTree, diffTrees } from './testing/tree';

/** Mounts a read-only overlay of `lowerdirs` (topmost first) at `target`, runs `check`, unmounts. */
async function withOverlay<T>(lowerdirs: string[], target: string, check: () => T | Promise<T>): Promise<T> {
  mkdirSync(target, { recursive: true });
  await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowerdirs.join(':')}`, target]);
  try {
    return await check();
  } finally {
    await runCommand('umount', [target]);
  }
}

describe('ImageStore pull from docker-registry', function () {
  this.timeout(180_000);
  let registry: RegistryServer;
  let layout: OciLayout;
  let work: string;

  before(async () => {
    registry = await startRegistry();
    layout = await createOciLayout();
    await buildMultiLayerImage(layout, 'multi');
    await pushImage(layout, 'multi', `${registry.host}/fixtures/multi:oci`);
    await pushImage(layout, 'multi', `${registry.host}/fixtures/multi:docker`, { format: 'v2s2' });
    await runCommand('umoci', ['tag', '--image', `${layout.dir}:multi`, 'extended']);
    await addTreeLayer(layout, 'extended', (rootfs) => writeFileSync(join(rootfs, 'etc', 'extra'), 'only in the second image\n'));
    await pushImage(layout, 'extended', `${registry.host}/fixtures/multi:extended`);
  });
  after(async () => {
    await registry?.stop();
    if (layout) removeOciLayout(layout);
  });
  beforeEach(() => {
    work = makeTempDir('image-store');
  });
  afterEach(() => removeTempDir(work));

  for (const tag of ['oci', 'docker']) {
    it(`overlay of snapshots equals umoci unpack (${tag} manifest)`, async () => {
      const store = new ImageStore({ stateDir: join(work, 'state') });
      const image = await store.pull(`${registry.host}/fixtures/multi:${tag}`);
      assert.equal(image.layers.length, 4);
      const umociRoot = await umociUnpack(layout, 'multi', join(work, 'bundle'));
      const expected = describeTree(umociRoot);
      const expectedCapabilities = await describeCapabilities(umociRoot);

      const merged = join(work, 'merged');
      const [actual, actualCapabilities] = await withOverlay(store.rootfsLayers(image), merged, async () => [describeTree(merged), await describeCapabilities(merged)] as const);
      assert.deepEqual(diffTrees(expected, actual), []);
      assert.deepEqual(actualCapabilities, expectedCapabilities);
      assert.deepEqual([...actualCapabilities], [
        ['opt/fixtures/newuidmap', `0x${CAP_SETUID_EP.toString('hex')}`],
        ['opt/fixtures/ping', `0x${CAP_NET_RAW_EP.toString('hex')}`],
      ]);
      assert.equal(actual.has('etc/delete-me'), false, 'a whiteout removes a lower file');
      assert.equal(actual.has('var/opaque/lower-file'), false, 'an opaque marker hides lower entries');
      assert.equal(actual.get('opt/fixtures/setuid-file')?.mode, '4755');
      assert.equal(actual.get('lib')?.type, 'symlink', 'a write through a lower symlink keeps the symlink');
      assert.equal(actual.get('usr/lib/berth/new-lib')?.type, 'file');
      assert.equal(actual.has('usr/lib/berth/old-lib'), false, 'a whiteout through a lower symlink deletes its target');
      assert.equal(actual.get('srv/shared/data/file')?.type, 'file');
      assert.equal(actual.get('top-level')?.type, 'file');
    });
  }

  it('warm pull reuses every snapshot', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    await store.pull(`${registry.host}/fixtures/multi:oci`);
    const states: string[] = [];
    const again = await store.pull(`${registry.host}/fixtures/multi:oci`, { onProgress: (progress) => states.push(progress.state) });
    assert.deepEqual(states, ['cached', 'cached', 'cached', 'cached']);
    assert.deepEqual(await store.lookup(`${registry.host}/fixtures/multi:oci`), again);
    assert.equal(await store.lookup(`${registry.host}/fixtures/other:oci`), undefined);
    assert.ok(existsSync(join(work, 'state', 'images', 'images.json')));
  });

  it('shares downloads between concurrent pulls', async () => {
    const proxy = await startRegistryProxy(registry.url, () => ({ kind: 'pass' }));
    try {
      const store = new ImageStore({ stateDir: join(work, 'state') });
      const [first, second] = await Promise.all([
        store.pull(`${proxy.host}/fixtures/multi:oci`),
        store.pull(`${proxy.host}/fixtures/multi:oci`),
      ]);
      assert.deepEqual(first.layers, second.layers);
      for (const layer of first.layers) {
        const fetches = proxy.requests.filter((request) => request.url.endsWith(`/blobs/${layer.digest}`));
        assert.equal(fetches.length, 1, `layer ${layer.digest} is downloaded once`);
      }
    } finally {
      await proxy.stop();
    }
  });

  it('prune keeps layers shared with a remaining image', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    const base = await store.pull(`${registry.host}/fixtures/multi:oci`);
    const extended = await store.pull(`${registry.host}/fixtures/multi:extended`);
    assert.deepEqual(extended.layers.slice(0, 4).map((layer) => layer.chainId), base.layers.map((layer) => layer.chainId));
    const snapshotsDir = join(work, 'state', 'images', 'snapshots', 'sha256');
    assert.equal(readdirSync(snapshotsDir).length, 5);

    await store.remove(`${registry.host}/fixtures/multi:extended`);
    const removed = await store.prune();
    assert.deepEqual(removed.snapshots, [extended.layers[4]!.chainId]);
    assert.ok(removed.blobs.includes(extended.layers[4]!.digest));
    assert.ok(removed.blobs.includes(extended.manifestDigest));
    assert.equal(readdirSync(snapshotsDir).length, 4);
    assert.deepEqual((await store.list()).map((image) => image.names), [[`${registry.host}/fixtures/multi:oci`]]);

    await store.remove(`${registry.host}/fixtures/multi:oci`);
    await store.prune();
    assert.deepEqual(readdirSync(snapshotsDir), []);
    assert.deepEqual(readdirSync(join(work, 'state', 'images', 'blobs', 'sha256')), []);
  });

  it('prune keeps an unnamed image that a container still uses', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    const image = await store.pull(`${registry.host}/fixtures/multi:oci`);
    await store.remove(`${registry.host}/fixtures/multi:oci`);
    const removed = await store.prune([image.manifestDigest]);
    assert.deepEqual(removed, { blobs: [], snapshots: [] });
    for (const path of store.rootfsLayers(image)) assert.ok(existsSync(path), path);
  });

  it('removes an image by a digest prefix', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    const image = await store.pull(`${registry.host}/fixtures/multi:oci`);
    await assert.rejects(store.remove(image.manifestDigest.slice(0, 'sha256:'.length + 6)), /at least 12 hex digits/);
    // The 12 hex digits that `berth-image images` shows are enough.
    await store.remove(image.manifestDigest.slice(0, 'sha256:'.length + 12));
    assert.deepEqual(await store.list(), []);
    await assert.rejects(store.remove(image.manifestDigest), /is not in the store/);
  });

  it('keeps a digest-only pull under its digest name', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    const tagged = await store.pull(`${registry.host}/fixtures/multi:oci`);
    const byDigest = `${registry.host}/fixtures/multi@${tagged.manifestDigest}`;
    await store.remove(`${registry.host}/fixtures/multi:oci`);
    await store.pull(byDigest);
    assert.deepEqual((await store.list()).map((image) => image.names), [[byDigest]]);
    assert.deepEqual(await store.prune(), { blobs: [], snapshots: [] });
  });

  it('removes work left by a dead process when opening', async () => {
    const tmp = join(work, 'state', 'images', 'tmp');
    mkdirSync(join(tmp, '999999999.snapshot-dead', 'fs'), { recursive: true });
    mkdirSync(join(tmp, `${process.pid}.snapshot-live`), { recursive: true });
    const store = new ImageStore({ stateDir: join(work, 'state') });
    await store.list();
    assert.deepEqual(readdirSync(tmp), [`${process.pid}.snapshot-live`]);
  });

  it('downloads a damaged stored blob again', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    const image = await store.pull(`${registry.host}/fixtures/multi:oci`);
    const top = image.layers[3]!;
    truncateSync(store.store.blobPath(top.digest), 10);
    await store.store.removeSnapshot(top.chainId);
    const again = await store.pull(`${registry.host}/fixtures/multi:oci`);
    assert.equal(statSync(store.store.blobPath(top.digest)).size, top.size);
    assert.ok(existsSync(again.layers[3]!.snapshotPath));
  });

  it('prune waits for a pull in progress', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    const pulling = store.pull(`${registry.host}/fixtures/multi:oci`);
    const removed = await store.prune();
    const image = await pulling;
    assert.deepEqual(removed, { blobs: [], snapshots: [] });
    for (const path of store.rootfsLayers(image)) assert.ok(existsSync(path), path);
    await assert.rejects(store.remove(`sha256:${'0'.repeat(64)}`), /is not in the store/);
  });
});
