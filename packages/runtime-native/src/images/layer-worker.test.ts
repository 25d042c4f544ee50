import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeTempDir } from '@berth/testkit';
import { sha256Of } from './digest';
import { idleLayerWorkerCount, LayerWorker, prestartLayerWorkers } from './layer-worker';
import { buildTar } from './testing/fixtures';

describe('layer worker threads', () => {
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir('layer-worker');
  });

  afterEach(() => {
    removeTempDir(dir);
  });

  it('prestarts at most three idle threads', () => {
    prestartLayerWorkers();
    assert.equal(idleLayerWorkerCount(), 3);
    prestartLayerWorkers();
    prestartLayerWorkers(8);
    assert.equal(idleLayerWorkerCount(), 3);
  });

  it('unpacks a layer on a prestarted thread and keeps it', async () => {
    prestartLayerWorkers();
    const tar = await buildTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', data: 'welcome\n' }]);
    const blob = gzipSync(tar);
    const blobPath = join(dir, 'blob');
    writeFileSync(blobPath, blob);
    const root = join(dir, 'fs');
    mkdirSync(root);

    const worker = new LayerWorker({
      root, where: 'test layer', blobDigest: sha256Of(blob), blobSize: blob.length, diffId: sha256Of(tar),
      compression: 'gzip', maxUncompressedBytes: 1 << 20, sourceFile: blobPath,
    });
    assert.equal(idleLayerWorkerCount(), 2);
    await worker.unpacked;
    await worker.finish([]);
    await worker.stop();

    assert.equal(readFileSync(join(root, 'etc', 'motd'), 'utf8'), 'welcome\n');
    assert.equal(idleLayerWorkerCount(), 3);
  });
});
