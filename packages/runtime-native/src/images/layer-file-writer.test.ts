import { strict as assert } from 'node:assert';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@berth/testkit';
import { sha256Of } from './digest';
import { LayerApplier } from './layer-applier';
import { unpackLayer } from './layer-unpack';
import { buildTar, TarEntrySpec } from './testing/fixtures';

/** mtime that buildTar gives every entry, in seconds. */
const FIXTURE_MTIME_S = 1_700_000_000;

describe('layer applier metadata of new entries', () => {
  let jail: string;
  let root: string;

  beforeEach(() => {
    jail = makeTempDir('layer-metadata');
    root = join(jail, 'fs');
    mkdirSync(root);
  });
  afterEach(() => removeTempDir(jail));

  async function apply(entries: TarEntrySpec[]): Promise<void> {
    const tar = await buildTar(entries);
    const applier = new LayerApplier({ root, where: 'metadata layer' });
    await unpackLayer({
      source: [tar], blobDigest: sha256Of(tar), blobSize: tar.length, diffId: sha256Of(tar),
      compression: 'none', applier, where: 'metadata layer', maxUncompressedBytes: 1024 ** 3,
    });
    await applier.finish([]);
  }

  const modeCases: { name: string; type?: string; mode: number }[] = [
    { name: 'plain', mode: 0o644 },
    { name: 'executable', mode: 0o755 },
    { name: 'group-writable', mode: 0o664 },
    { name: 'world-writable', mode: 0o777 },
    { name: 'read-only', mode: 0o400 },
    { name: 'setuid', mode: 0o4755 },
    { name: 'setgid', mode: 0o2755 },
    { name: 'sticky-dir', type: 'directory', mode: 0o1777 },
    { name: 'private-dir', type: 'directory', mode: 0o700 },
    { name: 'group-writable-dir', type: 'directory', mode: 0o775 },
  ];

  it('gives every entry its exact mode', async () => {
    // The first entry is created with its final mode, so the prediction check runs on it.
    await apply([{ name: 'first', data: 'x' }, ...modeCases.map((testCase) => ({ ...testCase, data: testCase.type ? undefined : 'data' }))]);
    for (const testCase of modeCases) {
      assert.equal((lstatSync(join(root, testCase.name)).mode & 0o7777).toString(8), testCase.mode.toString(8), testCase.name);
    }
  });

  it('gives every entry its exact owner', async () => {
    await apply([
      { name: 'root-owned', data: 'x' },
      { name: 'user-owned', data: 'x', uid: 1000, gid: 1000 },
      { name: 'group-only', data: 'x', gid: 50 },
      { name: 'user-dir/', type: 'directory', uid: 1000, gid: 100 },
      { name: 'user-dir/root-file', data: 'x' },
      { name: 'user-link', type: 'symlink', linkname: 'root-owned', uid: 1000, gid: 1000 },
    ]);
    const owners = ['root-owned', 'user-owned', 'group-only', 'user-dir', 'user-dir/root-file', 'user-link'].map((name) => {
      const stat = lstatSync(join(root, name));
      return `${name} ${stat.uid}:${stat.gid}`;
    });
    assert.deepEqual(owners, ['root-owned 0:0', 'user-owned 1000:1000', 'group-only 0:50', 'user-dir 1000:100', 'user-dir/root-file 0:0', 'user-link 1000:1000']);
  });

  it('keeps the owner below a setgid directory', async () => {
    // A new inode below a setgid directory takes the directory's group unless chown sets it. The
    // first file confirms the owner prediction before the setgid directory exists.
    await apply([
      { name: 'first', data: 'x' },
      { name: 'shared/', type: 'directory', mode: 0o2775, gid: 100 },
      { name: 'shared/file', data: 'x' },
      { name: 'shared/dir/', type: 'directory' },
      { name: 'shared/link', type: 'symlink', linkname: 'file' },
      { name: 'shared/implicit/file', data: 'x' },
    ]);
    for (const name of ['shared/file', 'shared/dir', 'shared/link', 'shared/implicit/file']) {
      assert.equal(lstatSync(join(root, name)).gid, 0, name);
    }
  });

  it('keeps the owner below a setgid snapshot root', async () => {
    chownSync(root, 0, 100);
    chmodSync(root, 0o2755);
    await apply([{ name: 'file', data: 'x' }, { name: 'dir/', type: 'directory' }]);
    assert.equal(lstatSync(join(root, 'file')).gid, 0);
    assert.equal(lstatSync(join(root, 'dir')).gid, 0);
  });

  it('writes large files whole with their mtime', async () => {
    // 40 KiB goes to the thread pool in one write, 3 MiB arrives as a stream of chunks.
    const medium = Buffer.alloc(40 * 1024, 1);
    const large = Buffer.alloc(3 * 1024 * 1024);
    for (let index = 0; index < large.length; index += 4096) large.writeUInt32BE(index, index);
    await apply([
      { name: 'medium', data: medium, mode: 0o600 },
      { name: 'large', data: large, mode: 0o755, uid: 1000 },
      { name: 'large-link', type: 'link', linkname: 'large' },
    ]);
    assert.ok(readFileSync(join(root, 'medium')).equals(medium));
    assert.ok(readFileSync(join(root, 'large')).equals(large));
    for (const name of ['medium', 'large']) {
      const stat = lstatSync(join(root, name));
      assert.equal(stat.mtimeMs, FIXTURE_MTIME_S * 1000, `${name} mtime`);
    }
    assert.equal(lstatSync(join(root, 'large')).mode & 0o7777, 0o755);
    assert.equal(lstatSync(join(root, 'large')).uid, 1000);
    assert.equal(lstatSync(join(root, 'large-link')).ino, lstatSync(join(root, 'large')).ino);
  });

  it('replaces a file still being written', async () => {
    const first = Buffer.alloc(2 * 1024 * 1024, 1);
    await apply([
      { name: 'file', data: first },
      { name: 'keep', type: 'link', linkname: 'file' },
      { name: 'file', data: 'second\n' },
    ]);
    assert.equal(readFileSync(join(root, 'file'), 'utf8'), 'second\n');
    assert.ok(readFileSync(join(root, 'keep')).equals(first));
  });
});
