import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createOciLayout, makeTempDir, OciLayout, pushImage, RegistryServer, removeOciLayout, removeTempDir, runCommand,
  startRegistry, umociUnpack,
} from '@berth/testkit';
import { ImageStore } from './image-store';
import { buildMultiLayerImage } from './testing/fixtures';
import { describeTree, diffTrees } from './testing/tree';

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
      const expected = describeTree(await umociUnpack(layout, 'multi', join(work, 'bundle')));

      const actual = await withOverlay(store.rootfsLayers(image), join(work, 'merged'), () => describeTree(join(work, 'merged')));
      assert.deepEqual(diffTrees(expected, actual), []);
      assert.equal(actual.has('etc/delete-me'), false, 'a whiteout removes a lower file');
      assert.equal(actual.has('var/opaque/lower-file'), false, 'an opaque marker hides lower entries');
      assert.equal(actual.get('opt/fixtures/setuid-file')?.mode, '4755');
    });
  }

  it('warm pull reuses every snapshot', async () => {
    const store = new ImageStore({ stateDir: join(work, 'state') });
    await store.pull(`${registry.host}/fixtures/multi:oci`);
    const states: string[] = [];
    await store.pull(`${registry.host}/fixtures/multi:oci`, { onProgress: (progress) => states.push(progress.state) });
    assert.deepEqual(states, ['cached', 'cached', 'cached', 'cached']);
    assert.ok(existsSync(join(work, 'state', 'images', 'images.json')));
  });
});
