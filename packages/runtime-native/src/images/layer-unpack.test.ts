import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeTempDir, runCommand } from '@berth/testkit';
import { sha256Of } from './digest';
import { HostileLayerError } from './errors';
import { LayerApplier } from './layer-applier';
import { unpackLayer } from './layer-unpack';
import { buildTar } from './testing/fixtures';

/** Size of the tmpfs that the blob file is written to in the full-disk case. */
const SMALL_TMPFS_BYTES = 256 * 1024;

/** Yields `data` in network-sized chunks. */
async function* chunked(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

describe('unpackLayer', () => {
  let dir: string;
  let root: string;
  let tar: Buffer;
  let blob: Buffer;
  let fileData: Buffer;

  before(async () => {
    // Random file data does not compress, so the blob is about as large as the tar.
    fileData = randomBytes(1024 * 1024);
    tar = await buildTar([{ name: 'data/', type: 'directory' }, { name: 'data/random', data: fileData }]);
    blob = gzipSync(tar);
  });

  beforeEach(() => {
    dir = makeTempDir('layer-unpack');
    root = join(dir, 'fs');
    mkdirSync(root);
  });

  afterEach(() => {
    removeTempDir(dir);
  });

  const unpack = (blobFile: string) => unpackLayer({
    source: chunked(blob), blobDigest: sha256Of(blob), blobSize: blob.length, diffId: sha256Of(tar), compression: 'gzip',
    blobFile, applier: new LayerApplier({ root, where: 'test layer' }), maxUncompressedBytes: 1 << 30, where: 'test layer',
  });

  it('writes the blob file byte for byte', async () => {
    const blobFile = join(dir, 'blob');
    await unpack(blobFile);
    assert.ok(readFileSync(blobFile).equals(blob));
    assert.ok(readFileSync(join(root, 'data', 'random')).equals(fileData));
  });

  // Early: a later chunk's write reports it. Late: only the last chunk fails, and the flush at
  // the end of the layer has to report it.
  const fullDiskCases: { name: string; sizeBytes: () => number }[] = [
    { name: 'early in the blob', sizeBytes: () => SMALL_TMPFS_BYTES },
    { name: 'at its last chunk', sizeBytes: () => Math.floor((blob.length - 8 * 1024) / 4096) * 4096 },
  ];
  for (const testCase of fullDiskCases) {
    it(`reports a full disk ${testCase.name} as the system error`, async () => {
      const small = join(dir, 'small');
      mkdirSync(small);
      await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${testCase.sizeBytes()}`, 'berth-test', small]);
      try {
        await assert.rejects(unpack(join(small, 'blob')), (error: NodeJS.ErrnoException) => {
          assert.equal(error.code, 'ENOSPC', `expected ENOSPC, got ${error.code}: ${error.message}`);
          assert.ok(!(error instanceof HostileLayerError), 'a full disk is not the layer\'s fault');
          return true;
        });
      } finally {
        await runCommand('umount', [small]);
      }
    });
  }

  it('names a corrupt tar header without a gunzip hint', async () => {
    const corruptTar = await buildTar([{ name: 'etc/motd', data: 'welcome\n' }]);
    // A changed name byte no longer matches the header checksum.
    corruptTar[0] = corruptTar[0]! ^ 0x01;
    const corruptBlob = gzipSync(corruptTar);
    const unpacking = unpackLayer({
      source: chunked(corruptBlob), blobDigest: sha256Of(corruptBlob), blobSize: corruptBlob.length, diffId: sha256Of(corruptTar), compression: 'gzip',
      applier: new LayerApplier({ root, where: 'test layer' }), maxUncompressedBytes: 1 << 20, where: 'test layer',
    });
    await assert.rejects(unpacking, (error: Error) => {
      assert.ok(error instanceof HostileLayerError, `expected HostileLayerError, got ${error.name}`);
      assert.match(error.message, /^test layer: malformed layer: tar: invalid header checksum/);
      assert.doesNotMatch(error.message, /gunzip/);
      return true;
    });
  });
});
