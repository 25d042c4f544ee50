import { strict as assert } from 'node:assert';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTempDir, removeTempDir, runCommand } from '@berth/testkit';
import { sha256Of } from './digest';
import { HostileLayerError, NotSupportedError } from './errors';
import { LayerApplier } from './layer-applier';
import { unpackLayer } from './layer-unpack';
import { buildTar, CAP_NET_RAW_EP, CAP_SETUID_EP, tarHeaderBlock } from './testing/fixtures';

type TarEntry = Parameters<typeof buildTar>[0][number];

/** Lists every path under `dir` except those beneath `skip`. */
function listOutside(dir: string, skip: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      if (child === skip) continue;
      found.push(child);
      if (lstatSync(child).isDirectory()) visit(child);
    }
  };
  visit(dir);
  return found.sort();
}

describe('layer applier against hostile layers', () => {
  let jail: string;
  let root: string;
  let outside: string;

  beforeEach(() => {
    jail = makeTempDir('hostile');
    root = join(jail, 'snapshot', 'fs');
    outside = join(jail, 'outside');
    mkdirSync(root, { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'canary'), 'untouched\n');
  });
  afterEach(() => {
    // Whatever a case did, nothing outside the snapshot may have changed.
    assert.deepEqual(outsideSnapshot(), [outside, join(outside, 'canary')]);
    assert.equal(readFileSync(join(outside, 'canary'), 'utf8'), 'untouched\n');
    removeTempDir(jail);
  });

  /** Lists what exists in the jail outside the snapshot, except the test's own lower layer and tar. */
  function outsideSnapshot(): string[] {
    return listOutside(jail, join(jail, 'snapshot')).filter((path) => !path.startsWith(join(jail, 'lower')) && !path.startsWith(join(jail, 'layer.tar')));
  }

  async function apply(tar: Buffer, options: { gzip?: boolean; maxUncompressedBytes?: number; allowDevices?: boolean; lowerRoots?: string[] } = {}): Promise<void> {
    const blob = options.gzip ? gzipSync(tar) : tar;
    const applier = new LayerApplier({ root, where: 'test layer', allowDevices: options.allowDevices });
    await unpackLayer({
      source: [blob], blobDigest: sha256Of(blob), blobSize: blob.length, diffId: sha256Of(tar),
      compression: options.gzip ? 'gzip' : 'none', applier, where: 'test layer',
      maxUncompressedBytes: options.maxUncompressedBytes ?? 1024 ** 3,
    });
    await applier.finish(options.lowerRoots ?? []);
  }

  /** Creates the lower snapshot `jail/lower` with `build` and returns its path. */
  function makeLower(build: (lower: string) => void): string {
    const lower = join(jail, 'lower');
    mkdirSync(lower);
    build(lower);
    return lower;
  }

  const hostileCases: { name: string; entries: () => TarEntry[]; lower?: (lower: string) => void; message: RegExp }[] = [
    { name: 'dot-dot path', entries: () => [{ name: '../outside/evil', data: 'x' }], message: /"\.\." component/ },
    { name: 'nested dot-dot path', entries: () => [{ name: 'a/../../outside/evil', data: 'x' }], message: /"\.\." component/ },
    { name: 'absolute path', entries: () => [{ name: `${outside}/evil`, data: 'x' }], message: /absolute path/ },
    {
      name: 'write through symlink to outside',
      entries: () => [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/evil', data: 'x' }],
      message: /passes through "link", a symlink/,
    },
    {
      name: 'write through relative symlink',
      entries: () => [{ name: 'up', type: 'symlink', linkname: '../../outside' }, { name: 'up/canary', data: 'overwritten' }],
      message: /a symlink created by this layer/,
    },
    {
      name: 'directory replaced by symlink',
      entries: () => [
        { name: 'dir/', type: 'directory' },
        { name: 'dir', type: 'symlink', linkname: outside },
        { name: 'dir/evil', data: 'x' },
      ],
      message: /passes through "dir", a symlink/,
    },
    { name: 'hard link to absolute host file', entries: () => [{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }], message: /absolute path/ },
    { name: 'hard link climbing out', entries: () => [{ name: 'h', type: 'link', linkname: '../outside/canary' }], message: /"\.\." component/ },
    {
      name: 'hard link to entry not yet seen',
      entries: () => [{ name: 'h', type: 'link', linkname: 'later' }, { name: 'later', data: 'x' }],
      message: /not an earlier entry of this layer/,
    },
    {
      name: 'hard link to directory',
      entries: () => [{ name: 'd/', type: 'directory' }, { name: 'h', type: 'link', linkname: 'd' }],
      message: /is a dir/,
    },
    { name: 'whiteout climbing out', entries: () => [{ name: '../outside/.wh.canary' }], message: /"\.\." component/ },
    { name: 'whiteout of dot-dot', entries: () => [{ name: 'a/.wh..' }], message: /not a deletable entry/ },
    { name: 'symlink replacing root', entries: () => [{ name: '.', type: 'symlink', linkname: outside }], message: /names the layer root/ },
    { name: 'file replacing root', entries: () => [{ name: './', data: 'x' }], message: /names the layer root/ },
    { name: 'device node not allowed', entries: () => [{ name: 'dev/mem', type: 'character-device', mode: 0o600 }], message: /device nodes are rejected/ },
    {
      name: 'overlay xattr smuggled in',
      entries: () => [{ name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } }],
      message: /only the extractor may set/,
    },
    {
      name: 'write through lower-layer symlink loop',
      entries: () => [{ name: 'a/x', data: 'x' }],
      lower: (lower) => {
        symlinkSync('b', join(lower, 'a'));
        symlinkSync('/a', join(lower, 'b'));
      },
      message: /followed more than 40 symlinks/,
    },
  ];

  for (const testCase of hostileCases) {
    it(`rejects ${testCase.name}`, async () => {
      const lowerRoots = testCase.lower ? [makeLower(testCase.lower)] : [];
      await assert.rejects(apply(await buildTar(testCase.entries()), { lowerRoots }), (error: Error) => {
        assert.ok(error instanceof HostileLayerError, `expected HostileLayerError, got ${error.name}: ${error.message}`);
        assert.match(error.message, testCase.message);
        return true;
      });
      assert.deepEqual(outsideSnapshot(), [outside, join(outside, 'canary')]);
      assert.equal(readFileSync(join(outside, 'canary'), 'utf8'), 'untouched\n');
    });
  }

  it('rejects decompression past the limit', async () => {
    const tar = await buildTar([{ name: 'zeros', data: Buffer.alloc(4 * 1024 * 1024) }]);
    await assert.rejects(apply(tar, { gzip: true, maxUncompressedBytes: 1024 * 1024 }), /decompresses to more than 1048576 bytes/);
  });

  it('rejects entry shorter than declared size', async () => {
    const tar = await buildTar([{ name: 'short', data: 'x'.repeat(1000) }]);
    const truncated = tar.subarray(0, 512 + 100);
    await assert.rejects(apply(truncated), (error: Error) => error instanceof HostileLayerError && /malformed layer/.test(error.message));
  });

  it('rejects diff ID mismatch', async () => {
    const tar = await buildTar([{ name: 'file', data: 'content' }]);
    const applier = new LayerApplier({ root, where: 'test layer' });
    await assert.rejects(
      unpackLayer({
        source: [tar], blobDigest: sha256Of(tar), blobSize: tar.length, diffId: sha256Of('something else'),
        compression: 'none', applier, where: 'test layer', maxUncompressedBytes: 1024 ** 2,
      }),
      /diff ID mismatch, the image config lists sha256:[0-9a-f]{64} but the uncompressed layer hashes to sha256:[0-9a-f]{64}/,
    );
  });

  it('keeps absolute and dot-dot symlink targets as content', async () => {
    await apply(await buildTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'etc/up', type: 'symlink', linkname: '../../../outside' },
    ]));
    assert.ok(lstatSync(join(root, 'etc', 'abs')).isSymbolicLink());
    assert.ok(lstatSync(join(root, 'etc', 'up')).isSymbolicLink());
  });

  it('creates allowed device nodes and whiteouts as char devices', async () => {
    await apply(await buildTar([
      { name: 'dev/null', type: 'character-device', mode: 0o666, pax: {} },
      { name: 'etc/.wh.gone' },
    ]), { allowDevices: true });
    assert.ok(lstatSync(join(root, 'dev', 'null')).isCharacterDevice());
    assert.equal(lstatSync(join(root, 'etc', 'gone')).rdev, 0);
    assert.ok(lstatSync(join(root, 'etc', 'gone')).isCharacterDevice());
  });

  it('unpacks a zstd layer', async () => {
    const tar = await buildTar([{ name: 'etc/hello', data: 'zstd layer\n' }, { name: 'big', data: Buffer.alloc(300_000, 7) }]);
    writeFileSync(join(jail, 'layer.tar'), tar);
    await runCommand('zstd', ['-q', '-19', join(jail, 'layer.tar'), '-o', join(jail, 'layer.tar.zst')]);
    const blob = readFileSync(join(jail, 'layer.tar.zst'));
    const applier = new LayerApplier({ root, where: 'zstd layer' });
    await unpackLayer({
      source: [blob], blobDigest: sha256Of(blob), blobSize: blob.length, diffId: sha256Of(tar),
      compression: 'zstd', applier, where: 'zstd layer', maxUncompressedBytes: 1024 ** 2,
    });
    await applier.finish([]);
    assert.equal(readFileSync(join(root, 'etc', 'hello'), 'utf8'), 'zstd layer\n');
    assert.equal(readFileSync(join(root, 'big')).length, 300_000);
  });

  it('writes through lower-layer symlinks', async () => {
    const lower = makeLower((dir) => {
      mkdirSync(join(dir, 'usr', 'lib'), { recursive: true });
      chmodSync(join(dir, 'usr', 'lib'), 0o750);
      chownSync(join(dir, 'usr', 'lib'), 1000, 1000);
      writeFileSync(join(dir, 'usr', 'lib', 'old'), 'deleted by the upper layer\n');
      symlinkSync('usr/lib', join(dir, 'lib'));
      symlinkSync('/lib', join(dir, 'lib64'));
      symlinkSync('../share', join(dir, 'usr', 'lib', 'nested'));
    });
    await apply(await buildTar([
      { name: 'lib/x', data: 'x\n' },
      { name: 'lib/sub/', type: 'directory', mode: 0o711 },
      { name: 'lib/sub/y', data: 'y\n' },
      { name: 'lib/.wh.old' },
      { name: 'lib/h', type: 'link', linkname: 'lib/x' },
      { name: 'lib64/z', data: 'z\n' },
      { name: 'usr/lib/direct', data: 'direct\n' },
      { name: 'lib/nested/n', data: 'n\n' },
    ]), { lowerRoots: [lower] });

    assert.deepEqual(readdirSync(root).sort(), ['usr'], 'the lower symlinks stay visible');
    assert.deepEqual(readdirSync(join(root, 'usr', 'lib')).sort(), ['direct', 'h', 'old', 'sub', 'x', 'z']);
    assert.equal(readFileSync(join(root, 'usr', 'lib', 'x'), 'utf8'), 'x\n');
    assert.equal(readFileSync(join(root, 'usr', 'lib', 'sub', 'y'), 'utf8'), 'y\n');
    assert.equal(readFileSync(join(root, 'usr', 'lib', 'z'), 'utf8'), 'z\n');
    assert.equal(readFileSync(join(root, 'usr', 'share', 'n'), 'utf8'), 'n\n', 'a moved entry follows the next lower symlink too');
    assert.equal(lstatSync(join(root, 'usr', 'lib', 'h')).ino, lstatSync(join(root, 'usr', 'lib', 'x')).ino);
    assert.equal(lstatSync(join(root, 'usr', 'lib', 'sub')).mode & 0o7777, 0o711);
    const whiteout = lstatSync(join(root, 'usr', 'lib', 'old'));
    assert.ok(whiteout.isCharacterDevice());
    assert.equal(whiteout.rdev, 0);
    const lib = lstatSync(join(root, 'usr', 'lib'));
    assert.equal(lib.mode & 0o7777, 0o750, 'the implicit directory takes the lower metadata');
    assert.equal(lib.uid, 1000);
  });

  it('resolves lower-layer symlinks inside the root', async () => {
    // Each symlink points outside the image; resolved with the image root as `/`, none leaves it.
    const lower = makeLower((dir) => {
      symlinkSync('/host/etc', join(dir, 'etc'));
      symlinkSync('../../..', join(dir, 'up'));
      symlinkSync(outside, join(dir, 'out'));
    });
    await apply(await buildTar([
      { name: 'etc/passwd', data: 'root\n' },
      { name: 'up/evil', data: 'evil\n' },
      { name: 'out/canary', data: 'overwritten\n' },
    ]), { lowerRoots: [lower] });

    assert.equal(readFileSync(join(root, 'host', 'etc', 'passwd'), 'utf8'), 'root\n');
    assert.equal(readFileSync(join(root, 'evil'), 'utf8'), 'evil\n');
    assert.equal(readFileSync(join(root, outside, 'canary'), 'utf8'), 'overwritten\n');
    assert.equal(readdirSync(root).includes('etc'), false);
    assert.equal(readdirSync(root).includes('up'), false);
    assert.equal(readdirSync(root).includes('out'), false);
  });

  it('keeps a directory recreated over a lower symlink', async () => {
    const lower = makeLower((dir) => {
      mkdirSync(join(dir, 'usr', 'lib'), { recursive: true });
      symlinkSync('usr/lib', join(dir, 'lib'));
    });
    await apply(await buildTar([{ name: '.wh.lib' }, { name: 'lib/x', data: 'x\n' }]), { lowerRoots: [lower] });
    assert.equal(readFileSync(join(root, 'lib', 'x'), 'utf8'), 'x\n');
    assert.deepEqual(readdirSync(root).sort(), ['lib']);
  });

  it('gives implicit parents the lower layer metadata', async () => {
    const lower = join(jail, 'lower');
    mkdirSync(join(lower, 'srv'), { recursive: true });
    chmodSync(lower, 0o711);
    chmodSync(join(lower, 'srv'), 0o750);
    chownSync(join(lower, 'srv'), 1000, 1000);
    const tar = await buildTar([{ name: 'srv/data', data: 'x' }]);
    const applier = new LayerApplier({ root, where: 'upper layer' });
    await unpackLayer({
      source: [tar], blobDigest: sha256Of(tar), blobSize: tar.length, diffId: sha256Of(tar),
      compression: 'none', applier, where: 'upper layer', maxUncompressedBytes: 1024 ** 2,
    });
    await applier.finish([lower]);
    const stat = lstatSync(join(root, 'srv'));
    assert.equal(stat.mode & 0o7777, 0o750);
    assert.equal(stat.uid, 1000);
    assert.equal(lstatSync(root).mode & 0o7777, 0o711, 'the root is an implicit parent too');
  });

  it('accepts a layer without end-of-archive blocks', async () => {
    // umoci 0.4.7 `insert` writes such layers, and umoci and skopeo read them.
    const tar = await buildTar([{ name: 'etc/short', data: 'no trailer\n' }]);
    const withoutTrailer = tar.subarray(0, 512 + 512);
    await apply(Buffer.from(withoutTrailer));
    assert.equal(readFileSync(join(root, 'etc', 'short'), 'utf8'), 'no trailer\n');
  });

  it('rejects PAX record past header end', async () => {
    const body = Buffer.from('99 SCHILY.xattr.user.a=b\n');
    const pax = Buffer.concat([tarHeaderBlock('PaxHeader', 'x', body.length), body, Buffer.alloc(512 - body.length)]);
    await assert.rejects(apply(Buffer.concat([pax, await buildTar([{ name: 'f', data: 'x' }])])), (error: Error) => error instanceof HostileLayerError && /invalid PAX record at byte 0/.test(error.message));
  });

  it('sets binary capability xattrs exactly', async () => {
    const capabilities = [['bin/ping', CAP_NET_RAW_EP, 'cap_net_raw=ep'], ['usr/bin/newuidmap', CAP_SETUID_EP, 'cap_setuid=ep']] as const;
    await apply(await buildTar(capabilities.map(([name, value]) => ({
      name, data: '#!/bin/sh\n', mode: 0o755,
      rawPax: [['SCHILY.xattr.security.capability', value], ['SCHILY.xattr.user.note', Buffer.from('caf\u00e9')]],
    }))));
    for (const [name, value, text] of capabilities) {
      const path = join(root, name);
      const { stdout } = await runCommand('getfattr', ['--no-dereference', '--absolute-names', '--encoding=hex', '--name=security.capability', path]);
      assert.match(stdout, new RegExp(`security\\.capability=0x${value.toString('hex')}\\n`), name);
      assert.equal((await runCommand('getcap', [path])).stdout.trim(), `${path} ${text}`);
      const note = await runCommand('getfattr', ['--no-dereference', '--absolute-names', '--only-values', '--name=user.note', path]);
      assert.equal(note.stdout, 'caf\u00e9');
    }
  });

  it('rejects a PAX sparse file', async () => {
    const tar = await buildTar([{ name: 'sparse', data: 'map', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 'sparse' } }]);
    await assert.rejects(apply(tar), (error: Error) => error instanceof NotSupportedError && /is a sparse file/.test(error.message));
  });
});
